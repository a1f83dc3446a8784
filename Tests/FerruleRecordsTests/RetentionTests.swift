import FerruleConfig
import FerruleCore
import FerruleTesting
import Foundation
import GRDB
import Testing

@testable import FerruleRecords

/// Retention takes out of the store only units every sink has, into an archive file a month that
/// history by serial, the report and its deliveries still read; it keeps every unit some sink owes.
@Suite struct RetentionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let day = 86_400.0

    /// A finished unit that started `daysAgo` days before `now`, with its files written.
    static func unit(_ store: Store, _ serial: String, daysAgo: Double) async throws -> UUID {
        var start = try LineOutboxTests.start(serial)
        start.startedAt = now - daysAgo * day
        try await store.begin(start)
        try await store.commit(report(start), interrupted: true)
        try await store.markFilesWritten(start.reportId)
        return start.reportId
    }

    /// The report of a unit stopped before any fiber, 20 s after its start.
    static func report(_ start: UnitStart) -> UnitReport {
        let judgement = Judge(recipe: start.recipe, rules: start.rules).judge(steps: [], observed: [:], stop: .interrupted(reason: "test"))
        return UnitReport(
            reportId: start.reportId,
            unit: .init(serial: start.serial, partNumber: start.partNumber, description: start.recipe.description),
            recipe: start.recipe, station: start.station, fixture: start.fixture, operatorId: start.operatorId,
            startedAt: start.startedAt, finishedAt: start.startedAt + 20, instruments: [], references: [], cords: [],
            judgement: judgement)
    }

    /// Delivers the sink's queue up to (not past) `stopAt`: what a sink behind looks like.
    static func deliver(_ store: Store, sink: String, until stopAt: UUID? = nil, park: UUID? = nil) async throws {
        while let (seq, id) = try await store.next(for: sink), id != stopAt {
            let parked = id == park ? "refused: bad field" : nil
            try await store.settle(sink: sink, seq: seq, reportId: id, parked: parked, attempts: 1, at: now)
        }
    }

    @Test func deliveredUnitsMoveToTheirMonthAndOwedOnesStay() async throws {
        let dir = temporaryDirectory()
        let store = try Store(path: dir + "/ferrule.sqlite")
        let old = try await Self.unit(store, "RT-OLD", daysAgo: 200)
        let parked = try await Self.unit(store, "RT-PARKED", daysAgo: 150)
        let behind = try await Self.unit(store, "RT-BEHIND", daysAgo: 120)
        let recent = try await Self.unit(store, "RT-NEW", daysAgo: 10)
        try await Self.deliver(store, sink: "mes", park: parked)
        try await Self.deliver(store, sink: "share", until: behind)

        let pass = try await store.retire(before: Self.now - 90 * Self.day, sinks: ["mes", "share"], lineSinks: [], archive: true)
        #expect(pass.retired == 1, "only the unit both sinks have and neither parked")
        #expect(pass.kept == 2, "the parked one and the one the share still owes")
        let month = ArchiveShelf.month(of: (Self.now - 200 * Self.day).timeIntervalSince1970)
        #expect(pass.months == [month])
        #expect(store.archive.months() == [month])

        // The store no longer holds it; history by serial, the report and its deliveries still find it.
        #expect(try await store.history(HistoryFilter(limit: 100)).map(\.serial).sorted() == ["RT-BEHIND", "RT-NEW", "RT-PARKED"])
        let found = try await store.history(HistoryFilter(serial: "RT-OLD"))
        #expect(found.map(\.reportId) == [old] && found.first?.archive == month)
        let archived = try #require(try await store.report(old))
        let certificate = String(decoding: try ReportFormat.html.render(archived), as: UTF8.self)
        #expect(certificate.contains("RT-OLD"), "the certificate is rendered again from the archived record")
        #expect(try await store.deliveries(of: old).map(\.sink) == ["mes", "share"])
        #expect(try await store.report(recent) != nil)

        // Again: nothing more moves; once the share catches up, the unit it owed goes too.
        let again = try await store.retire(before: Self.now - 90 * Self.day, sinks: ["mes", "share"], lineSinks: [], archive: true)
        #expect(again.retired == 0)
        try await Self.deliver(store, sink: "share")
        let next = try await store.retire(before: Self.now - 90 * Self.day, sinks: ["mes", "share"], lineSinks: [], archive: true)
        #expect(next.retired == 1 && next.kept == 1, "the parked unit waits for an engineer, however old")
        #expect(try await store.history(HistoryFilter(serial: "RT-BEHIND")).first?.archive != nil)
        #expect(try await store.history(HistoryFilter(serial: "RT-PARKED")).first?.archive == nil)
    }

    @Test func aRetestOfAnArchivedSerialCountsFromItsFirstTest() async throws {
        let store = try Store(path: temporaryDirectory() + "/ferrule.sqlite")
        let first = try await Self.unit(store, "RT-AGAIN", daysAgo: 300)
        _ = try await store.retire(before: Self.now - 90 * Self.day, sinks: [], lineSinks: [], archive: true)
        _ = try await Self.unit(store, "RT-AGAIN", daysAgo: 1)
        let tests = try await store.history(HistoryFilter(serial: "RT-AGAIN"))
        #expect(tests.map(\.attempt) == [2, 1])
        #expect(tests.first?.previousReportId == first)
        #expect(tests.map { $0.archive == nil } == [true, false])
    }

    @Test func withoutArchivesRetiredUnitsAreDroppedAndDeliveredLineMessagesPruned() async throws {
        let store = try Store(path: temporaryDirectory() + "/ferrule.sqlite")
        _ = try await Self.unit(store, "RT-DROP", daysAgo: 100)
        _ = try await Self.unit(store, "RT-KEEP", daysAgo: 29)
        // Each unit's start posted a WorkStarted (stamped with its start); the line sink has the first.
        let first = try #require(try await store.nextLineMessage(for: "cfx"))
        try await store.settleLineMessage(sink: "cfx", seq: first.seq)
        let pass = try await store.retire(before: Self.now - 30 * Self.day, sinks: [], lineSinks: ["cfx"], archive: false)
        #expect(pass.retired == 1 && pass.months.isEmpty && store.archive.months().isEmpty)
        #expect(try await store.history(HistoryFilter(serial: "RT-DROP")).isEmpty)
        #expect(pass.lineMessagesPruned == 1)
        #expect(try await store.lineMessages().count == 1, "the newer message stays")
    }

    @Test func aMoveCutShortByACrashIsFinishedOnceWithoutDuplicates() async throws {
        let store = try Store(path: temporaryDirectory() + "/ferrule.sqlite")
        let id = try await Self.unit(store, "RT-TWICE", daysAgo: 100)
        // The archive got the unit but the process died before the store let go of it.
        let month = ArchiveShelf.month(of: (Self.now - 100 * Self.day).timeIntervalSince1970)
        let rows = try await store.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM unit").map(RetiringUnits.record) }
        try store.archive.put(RetiringUnits(units: rows), month: month)
        #expect(try await store.history(HistoryFilter(serial: "RT-TWICE")).count == 1, "found in both, listed once")
        #expect(try await store.retire(before: Self.now - 30 * Self.day, sinks: [], lineSinks: [], archive: true).retired == 1)
        #expect(try store.archive.all(limit: 10).map(\.reportId) == [id])
        #expect(try await store.stillStored([id]).isEmpty, "its report files may go now")
    }
}
