import FerruleCore
import FerruleRecords
import FerruleSimulator
import Foundation
import Logging
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

#if canImport(FoundationXML)
import FoundationXML
import FerruleSimSpec
import FerruleSetup
import FerruleProtocol
#endif


/// The line database: a real PostgreSQL server (`.ci/run` installs and starts one with a
/// `ferrule` role and database; `FERRULE_TEST_PG` points elsewhere).
@Suite(.serialized, .shutsDownStations) struct PostgresSinkTests {
    static let url = ProcessInfo.processInfo.environment["FERRULE_TEST_PG"] ?? "postgres://ferrule:ferrule@127.0.0.1:5432/ferrule"

    /// One value from the database, through psql (a client no one here wrote).
    func psql(_ sql: String) throws -> String {
        let u = URLComponents(string: Self.url)!
        let (status, out) = try runProgram(
            "/usr/bin/env",
            [
                "PGPASSWORD=\(u.password ?? "")", "PGCONNECT_TIMEOUT=5", "psql", "-h", u.host!, "-p", "\(u.port ?? 5432)",
                "-U", u.user!, "-d", String(u.path.dropFirst()), "-tAc", sql
            ])
        guard status == 0 else { throw DaemonError(description: "psql: \(out) (is PostgreSQL running? .ci/run starts it)") }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func reportsLandExactlyOnceWithTheirMeasurementsFromSeveralStations() async throws {
        let (station, bench) = try await makeStation()
        let a = try await testUnit(station, bench, serial: "PG-1", part: "FT-MTP12-SMAPC-B-LL").report
        var b = try await testUnit(station, bench, serial: "PG-2", part: "FT-MTP12-SMAPC-B-LL", faults: [.darkFiber(fiber: 3)]).report
        b.station.id = "SIM-02"  // as if another station on the line had tested it
        let logger = Logger(label: "test")
        let one = try PostgresSink(name: "line-db", url: Self.url, logger: logger)
        let two = try PostgresSink(name: "line-db", url: Self.url, logger: logger)
        // Both stations at once, each report twice (at least once): still one row per report.
        async let r1 = one.deliver(a)
        async let r2 = two.deliver(b)
        async let r3 = one.deliver(b)
        async let r4 = two.deliver(a)
        let results = await [r1, r2, r3, r4]
        #expect(results.allSatisfy { $0 == .delivered }, "\(results)")
        for r in [a, b] {
            let id = r.reportId.uuidString.lowercased()
            #expect(try psql("SELECT count(*) FROM ferrule_unit WHERE report_id = '\(id)'") == "1")
            #expect(try psql("SELECT count(*) FROM ferrule_measurement WHERE report_id = '\(id)'") == "\(r.measurements.count)")
            #expect(
                try psql("SELECT verdict || ' ' || serial || ' ' || station_id FROM ferrule_unit WHERE report_id = '\(id)'")
                    == "\(r.verdict.rawValue) \(r.unit.serial) \(r.station.id)")
            #expect(try psql("SELECT lower(report->>'reportId') FROM ferrule_unit WHERE report_id = '\(id)'") == id)
        }
        // Dark fiber 3: its IL is NULL, not a number.
        let bid = b.reportId.uuidString.lowercased()
        #expect(try psql("SELECT count(*) FROM ferrule_measurement WHERE report_id = '\(bid)' AND fiber = 3 AND il_db IS NULL") == "2")
        #expect(try psql("SELECT count(*) FROM ferrule_station WHERE id IN ('SIM-01', 'SIM-02')") == "2")
        await one.shutdown()
        await two.shutdown()
    }

    @Test func aDatabaseThatIsDownIsRetriedNamingIt() async throws {
        let (station, bench) = try await makeStation()
        let a = try await testUnit(station, bench, serial: "PG-DOWN", part: "FT-MTP12-SMAPC-B-LL").report
        let sink = try PostgresSink(
            name: "line-db", url: "postgres://ferrule@127.0.0.1:1/ferrule", timeout: .seconds(3), logger: Logger(label: "test"))
        guard case .retry(let why) = await sink.deliver(a) else {
            Issue.record("a dead database must be retried")
            return
        }
        #expect(why.contains("PostgreSQL"), "\(why)")
        await sink.shutdown()
        #expect(throws: StoreError.self) { try PostgresSink(name: "x", url: "mysql://nope", logger: Logger(label: "test")) }
    }
}

/// A sink that holds each delivery until the test lets it go: what a slow MES looks like.
actor GateSink: Sink {
    nonisolated let name = "slow-mes"
    nonisolated let kind = SinkKind.http  // it stands in for a MES
    private var open = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func deliver(_ report: UnitReport) async -> DeliveryOutcome {
        if !open { await withCheckedContinuation { waiting.append($0) } }
        return .delivered
    }

    func release() {
        open = true
        for w in waiting { w.resume() }
        waiting = []
    }
}

@Suite(.shutsDownStations) struct SinkStatusTests {
    /// Status is current during a delivery: a sink on its first attempt shows the unit pending
    /// and the attempt, not "0 pending" until it is done.
    @Test func aSinkOnItsFirstAttemptShowsItsBacklog() async throws {
        let gate = GateSink()
        let (station, bench) = try await makeStation(sinks: [gate])
        _ = try await testUnit(station, bench, serial: "SLOW-1", part: "FT-MTP8-SMAPC-B")
        try await waitUntil("the first attempt to show") {
            let s = await station.status().sinks.first
            return s?.pending == 1 && s?.attempts == 1
        }
        await gate.release()
        try await waitUntil("the delivery to show") {
            let s = await station.status().sinks.first
            return s?.pending == 0 && s?.lastDeliveredAt != nil
        }
        await station.shutdown()
    }
}
