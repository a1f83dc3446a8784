import FerruleControl
import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import Foundation
import FerruleTesting
import Testing

/// ferruled killed with SIGKILL at 50 random moments while units run on both fixtures and four
/// sinks deliver (a share, an MES over HTTP, the line's PostgreSQL, CFX to the line's AMQP
/// broker), restarted each time.
@Suite(.serialized, .shutsDownStations) struct CrashTests {
    @Test func fiftySigkillsLoseNothingAndHalfWriteNothing() async throws {
        let base = temporaryDirectory()
        let share = base + "/share"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        let (peer, port) = try startPeer("mes-peer.py", ["--log", base + "/mes.log"])
        defer { kill(peer.processIdentifier, SIGKILL) }
        let queue = Broker.freshQueue()
        let consumer = try await CFXConsumer.start(address: queue)
        defer { consumer.stop() }
        // Retention runs throughout: every unit all four sinks have leaves for the archive.
        let config =
            try slowConfigText(switchMs: 3, readMs: 3).replacingOccurrences(
                of: "  id: SIM-01\n", with: "  id: SIM-01\n  retention: { storeDays: 0, reportFilesDays: forever, every: 2s }\n") + """

                sinks:
                  - { name: share, kind: directory, path: \(share), formats: [json, html] }
                  - { name: mes, kind: http, url: "http://127.0.0.1:\(port)/results", timeout: 2s, maxBackoff: 1s }
                  - { name: line-db, kind: postgres, url: "\(PostgresSinkTests.url)", maxBackoff: 1s }
                  - name: line-cfx
                    kind: cfx-amqp
                    url: \(Broker.url)
                    address: \(queue)
                    handle: ferrule.crash.station
                    user: \(Broker.user)
                    passwordFile: \(try Broker.passwordFile())
                    maxBackoff: 1s

                """

        // The kill times come from a printed seed: a failure is replayed with FERRULE_CRASH_SEED.
        let seed = ProcessInfo.processInfo.environment["FERRULE_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("crash test: kill times from seed \(seed) (replay: FERRULE_CRASH_SEED=\(seed) swift test --filter CrashTests)")
        var rng = SplitMix64(seed: seed)
        var daemon = try await Daemon(config: config)
        let dir = daemon.dir
        try await ControlSession.with(path: daemon.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("reference") { $0.fixture = 2 }
        }
        var started = 0
        for round in 0..<50 {
            if round > 0 { daemon = try await Daemon(config: config, dir: dir) }
            // Keep both fixtures busy: start a unit wherever one is idle, until the kill.
            let killAt = ContinuousClock.now + .milliseconds(Int.random(in: 30...900, using: &rng))
            try await ControlSession.with(path: daemon.socket) { s in
                while ContinuousClock.now < killAt {
                    for fixture in [1, 2] {
                        var r = RequestDraft(type: "test")
                        r.serial = "CR-\(round)-\(started)"
                        r.partNumber = "FT-MTP12-SMAPC-B-LL"
                        r.fixture = fixture
                        if try await s.call(r).type == .result { started += 1 }
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            daemon.signal(SIGKILL)
            _ = await daemon.waitForExit()
        }

        // A last, clean run delivers what is left; then the whole record is checked.
        daemon = try await Daemon(config: config, dir: dir)
        let store = try Store(path: dir + "/data/ferrule.sqlite")
        try await waitUntil("every sink to catch up", timeout: .seconds(120)) {
            for sink in ["share", "mes", "line-db", "line-cfx"] where try await store.pending(for: sink) > 0 { return false }
            return true
        }
        await daemon.stop()

        let stored = try await store.history(HistoryFilter(limit: 100_000))
        let archived = try store.archive.all(limit: 100_000)
        let units = stored + archived.filter { a in !stored.contains { $0.reportId == a.reportId } }
        #expect(archived.count > 0 && Set(archived.map(\.reportId)).count == archived.count, "\(archived.count) archived")
        #expect(started >= 50 && units.count >= 50, "started \(started), stored \(units.count)")
        #expect(units.allSatisfy { $0.state == .done || $0.state == .interrupted }, "\(units.filter { $0.state == .running })")
        #expect(units.contains { $0.state == .interrupted })
        let ids = Set(units.map { $0.reportId.uuidString.lowercased() })
        print(
            "crash test: \(started) units started over 50 kills, \(units.count) stored, "
                + "\(units.filter { $0.state == .interrupted }.count) interrupted, \(archived.count) of them archived by retention"
        )

        // No half-written file anywhere: no temporary leftovers, every report parses, every
        // certificate is complete.
        for folder in [dir + "/data/reports", share] {
            let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(!files.contains { $0.hasPrefix(".") }, "\(folder): \(files.filter { $0.hasPrefix(".") })")
            for f in files where f.hasSuffix(".json") {
                let r = try UnitReport.decoder().decode(UnitReport.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/" + f)))
                #expect(ids.contains(r.reportId.uuidString.lowercased()))
            }
            for f in files where f.hasSuffix(".html") {
                #expect(try String(contentsOfFile: folder + "/" + f, encoding: .utf8).hasSuffix("</html>\n"), "\(f)")
            }
            // Every unit has its report and certificate here.
            let stems = Set(
                files.map {
                    String($0.split(separator: "_").last ?? "").replacingOccurrences(of: ".json", with: "").replacingOccurrences(
                        of: ".html", with: "")
                })
            #expect(ids.isSubset(of: stems), "\(folder) misses \(ids.subtracting(stems).count) unit(s)")
        }
        // Every report reached the MES at least once, keyed by its id.
        let keys = Set(
            try String(contentsOfFile: base + "/mes.log", encoding: .utf8).split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["key"] as? String
            })
        #expect(ids.isSubset(of: keys), "the MES misses \(ids.subtracting(keys).count) report(s)")
        // The line database holds each report id exactly once.
        let list = ids.map { "'\($0)'" }.joined(separator: ",")
        let counts = try PostgresSinkTests().psql(
            "SELECT count(*) || ' ' || count(DISTINCT report_id) FROM ferrule_unit WHERE report_id IN (\(list))")
        #expect(counts == "\(ids.count) \(ids.count)", "\(counts)")
        try checkTheBroker(consumer, ids: ids)
    }

    /// Every unit's UnitsTested reached the broker at least once, and each unit's messages kept
    /// one UniqueID however often they were sent.
    func checkTheBroker(_ consumer: CFXConsumer, ids: Set<String>) throws {
        let got = try consumer.messages()
        var uniqueIDs: [String: Set<String>] = [:]
        // A unit's messages carry its report id as TransactionID; the station's own (references,
        // faults) carry none and are each their own message.
        for (subject, id, envelope) in got {
            uniqueIDs["\(CFXConsumer.transaction(of: envelope) ?? id) \(subject)", default: []].insert(id)
        }
        let tested = Set(got.filter { $0.subject == "CFX.Production.TestAndInspection.UnitsTested" }.map(\.id))
        #expect(ids.isSubset(of: tested), "the broker misses \(ids.subtracting(tested).count) UnitsTested")
        // Every stored unit was begun, and its start told the line in the same transaction.
        let started = Set(got.filter { $0.subject == CFXUnitMessages.workStarted }.compactMap { CFXConsumer.transaction(of: $0.envelope) })
        #expect(ids.isSubset(of: started), "the broker misses \(ids.subtracting(started).count) WorkStarted")
        #expect(uniqueIDs.values.allSatisfy { $0.count == 1 }, "\(uniqueIDs.filter { $0.value.count > 1 })")
        print("crash test: \(got.count) CFX messages at the broker for \(ids.count) units")
    }
}
