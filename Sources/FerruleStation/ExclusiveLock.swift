import FerruleConfig
import FerruleCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process's claim on a data directory or a socket path: an exclusive `flock` on a lock file,
/// held for as long as the process (or the owner) lives, with the holder's PID written in it so
/// that a second ferruled can say who holds it. The kernel drops the lock when the process dies,
/// so a crash never leaves a stale claim.
public final class ExclusiveLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Another process holds the lock.
    public struct Held: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var pid: Int32?
        public var what: String
        public var description: String {
            "\(what) is in use by ferruled\(pid.map { " (PID \($0))" } ?? "") (lock \(path)); stop that one first, "
                + "or give this one its own data directory and socket"
        }
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// Takes the lock or throws `Held` naming the holder. `what` names the resource in the message.
    public static func acquire(_ path: String, what: String) throws -> ExclusiveLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Held(path: path, pid: nil, what: "\(what) (cannot open the lock: \(String(cString: strerror(errno))))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.pid(in: fd)
            close(fd)
            throw Held(path: path, pid: holder, what: what)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return ExclusiveLock(path: path, fd: fd)
    }

    /// Whether another process holds the lock now (without taking it for long), and its PID.
    public static func holder(_ path: String) -> Int32?? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return .some(pid(in: fd))
    }

    private static func pid(in fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBufferPointer { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
