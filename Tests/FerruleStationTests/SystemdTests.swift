import FerruleProtocol
import Foundation
import FerruleTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .shutsDownStations) struct SystemdTests {
    @Test func unitFileVerifiesAndCarriesTheHardening() throws {
        let unit = try String(contentsOfFile: Repo.root + "/systemd/ferruled.service", encoding: .utf8)
        for directive in [
            "Type=notify", "WatchdogSec=", "Restart=on-failure", "User=ferrule", "StateDirectory=ferrule",
            "RuntimeDirectory=ferrule", "ConfigurationDirectory=ferrule", "NoNewPrivileges=yes",
            "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "DevicePolicy=closed",
            "DeviceAllow=char-ttyUSB rw", "ExecReload=/bin/kill -HUP $MAINPID"
        ] {
            #expect(unit.contains(directive), "missing \(directive)")
        }
        // systemd-analyze checks the binary exists: point ExecStart at the one just built.
        let dir = temporaryDirectory()
        let copy = dir + "/ferruled.service"
        try unit.replacingOccurrences(of: "/usr/local/bin/ferruled", with: Daemon.executable).write(
            toFile: copy, atomically: true, encoding: .utf8)
        let (status, out) = try runProgram("/usr/bin/env", ["systemd-analyze", "verify", copy])
        #expect(status == 0, "systemd-analyze verify: \(out)")
        // systemd's own exposure score (0 = locked down, 10 = exposed); 3.3 before the syscall
        // filter, W^X, RemoveIPC and ProcSubset.
        let (_, security) = try runProgram("/usr/bin/env", ["systemd-analyze", "security", "--offline=true", copy])
        let score = security.split(separator: "\n").first { $0.contains("Overall exposure level") }
            .flatMap { line in line.split(separator: " ").compactMap { Double($0) }.first }
        print("systemd-analyze security: exposure \(score.map { String($0) } ?? "?")")
        #expect((score ?? 10) <= 2.5, "\(security.suffix(400))")
    }

    @Test func notifiesReadyStatusWatchdogAndStopping() async throws {
        let path = temporaryDirectory() + "/notify.sock"
        let fd = try Self.notifySocket(path)
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func receive() -> String? {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buf, buf.count, 0)
            return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : nil
        }

        // Instruments that take time: a unit at instant speed can end before the STATUS line of
        // its progress is read, and the watchdog's datagrams would then keep the loop below going.
        let d = try await Daemon(
            config: try slowConfigText(switchMs: 20, readMs: 20), environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"])
        var seen: [String] = []
        while !(seen.contains { $0.contains("READY=1") } && seen.contains { $0.contains("WATCHDOG=1") }) {
            guard let m = receive() else { break }
            seen.append(m)
        }
        #expect(seen.contains { $0.contains("READY=1") })
        #expect(seen.contains { $0.hasPrefix("STATUS=fixture 1: idle") })
        #expect(seen.contains { $0.contains("WATCHDOG=1") })
        // The STATUS lines follow the station's events: a unit's progress shows while it runs.
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("test") {
                $0.serial = "FRL-SD1"
                $0.partNumber = "FT-MTP24-OM4-A"
                $0.fixture = 1
                $0.operator = "op-1"
            }
        }
        var testing: [String] = []
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, let m = receive() {
            seen.append(m)
            if m.hasPrefix("STATUS=fixture 1: testing FRL-SD1") { testing.append(m) }
            if !testing.isEmpty && m.hasPrefix("STATUS=") && !m.contains("testing") { break }  // the unit ended
        }
        #expect(!testing.isEmpty, "\(seen)")
        #expect(testing.contains { $0.contains("/24") }, "progress as fibers n/24: \(testing)")
        d.signal(SIGTERM)
        while !seen.contains(where: { $0.contains("STOPPING=1") }), let m = receive() { seen.append(m) }
        #expect(seen.contains { $0.contains("STOPPING=1") })
        #expect(await d.waitForExit() == 0)
    }

    /// A notify socket nobody reads (a stuck systemd) fills after 10 datagrams; the daemon must
    /// go on testing units instead of blocking its threads in the send (it once did, and hung).
    @Test func aNotifySocketNobodyReadsBlocksNothing() async throws {
        let path = temporaryDirectory() + "/notify.sock"
        let fd = try Self.notifySocket(path)
        defer { close(fd) }
        let d = try await Daemon(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"])
        defer { Task { await d.stop() } }
        // A hung daemon is killed after 3 minutes, so that the test fails instead of hanging.
        let deadline = Task {
            try await Task.sleep(for: .seconds(180))
            d.signal(SIGKILL)
        }
        defer { deadline.cancel() }
        let verdicts = try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("subscribe")
            var verdicts: [String] = []
            for n in 1...3 {
                _ = try await s.ok("test") {
                    $0.serial = "FRL-NR\(n)"
                    $0.partNumber = "FT-MTP24-OM4-A"
                    $0.fixture = 1
                    $0.operator = "op-1"
                }
                let done = try await s.events(limit: 5000) { $0["kind"]?.string == "unitFinished" }.last
                verdicts.append(done?["verdict"]?.string ?? "?")
            }
            return verdicts
        }
        #expect(verdicts == ["pass", "pass", "pass"])
    }

    /// A datagram socket bound at `path`, as systemd's notify socket is.
    static func notifySocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(withUnixAddress(path) { bind(fd, $0, $1) } == 0)
        return fd
    }
}
