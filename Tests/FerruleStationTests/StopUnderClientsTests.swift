import Foundation
import Synchronization
import FerruleTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A stop or a failed start while clients keep connecting to the status socket: an HMI polling
/// it, a line's monitoring. A connection accepted while the listener was being torn down used to
/// trap the daemon (`Deinited NIOAsyncWriter without calling finish()`, SIGILL); now every way
/// out is an ordinary exit with its message. Each case runs many times, because the window is a
/// connection that arrives at that moment.
@Suite(.serialized, .shutsDownStations) struct StopUnderClientsTests {
    static let rounds = 50

    @Test func aFailedStartWhileClientsConnectExitsWithItsMessage() async throws {
        let taken = try TakenPort()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/station.yaml"
        try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "listen: 127.0.0.1:8080", with: "listen: 127.0.0.1:\(taken.port)")
            .write(toFile: config, atomically: true, encoding: .utf8)
        for round in 1...Self.rounds {
            let socket = dir + "/r\(round).sock"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Daemon.executable)
            process.arguments = ["--config", config, "--data-dir", dir + "/data", "--socket", socket]
            let log = dir + "/r\(round).log"
            FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            // After `run`: Foundation sets up its process monitor on the first run, and that
            // set-up has crashed here with client threads already busy.
            let clients = SocketHammer(path: socket)
            let exited = await exit(of: process, within: .seconds(60))
            clients.stop()
            try handle.close()
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(exited, "round \(round): ferruled did not exit within 60 s: \(text.suffix(2000))")
            if !exited {
                if let g = ProcessInfo.processInfo.environment["FERRULE_DEBUG_HANG"] {
                    let gdb = Process()
                    gdb.executableURL = URL(fileURLWithPath: "/usr/bin/gdb")
                    gdb.arguments = ["-p", "\(process.processIdentifier)", "-batch", "-ex", "thread apply all bt"]
                    gdb.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: g))
                    try gdb.run()
                    gdb.waitUntilExit()
                }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                break
            }
            Daemon.expectNoTrap(in: text, of: process)
            #expect(process.terminationReason == .exit && process.terminationStatus == 1, "round \(round): \(text.suffix(2000))")
            #expect(text.contains("ferruled: the web app cannot listen on 127.0.0.1:\(taken.port)"), "round \(round): \(text.suffix(2000))")
            if process.terminationStatus != 1 { break }  // one failure says it; fifty say nothing more
        }
    }

    @Test func sigtermWhileClientsConnectExitsZero() async throws {
        var dir: String?
        for round in 1...Self.rounds {
            let daemon = try await Daemon(config: try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8), dir: dir)
            dir = daemon.dir
            let clients = SocketHammer(path: daemon.socket)
            try await clients.waitForConnections(3)  // the clients are on the socket when the stop comes
            daemon.signal(SIGTERM)
            let status = await daemon.waitForExit(seconds: 60)
            clients.stop()
            #expect(status == 0, "round \(round): exit \(String(describing: status)): \(daemon.logText.suffix(2000))")
            #expect(daemon.logText.contains("station SIM-01 stopped"), "round \(round)")
            if status != 0 {
                await daemon.stop()
                break
            }
        }
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    private func exit(of process: Process, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }
}

/// Eight threads that connect to a Unix socket, ask for status and hang up, over and over, until
/// stopped: the clients a daemon meets when it starts or stops on a busy line.
final class SocketHammer: Sendable {
    private let running = Atomic<Bool>(true)
    private let connections = Atomic<Int>(0)
    private let done = DispatchGroup()

    /// Each client on a queue of its own.
    init(path: String, threads: Int = 8) {
        for n in 0..<threads {
            DispatchQueue(label: "hammer-\(n)").async(group: done) { [self] in
                while running.load(ordering: .relaxed) {
                    if let s = try? RawSocket(path: path) {
                        connections.add(1, ordering: .relaxed)
                        s.send("{\"v\":1,\"id\":1,\"type\":\"status\"}\n")
                    } else {
                        usleep(500)  // no listener (yet, or any more): pace the retries
                    }
                }
            }
        }
    }

    /// Returns once `count` connections were made (bounded: the socket must be up).
    func waitForConnections(_ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while connections.load(ordering: .relaxed) < count {
            guard ContinuousClock.now < deadline else { throw DaemonError(description: "no client could connect in 30 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        done.wait()
    }
}

/// A TCP port on 127.0.0.1 that something else already listens on.
final class TakenPort {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                bind(fd, a, len) == 0 && listen(fd, 8) == 0 && getsockname(fd, a, &len) == 0
            }
        }
        guard bound else {
            let e = errno
            close(fd)  // not yet ours: deinit does not run, so this is the only close
            throw DaemonError(description: "cannot take a port: errno \(e)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}
