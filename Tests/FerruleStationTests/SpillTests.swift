import FerruleControl
import FerruleProtocol
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A disk that fills while units are measured, then a stop: the measured units wait in the
/// spill file (its space reserved at start), and the next start stores them before anything
/// else, exactly once, with their files, and delivers them. The data directory is a real 96 MB
/// tmpfs filled to the last block, so SQLite itself meets ENOSPC.
@Suite(.serialized, .shutsDownStations) struct SpillTests {
    static let units = [(1, "SPILL-0001", "FT-MTP24-OM4-A"), (2, "SPILL-0002", "FT-MTP12-SMAPC-B-LL")]

    /// (A short name: the daemon's socket is in a folder named after the test, and a Unix
    /// socket's path has at most 107 bytes.)
    @Test func fullDiskUnitsSurviveAStop() async throws {
        try #require(getuid() == 0, "mounting the small filesystem this test fills needs root (CI runs as root)")
        let sink = temporaryDirectory() + "/sink"
        try FileManager.default.createDirectory(atPath: sink, withIntermediateDirectories: true)
        let config = try slowConfigText(switchMs: 20, readMs: 20).replacingOccurrences(
            of: "diagnosis:\n", with: "sinks:\n  - { name: share, kind: directory, path: \(sink), formats: [json] }\ndiagnosis:\n")
        let dir = temporaryDirectory()
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try output("/bin/mount", ["-t", "tmpfs", "-o", "size=96m", "tmpfs", data])
        defer { try? output("/bin/umount", ["-l", data]) }
        let first = try await Daemon(config: config, dir: dir)

        let filler = data + "/filler"
        try await measureOnAFillingDisk(first, filler: filler)
        first.signal(SIGTERM)
        #expect(await first.waitForExit(seconds: 60) == 0, "\(first.logText.suffix(3000))")
        #expect(
            first.logText.contains("2 measured unit(s) could not be stored before stopping")
                && first.logText.contains("spill file \(data)/spill.ferrule"), "\(first.logText.suffix(3000))")

        try FileManager.default.removeItem(atPath: filler)  // room again
        let second = try await Daemon(config: config, dir: first.dir)
        let delivered = try await expectStoredOnceAndDelivered(second, sink: sink)
        await second.stop()

        // A third start finds nothing to store again and delivers nothing again.
        let third = try await Daemon(config: config, dir: first.dir)
        try await ControlSession.with(path: third.socket) { s in
            try await waitUntil("the sink to be idle", timeout: .seconds(60)) {
                try await s.ok("sinks").array?.first?["pending"]?.int == 0
            }
            #expect(try await s.ok("status")["storage"]?["spilledUnits"]?.int == 0)
        }
        for (file, inode) in delivered { #expect(try inodeOf(file) == inode, "\(file) was delivered again") }
        #expect(try storedRows(third) == Self.units.map { "\($0.1)|done" })
        await third.stop()
    }

    /// When neither the store nor the spill file can keep a unit (here the spill file is
    /// /dev/full, which refuses every write), no screen shows its verdict: the event carries
    /// none, the fixture shows no last unit, and new units are refused naming the problem.
    @Test func aUnitNothingCanKeepShowsNoVerdict() async throws {
        var config = try slowBenchConfig(switchMs: 3, readMs: 2)
        config.spillFile = "/dev/full"
        let (station, bench) = try await makeStation(config: config)
        let events = await station.events.subscribe()
        let steps = await station.events.subscribe()
        let unit = Task { try await testUnit(station, bench, serial: "LOST-1", part: "FT-MTP12-SMAPC-B-LL") }
        for await e in steps { if case .step(_, "LOST-1", _, _, _, _, _, _, _) = e { break } }
        await station.store.limitSize(pages: try await station.store.pageCount())
        let outcome = try await unit.value
        #expect(outcome.kept == .memoryOnly)
        for await e in events {
            guard case .unitHeld(_, "LOST-1", _, let verdict, let reason) = e else { continue }
            #expect(verdict == nil)
            #expect(reason.contains("the verdict cannot be kept") && reason.contains("/dev/full"), "\(reason)")
            break
        }
        let status = await station.status()
        #expect(status.fixtures.first { $0.id == 1 }?.lastUnit == nil)
        #expect(status.storage.spillProblem?.contains("/dev/full") == true && status.storage.spilledUnits == 0)
        await #expect(throws: UnitRefused.self) { _ = try await testUnit(station, bench, serial: "LOST-2", part: "FT-MTP12-SMAPC-B-LL") }
        await station.shutdown()
    }

    /// Both units start, the disk fills while they measure; each ends held, with its verdict,
    /// in the spill file.
    private func measureOnAFillingDisk(_ d: Daemon, filler: String) async throws {
        try await ControlSession.with(path: d.socket) { s in try await measure(&s, d, filler: filler) }
    }

    private func measure(_ session: inout ControlSession, _ d: Daemon, filler: String) async throws {
        for fixture in [1, 2] { _ = try await session.ok("reference") { $0.fixture = fixture } }
        _ = try await session.ok("subscribe")
        for unit in Self.units { try await start(unit, on: &session) }
        let serials = Set(Self.units.map(\.1))
        // Both records begun (the second unit waits for the instruments the first one uses).
        try await waitUntil("both units' records to be begun", timeout: .seconds(60)) {
            try storedRows(d) == Self.units.map { "\($0.1)|running" }
        }
        try fill(filler)
        try await waitUntil("both units to be measured and held", timeout: .seconds(120)) {
            try await session.ok("status")["storage"]?["unstoredUnits"]?.int == 2
        }
        // Their events are queued by now: reading them cannot wait for ever.
        var held: [String: JSONValue] = [:]
        var stored = false
        _ = try await session.events { e in
            if e["kind"]?.string == "unitHeld", let serial = e["serial"]?.string { held[serial] = e }
            if e["kind"]?.string == "unitFinished" { stored = true }
            return held.count == 2 || stored
        }
        #expect(!stored, "a unit was stored on a full disk")
        for serial in serials {
            #expect(held[serial]?["verdict"]?.string == "pass", "\(String(describing: held[serial]))")
            #expect(held[serial]?["reason"]?.string?.contains("kept in the spill file") == true)
        }
        let storage = try await session.ok("status")["storage"]
        #expect(storage?["spilledUnits"]?.int == 2 && storage?["unstoredUnits"]?.int == 2, "\(String(describing: storage))")
    }

    private func start(_ unit: (Int, String, String), on session: inout ControlSession) async throws {
        _ = try await session.ok("test") {
            $0.fixture = unit.0
            $0.serial = unit.1
            $0.partNumber = unit.2
            $0.operator = "op-1"
        }
    }

    /// Returns each delivered file with its inode, to tell a second delivery (a new file) apart.
    private func expectStoredOnceAndDelivered(_ d: Daemon, sink: String) async throws -> [String: UInt64] {
        var delivered: [String: UInt64] = [:]
        try await ControlSession.with(path: d.socket) { s in
            try await waitUntil("both units delivered to the sink", timeout: .seconds(60)) {
                try await s.ok("sinks").array?.first?["pending"]?.int == 0
                    && (try? FileManager.default.contentsOfDirectory(atPath: sink).count) == 2
            }
            let history = try await s.ok("history") { $0.limit = 10 }.array ?? []
            #expect(history.compactMap { $0["serial"]?.string }.sorted() == Self.units.map(\.1), "\(history)")
            for row in history {
                #expect(row["verdict"]?.string == "pass", "\(row)")
                for key in ["reportPath", "certificatePath"] {
                    let path = row[key]?.string ?? ""
                    #expect(FileManager.default.fileExists(atPath: path), "\(key) \(path)")
                }
            }
            #expect(try await s.ok("status")["storage"]?["spilledUnits"]?.int == 0)
        }
        #expect(d.logText.contains("2 measured unit(s) wait in the spill file"), "\(d.logText.suffix(2000))")
        #expect(try storedRows(d) == Self.units.map { "\($0.1)|done" })
        for name in try FileManager.default.contentsOfDirectory(atPath: sink) {
            delivered[sink + "/" + name] = try inodeOf(sink + "/" + name)
        }
        return delivered
    }

    /// The store's own rows for the units, read with the sqlite3 shell: each unit once, and how it ended.
    private func storedRows(_ d: Daemon) throws -> [String] {
        let out = try output(
            "/usr/bin/sqlite3", ["-readonly", d.dir + "/data/ferrule.sqlite", "SELECT serial, state FROM unit ORDER BY serial"])
        return out.split(separator: "\n").map(String.init).filter { $0.hasPrefix("SPILL-") }
    }

    /// Writes `path` until the filesystem has no block left.
    private func fill(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw DaemonError(description: "open \(path): errno \(errno)") }
        defer { close(fd) }
        let block = [UInt8](repeating: 0x5A, count: 1 << 20)
        var size = block.count
        while size >= 512 {
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress, size) }
            if n < 0 && errno == ENOSPC { size /= 2 } else if n < 0 { throw DaemonError(description: "fill: errno \(errno)") }
        }
    }
}

private func inodeOf(_ path: String) throws -> UInt64 {
    var st = stat()
    guard stat(path, &st) == 0 else { throw DaemonError(description: "stat \(path): errno \(errno)") }
    return UInt64(st.st_ino)
}

/// `runProgram` that must succeed; returns what the program printed.
@discardableResult
private func output(_ tool: String, _ args: [String]) throws -> String {
    let (status, out) = try runProgram(tool, args)
    guard status == 0 else { throw DaemonError(description: "\(tool) \(args.joined(separator: " ")): \(out)") }
    return out
}
