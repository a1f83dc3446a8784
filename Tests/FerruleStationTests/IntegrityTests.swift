import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// Integrity at start: damage to the store or to a reference is found and said, never used
/// silently, and `ferruled store recover` brings every unit back from its report.
@Suite(.shutsDownStations) struct IntegrityTests {
    /// A station that has tested three units (one failing) and stopped; returns its folder and
    /// the units' report ids and verdicts, oldest first.
    func stationWithHistory() async throws -> (String, [(UUID, Verdict)]) {
        let dir = temporaryDirectory()
        let (station, bench) = try await makeStation(data: dir)
        var units: [(UUID, Verdict)] = []
        for (serial, faults) in [("H-1", []), ("H-2", [AssemblyFault.genderMismatch]), ("H-1", [])] {
            let o = try await testUnit(station, bench, serial: serial, part: "FT-MTP8-SMAPC-B", faults: faults)
            units.append((o.report.reportId, o.report.verdict))
        }
        #expect(units.map(\.1).contains(.fail))
        await station.store.checkpoint()
        await station.shutdown()
        return (dir, units)
    }

    /// A row whose report id is not a UUID (damage, or a hand edit) makes `history` answer an
    /// error naming the column and what to run; it used to trap the daemon on a force-unwrap.
    @Test func aDamagedReportIdIsAnErrorNotACrash() async throws {
        let (dir, _) = try await stationWithHistory()
        let db = DataDirectory(root: dir).storePath
        let (status, out) = try runProgram("/usr/bin/sqlite3", [db, "UPDATE unit SET reportId = 'not-a-uuid' WHERE serial = 'H-2'"])
        #expect(status == 0, "\(out)")
        let (station, _) = try await makeStation(data: dir, reference: false)
        let error = await #expect(throws: StoreError.self) { _ = try await station.records.history(HistoryFilter(limit: 10)) }
        #expect(error.map { "\($0)" }?.contains("not a report id") == true, "\(String(describing: error))")
        await station.shutdown()
    }

    /// Damage in an old page that a start does not read (here: an index of the resend table,
    /// which no unit writes) passes the bounded look at start; the background check finds it,
    /// says it with the fix in status and an event, and the station keeps testing.
    @Test func damageDeepInAnOldPageIsFoundInTheBackgroundAndTheStationKeepsTesting() async throws {
        let (dir, _) = try await stationWithHistory()
        let store = DataDirectory(root: dir).storePath
        let (status, out) = try runProgram(
            "/usr/bin/sqlite3", [store, "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_resend_1'; PRAGMA page_size;"])
        let numbers = out.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        #expect(status == 0 && numbers.count == 2, "\(out)")
        let (page, pageSize) = (try #require(numbers.first), try #require(numbers.last))
        let handle = try #require(FileHandle(forUpdatingAtPath: store))
        try handle.seek(toOffset: UInt64((page - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: pageSize))
        try handle.close()
        #expect(Store.quickLook(path: store).state == .ok, "the bounded look at start does not read that page")

        let built = try await makeBuiltStation(data: dir, integrityCheckAfter: .zero)
        let station = built.station
        try await waitUntil("the background check's verdict") { await station.status().storage.integrity?.state == .damaged }
        let detail = try #require(await station.status().storage.integrity?.detail)
        #expect(detail.contains("damaged in an old page") && detail.contains("ferruled store recover --data-dir \(dir)"), "\(detail)")
        let bench = try #require(built.simulation?.bench)
        let o = try await testUnit(station, bench, serial: "AFTER-1", part: "FT-MTP8-SMAPC-B")
        #expect(o.report.verdict == .pass)
        #expect(try await station.store.history(HistoryFilter(serial: "AFTER-1", limit: 1)).count == 1, "stored")
        await station.shutdown()
    }

    /// A healthy store's background check says so in status.
    @Test func theBackgroundCheckOfAHealthyStoreSaysOk() async throws {
        let built = try await makeBuiltStation(reference: false, integrityCheckAfter: .zero)
        try await waitUntil("the background check's verdict") { await built.station.status().storage.integrity?.state == .ok }
        await built.station.shutdown()
    }

    func ferruled(_ arguments: [String]) throws -> (Int32, String) {
        try runProgram(Daemon.executable, arguments)
    }

    func startRefusal(_ dir: String) async -> String? {
        do {
            let (station, _) = try await makeStation(data: dir, reference: false)
            await station.shutdown()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aTruncatedStoreStopsTheStationAndRecoverRestoresEveryUnit() async throws {
        let (dir, units) = try await stationWithHistory()
        let store = dir + "/ferrule.sqlite"
        #expect(truncate(store, 0) == 0)

        let why = try #require(await startRefusal(dir))
        #expect(why.contains("holds no units") && why.contains("3 unit report(s)"), "\(why)")
        #expect(why.contains("ferruled store recover --data-dir \(dir)"), "\(why)")
        let (checked, checkOut) = try ferruled(["store", "check", "--data-dir", dir])
        #expect(checked == 1 && checkOut.contains("NOT USABLE"), "\(checkOut)")

        let (status, out) = try ferruled(["store", "recover", "--data-dir", dir])
        #expect(status == 0 && out.contains("restored 3 of 3"), "\(out)")
        let aside = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("ferrule.sqlite.damaged-") }
        #expect(aside.count == 1, "\(aside)")  // the damaged file is kept, never deleted

        let (station, _) = try await makeStation(data: dir, reference: false)
        defer { Task { await station.shutdown() } }
        let rows = try await station.records.history(HistoryFilter(limit: 10))
        #expect(Set(rows.map(\.entry.reportId)) == Set(units.map(\.0)))
        for (id, verdict) in units {
            #expect(rows.first { $0.entry.reportId == id }?.entry.verdict == verdict)
        }
        // Retests still count: the second H-1 is attempt 2 of that serial.
        #expect(rows.filter { $0.entry.serial == "H-1" }.map(\.entry.attempt).sorted() == [1, 2])
        let report = try #require(try await station.store.report(units[1].0))
        // The gender mismatch: two fibers dark at every position, 2 wavelengths each, then stopped.
        #expect(report.measurements.count == 4 && report.verdict == units[1].1)
        #expect(try await station.store.unitsWithoutFiles().isEmpty)  // their files are there
    }

    @Test func flippedPagesAreFoundBeforeTheStoreIsUsed() async throws {
        let (dir, _) = try await stationWithHistory()
        let store = dir + "/ferrule.sqlite"
        // Garbage over every page but the header: what a failing disk or a stray writer leaves.
        let handle = try #require(FileHandle(forUpdatingAtPath: store))
        let size = try handle.seekToEnd()
        var rng = SystemRandomNumberGenerator()
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data((0..<(Int(size) - 4096)).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        try handle.close()

        let why = try #require(await startRefusal(dir))
        #expect(why.contains("is damaged") && why.contains("ferruled store recover"), "\(why)")
        let (checked, out) = try ferruled(["store", "check", "--data-dir", dir])
        #expect(checked == 1 && out.contains("DAMAGED"), "\(out)")
        let (recovered, rOut) = try ferruled(["store", "recover", "--data-dir", dir])
        #expect(recovered == 0 && rOut.contains("restored 3 of 3"), "\(rOut)")
        #expect(await startRefusal(dir) == nil)
    }

    @Test func recoverRefusesALiveStationAndAHealthyStore() async throws {
        let (dir, _) = try await stationWithHistory()
        let (healthy, out) = try ferruled(["store", "recover", "--data-dir", dir])
        #expect(healthy == 1 && out.contains("nothing to recover"), "\(out)")
        let (station, _) = try await makeStation(data: dir, reference: false)
        defer { Task { await station.shutdown() } }
        let (live, liveOut) = try ferruled(["store", "check", "--data-dir", dir])
        #expect(live == 2 && liveOut.contains("PID \(getpid())"), "\(liveOut)")
    }

    /// A reference file edited by hand (+3 dB on one value) or damaged is refused and moved
    /// aside; the cord needs a new reference and says so. Untouched references still load.
    @Test func anEditedOrDamagedReferenceIsRefused() async throws {
        let dir = temporaryDirectory()
        let (first, _) = try await makeStation(data: dir)
        await first.shutdown()
        let refs = dir + "/references"
        let files = try FileManager.default.contentsOfDirectory(atPath: refs).filter { $0.hasPrefix("fixture-1-") }.sorted()
        #expect(files.count >= 2)
        let edited = refs + "/" + files[0], damaged = refs + "/" + files[1]
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: edited))) as? [String: Any])
        var values = try #require(json["values"] as? [[String: Any]])
        values[0]["powerDbm"] = (values[0]["powerDbm"] as! Double) + 3
        json["values"] = values
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: edited))
        try Data("{\"fixture\": 1, \"val".utf8).write(to: URL(fileURLWithPath: damaged))

        let (station, _) = try await makeStation(data: dir, reference: false)
        defer { Task { await station.shutdown() } }
        let fixture = try #require(await station.status().fixtures.first { $0.id == 1 })
        let editedCord = String(files[0].dropFirst("fixture-1-".count).dropLast(5))
        let damagedCord = String(files[1].dropFirst("fixture-1-".count).dropLast(5))
        #expect(!fixture.references.contains { $0.cord == editedCord || $0.cord == damagedCord }, "\(fixture.references)")
        let after = try FileManager.default.contentsOfDirectory(atPath: refs)
        #expect(!after.contains(files[0]) && !after.contains(files[1]))
        #expect(after.filter { $0.hasPrefix(files[0] + ".refused-") || $0.hasPrefix(files[1] + ".refused-") }.count == 2, "\(after)")
        // The other fixture's references were not touched and still count.
        #expect(await station.status().fixtures.first { $0.id == 2 }?.references.isEmpty == false)
    }

    /// The store, references and reports are not world-readable.
    @Test func resultsAreNotWorldReadable() async throws {
        let dir = temporaryDirectory()
        let (station, bench) = try await makeStation(data: dir)
        defer { Task { await station.shutdown() } }
        let o = try await testUnit(station, bench, serial: "MODE-1", part: "FT-MTP8-SMAPC-B")
        let refs = try FileManager.default.contentsOfDirectory(atPath: dir + "/references").map { dir + "/references/" + $0 }
        for path in [dir + "/ferrule.sqlite", o.reportPath] + refs {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode & 0o007 == 0 && mode & 0o020 == 0, "\(path): \(String(mode, radix: 8))")
        }
    }
}
