#if canImport(Glibc)
import Glibc
#endif

/// libmodbus waits for a reply with select(), and glibc aborts the whole process when select()
/// is handed a descriptor past FD_SETSIZE (1024): "bit out of range 0 - FD_SETSIZE on fd_set".
/// A station with many clients, stores and ptys open can be given such a number for a Modbus
/// socket, so the descriptor is moved to the lowest free number first.
public enum ModbusDescriptor {
    public static let selectLimit: Int32 = 1024

    /// `fd` itself when select() can take it; else a duplicate below the limit (`fd` closed
    /// with `closingOriginal`, else the caller closes both); nil, with `fd` left as it is, when
    /// every number below the limit is taken.
    public static func selectable(_ fd: Int32, closingOriginal: Bool = true) -> Int32? {
        guard fd >= selectLimit else { return fd }
        let low = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        guard low >= 0 else { return nil }
        guard low < selectLimit else {
            close(low)
            return nil
        }
        if closingOriginal { close(fd) }
        return low
    }
}

extension ModbusDescriptor {
    /// A TCP connection for libmodbus made here rather than by `modbus_connect`, whose
    /// non-blocking connect waits with select() on whatever number the new socket got: the
    /// socket is moved below the limit before anything waits on it, and the wait is poll().
    /// Returns the connected descriptor, or why not.
    public static func connectTCP(host: String, port: Int, timeout: Duration) -> Result<Int32, ConnectFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else {
            return .failure(ConnectFailure("cannot resolve \(host)"))
        }
        defer { freeaddrinfo(found) }
        var why = "no address for \(host)"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            entry = a.pointee.ai_next
            let raw = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            guard raw >= 0 else { continue }
            guard let fd = selectable(raw) else {
                close(raw)
                return .failure(ConnectFailure("descriptor \(raw) is past the \(selectLimit) libmodbus can wait on; none below is free"))
            }
            if let failed = connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen, timeout: timeout) {
                close(fd)
                why = failed
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return .success(fd)
        }
        return .failure(ConnectFailure(why))
    }

    /// Connects `fd` within `timeout` (non-blocking, waited with poll); nil when connected.
    private static func connect(
        _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, timeout: Duration
    ) -> String? {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return nil }
        guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let (s, atto) = timeout.components
        guard poll(&p, 1, Int32(s * 1000 + atto / 1_000_000_000_000_000)) == 1 else { return "Connection timed out" }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    public struct ConnectFailure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}
