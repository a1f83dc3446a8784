import FerruleCore
import FerruleTesting
import Foundation
import GRDB
import Testing

@testable import FerruleRecords

/// The yield and the Pareto read their whole days from the per-day roll-ups and only the
/// partial days at a window's ends from the units: every window must answer exactly as the
/// units alone do, however the roll-ups were kept (each commit, a unit committed twice, a rebuild).
@Suite struct RollupTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let hour = 3_600.0

    /// A finished unit of `serial`, started `hoursAgo` before `now`.
    @discardableResult
    static func unit(
        _ store: Store, _ serial: String, hoursAgo: Double, _ verdict: Verdict, warned: Bool = false, part: String? = nil
    ) async throws -> UnitReport {
        var start = try LineOutboxTests.start(serial)
        start.startedAt = now - hoursAgo * hour
        if let part { start.partNumber = part }
        try await store.begin(start)
        var report = RetentionTests.report(start)
        report.verdict = verdict
        report.warnings = warned ? ["IL of fiber 3 at 1310 nm is in the warning band"] : nil
        try await store.commit(report, interrupted: verdict == .interrupted)
        try await store.markFilesWritten(start.reportId)
        return report
    }

    /// Ten days of two parts: first passes (some warned), failures retested hours later (some
    /// across midnight, some failing again), interrupted units, and a serial retested on another day.
    static func tenDays(_ store: Store) async throws {
        var rng = Sequence64(state: 27)
        for i in 0..<120 {
            let at = Double(rng.next() % 240) + Double(rng.next() % 60) / 60
            let part = i % 3 == 0 ? "PART-B" : nil
            let roll = rng.next() % 20
            let verdict: Verdict = roll < 14 ? .pass : roll < 18 ? .fail : .interrupted
            try await unit(store, "R-\(i)", hoursAgo: at, verdict, warned: verdict == .pass && roll < 3, part: part)
            guard verdict != .pass else { continue }
            let later = at - Double(1 + rng.next() % 30)  // hours after, sometimes on the next day
            try await unit(store, "R-\(i)", hoursAgo: max(0.01, later), roll % 2 == 0 ? .pass : .fail, part: part)
            if roll == 17 { try await unit(store, "R-\(i)", hoursAgo: max(0.005, later - 0.5), .pass, part: part) }
        }
    }

    /// Windows with whole days and partial ends, within one day, open at either end, empty.
    static let windows: [(Date?, Date?)] = [
        (nil, nil), (now - 24 * hour, nil), (now - 3 * 86_400 - 5 * hour, now - 20 * hour), (now - 100 * hour, now - 99 * hour),
        (nil, now - 48.5 * hour), (now - 400 * hour, now + hour), (now - 5 * hour, now - 6 * hour),
        (Date(timeIntervalSince1970: floor(now.timeIntervalSince1970 / 86_400 - 4) * 86_400), nil)
    ]

    static func expectRollupsMatchUnits(_ store: Store, _ context: String) async throws {
        for (since, until) in windows {
            let fromUnits = try await store.readOnly("units") { db in
                try Rollups.yieldFromUnits(db, since: since?.timeIntervalSince1970, until: until?.timeIntervalSince1970)
                    .sorted { $0.key < $1.key }.map { $0.value.row(partNumber: $0.key) }
            }
            let yield = try await store.yield(since: since, until: until)
            #expect(yield == fromUnits, "\(context): yield over \(String(describing: since))..<\(String(describing: until))")
            for part in [nil, "PART-B"] as [String?] {
                let failures = try await store.readOnly("units") { db in
                    try Rollups.failuresFromUnits(
                        db, partNumber: part, since: since?.timeIntervalSince1970, until: until?.timeIntervalSince1970)
                }
                let pareto = try await store.pareto(partNumber: part, since: since, until: until)
                let counted = Dictionary(uniqueKeysWithValues: pareto.map { ($0.code, $0.units) })
                #expect(counted == failures, "\(context): Pareto of \(part ?? "all")")
            }
        }
    }

    @Test func everyWindowAnswersAsTheUnitsDo() async throws {
        let store = try Store(path: temporaryDirectory() + "/ferrule.sqlite")
        try await Self.tenDays(store)
        let all = try #require(try await store.yield().first { $0.partNumber == "PART-B" })
        #expect(all.serials == 40 && all.retests > 0 && all.firstPassWithWarning > 0, "the data set has what the roll-ups must count")
        try await Self.expectRollupsMatchUnits(store, "kept at each commit")

        // A unit committed again with another verdict moves its serial's counts, not adds to them.
        var again = try await Self.unit(store, "R-AGAIN", hoursAgo: 30, .fail)
        again.verdict = .pass
        try await store.commit(again)
        try await Self.expectRollupsMatchUnits(store, "a unit committed twice")

        // The migration's rebuild from the units gives the same tables as the commits kept.
        let kept = try await store.readOnly("tables") { db in try Self.tables(db) }
        try await store.transaction("rebuild") { db in try Rollups.rebuild(db) }
        #expect(try await store.readOnly("tables") { db in try Self.tables(db) } == kept)
    }

    @Test func archivedDaysKeepTheirYield() async throws {
        let store = try Store(path: temporaryDirectory() + "/ferrule.sqlite")
        try await Self.tenDays(store)
        let before = try await store.yield()
        let paretoBefore = try await store.pareto()
        let pass = try await store.retire(before: Self.now - 100 * Self.hour, sinks: [], lineSinks: [], archive: true)
        #expect(pass.retired > 20)
        #expect(try await store.yield() == before, "the units went to the archive; the days they were counted on stay")
        #expect(try await store.pareto() == paretoBefore)
        let fromUnits = try await store.readOnly("units") { db in try Rollups.yieldFromUnits(db, since: nil, until: nil) }
        #expect(fromUnits.values.map(\.serials).reduce(0, +) < before.map(\.serials).reduce(0, +))
    }

    /// Each commit reads its serial's counts through the serial's index, never by the part's or
    /// the time's (which read every unit of the part, or of the store, at each commit).
    @Test func aCommitReadsItsSerialThroughTheSerialsIndex() async throws {
        let store = try Store(path: temporaryDirectory() + "/ferrule.sqlite")
        try await Self.tenDays(store)
        for sql in [SerialYield.firstTestSQL, SerialYield.testsSQL, SerialYield.lastVerdictSQL] {
            let plan = try await store.readOnly("plan") { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(["R-1", "PART-B"].prefix(
                    sql.components(separatedBy: "?").count - 1)))
                    .map { $0["detail"] as String }.joined(separator: "; ")
            }
            #expect(plan.contains("INDEX unit_serial") && !plan.contains("SCAN"), "\(sql): \(plan)")
        }
    }

    static func tables(_ db: Database) throws -> [String] {
        try Row.fetchAll(db, sql: "SELECT * FROM yieldDay WHERE serials != 0 OR units != 0 ORDER BY day, partNumber").map(\.description)
            + Row.fetchAll(db, sql: "SELECT * FROM failureDay WHERE units != 0 ORDER BY day, partNumber, code").map(\.description)
    }
}

/// A fixed sequence (Knuth's MMIX LCG), so that a failure names a data set one can run again.
struct Sequence64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
}
