import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify without libsystemd: one datagram to `$NOTIFY_SOCKET` per message (a leading '@'
/// names an abstract socket). Does nothing when not started by systemd with Type=notify.
/// None of the project's packages does this (NIO's SocketAddress has no abstract sockets).
struct SystemdNotifier: Sendable {
    let path: String?
    /// Half of systemd's watchdog interval, when WatchdogSec= is set for this process.
    let watchdogInterval: Duration?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        var interval: Duration?
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            let pidOK = environment["WATCHDOG_PID"].flatMap(Int32.init).map { $0 == getpid() } ?? true
            if pidOK { interval = .microseconds(Int64(usec / 2)) }
        }
        watchdogInterval = interval
    }

    var enabled: Bool { path != nil }

    enum Outcome: Equatable {
        case sent
        /// The receiver's queue is full: nothing was sent, and nothing waited.
        case full
        case failed
    }

    /// Sends without waiting: a receiver that does not read (a stuck or slow systemd, a test
    /// peer) must never block a thread of the cooperative pool, where every task would then wait.
    @discardableResult
    func notify(_ state: String) -> Bool { send(state) == .sent }

    /// For what must arrive (READY=1, STOPPING=1): tries again every 20 ms while the receiver's
    /// queue is full, for at most `limit`.
    @discardableResult
    func notifyUntilSent(_ state: String, limit: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while true {
            switch send(state) {
            case .sent: return true
            case .failed: return false
            case .full:
                guard ContinuousClock.now < deadline else { return false }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    func send(_ state: String) -> Outcome {
        guard let path else { return .failed }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { return .failed }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            if !abstract { raw[bytes.count] = 0 }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let payload = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(fd, payload, payload.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, len)
            }
        }
        if sent == payload.count { return .sent }
        return sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? .full : .failed
    }
}
