import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Who is at the other end of a Unix-socket connection, from the kernel (SO_PEERCRED), not from
/// anything the client says: recorded with each request it makes (`ControlRequest.via`, a unit's
/// `requestedBy`), so a free-form `operator` is at least tied to a real account.
enum PeerCredentials {
    /// "os user alice (uid 1000, pid 4242) on the socket", or nil where the kernel cannot tell.
    static func describe(_ channel: any Channel) async -> String? {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let option = NIOBSDSocket.Option(rawValue: SO_PEERCRED)
        guard let cred: PeerCred = try? await provider.unsafeGetSocketOption(level: .socket, name: option).get() else {
            return nil
        }
        return "os user \(userName(cred.uid)) (uid \(cred.uid), pid \(cred.pid)) on the socket"
        #else
        return nil
        #endif
    }

    /// Linux's `struct ucred` (which Glibc's Swift overlay does not show without _GNU_SOURCE).
    struct PeerCred {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The account's name, or its number when it has none (a container's unnamed uid).
    static func userName(_ uid: uid_t) -> String {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 1024)
        guard getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, result != nil, let name = pwd.pw_name else {
            return "#\(uid)"
        }
        return String(cString: name)
    }
}
