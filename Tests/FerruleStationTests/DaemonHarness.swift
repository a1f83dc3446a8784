import FerruleControl
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleConfig
import Foundation
import FerruleTesting
import Testing

/// The real `ferruled` process on a simulated bench, driven only through its socket.
final class Daemon: @unchecked Sendable {
    let process = Process()
    let dir: String
    let socket: String
    let configPath: String
    let log: String
    var pid: Int32 { process.processIdentifier }

    static var executable: String { Repo.root + "/.build/debug/ferruled" }

    /// Writes `config` (default: the simulated bench) and starts ferruled; returns once the socket answers.
    /// `wrapper` runs the daemon through another program (e.g. `umockdev-wrapper`, which execs it).
    /// `dir` reuses a daemon's folder (config, data, socket): a restart after a crash.
    init(
        config: String? = nil, environment: [String: String] = [:], wrapper: [String] = [], prepare: (String) throws -> Void = { _ in },
        name: String = #function, dir existing: String? = nil
    ) async throws {
        dir = existing ?? temporaryDirectory(name)
        socket = dir + "/ferruled.sock"
        configPath = dir + "/station.yaml"
        log = dir + "/ferruled.log"
        // Many daemons run at once in the tests: each web app on a port of its own (status shows it).
        try (config ?? String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8))
            .replacingOccurrences(of: "listen: 127.0.0.1:8080", with: "listen: 127.0.0.1:0")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw DaemonError(description: "build ferruled first (swift build): \(Self.executable) is missing")
        }
        try prepare(dir + "/data")
        let args = ["--config", configPath, "--data-dir", dir + "/data", "--socket", socket]
        if let w = wrapper.first {
            process.executableURL = URL(fileURLWithPath: w)
            process.arguments = Array(wrapper.dropFirst()) + [Self.executable] + args
        } else {
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = args
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: socket),
                (try? await ControlSession.with(path: socket, { s in try await s.call(.init(id: nil, type: "status")).type })) == .result
            {
                return
            }
            guard process.isRunning else { throw DaemonError(description: "ferruled exited early: \(logText)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw DaemonError(description: "ferruled did not answer on \(socket) within 30 s: \(logText)")
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    var reportsDir: String { dir + "/data/reports" }

    func signal(_ sig: Int32) { kill(pid, sig) }

    /// Tests one unit and returns its `unitFinished` event (fixture 1's reference must be taken).
    @discardableResult
    func testUnit(_ serial: String, part: String = "FT-MTP12-SMAPC-B-LL", fixture: Int = 1) async throws -> JSONValue? {
        try await ControlSession.with(path: socket) { s in
            _ = try await s.ok("subscribe")
            _ = try await s.ok("test") {
                $0.serial = serial
                $0.partNumber = part
                $0.fixture = fixture
            }
            return try await s.events { $0["kind"]?.string == "unitFinished" }.last
        }
    }

    /// Waits for exit (bounded); returns the exit status, or nil if it did not exit in time.
    /// A daemon that trapped on its way out fails the test, whatever it was testing.
    func waitForExit(seconds: Double = 30) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if !process.isRunning { Self.expectNoTrap(in: logText, of: process) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// No Swift runtime trap (`Fatal error`, SIGILL or SIGTRAP) in a daemon's log or exit.
    static func expectNoTrap(in log: String, of process: Process, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!log.contains("Fatal error"), "ferruled trapped: \(log.suffix(3000))", sourceLocation: sourceLocation)
        let signalled = process.terminationReason == .uncaughtSignal
        #expect(
            !(signalled && [SIGILL, SIGTRAP].contains(process.terminationStatus)),
            "ferruled died by signal \(process.terminationStatus)", sourceLocation: sourceLocation)
    }

    func stop() async {
        if process.isRunning { signal(SIGTERM) }
        if await waitForExit(seconds: 10) == nil { signal(SIGKILL) }
    }

    /// Resident memory (kB) and open file descriptors of the daemon, from /proc.
    func resources() -> (rssKB: Int, fds: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rss =
            status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? 0
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return (rss, fds)
    }

    /// How many clients ferruled has open on its status socket: its descriptors whose socket is
    /// bound to the socket's path (accepted connections carry the listener's address).
    func controlConnections() -> Int {
        // Read to the end: /proc files claim size 0, and this one grows past a page with many clients.
        let table =
            (try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/unix")).readToEnd())
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
        let inodes = Set(
            table.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                return f.count >= 8 && f[7] == socket ? String(f[6]) : nil
            })
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let links = fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
        return links.filter { inodes.contains(String($0.dropFirst("socket:[".count).dropLast())) }.count - 1  // less the listener
    }
}

struct DaemonError: Error, CustomStringConvertible { var description: String }

extension ControlSession {
    /// A request that must succeed.
    mutating func ok(_ type: String, _ fill: (inout RequestDraft) -> Void = { _ in }) async throws -> JSONValue {
        var r = RequestDraft(type: type)
        fill(&r)
        let m = try await call(r)
        guard m.type == .result, let result = m.result else {
            throw DaemonError(description: "\(type) failed: \(m.error?.description ?? "no result")")
        }
        return result
    }

    /// Reads events until `stop` says so (bounded by `limit` messages).
    mutating func events(limit: Int = 100_000, until stop: (JSONValue) -> Bool) async throws -> [JSONValue] {
        var out: [JSONValue] = []
        while out.count < limit, let m = try await next() {
            guard m.type == .event, let e = m.event else { continue }
            out.append(e)
            if stop(e) { break }
        }
        return out
    }
}

/// The default simulated bench with instruments that take time, so a unit lasts long enough to signal.
func slowConfigText(switchMs: Double = 5, readMs: Double = 5) throws -> String {
    try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        .replacingOccurrences(
            of: "    noiseDb: 0.003\n", with: "    noiseDb: 0.003\n    switchSettleMs: \(switchMs)\n    meterReadMs: \(readMs)\n")
}
