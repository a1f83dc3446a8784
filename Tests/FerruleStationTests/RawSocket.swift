import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Calls `body` with `path` as a Unix socket's address (a path in the file system) and its length.
func withUnixAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        let b = Array(path.utf8)
        raw.copyBytes(from: b)
        raw[b.count] = 0
    }
    return withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}

/// A deliberately primitive Unix-socket client for hostile tests: sends any bytes, can stop
/// writing (half-open) or never read, and reads with a timeout.
final class RawSocket {
    let fd: Int32
    /// True once the peer closed the connection (as opposed to a read timing out).
    private(set) var sawEOF = false

    init(path: String, receiveBufferBytes: Int32? = nil) throws {
        // The descriptor is this object's only once connected: a class whose init throws after
        // every property is set runs its deinit too, and a second close() would close whatever
        // descriptor another thread opened in between (a simulator's pty, a child's pipe).
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBufferBytes { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        let r = withUnixAddress(path) { connect(fd, $0, $1) }
        guard r == 0 else {
            let e = errno
            close(fd)
            throw DaemonError(description: "connect \(path): errno \(e)")
        }
        self.fd = fd
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }
    func send(_ text: String) { send(Array(text.utf8)) }
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads one line (without '\n'); nil on EOF, error or timeout.
    func readLine() -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, 0)
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { sawEOF = true }
            if n <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    /// Reads until EOF (or timeout); returns all lines.
    func drain() -> [String] {
        var lines: [String] = []
        while let l = readLine() { lines.append(l) }
        return lines
    }

    /// Reads until EOF (or a 5 s silence) in large chunks; returns the complete lines and
    /// whatever unfinished line the peer left.
    func readAllLines() -> (lines: [String], unfinished: Int) {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += chunk[..<n]
        }
        let parts = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        return (parts.dropLast().map { String(decoding: $0, as: UTF8.self) }, parts.last?.count ?? 0)
    }
}
