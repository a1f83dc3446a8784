import FerruleConfig
import FerruleCore
import FerruleTesting
import Foundation
import GRDB
import Testing

@testable import FerruleRecords

/// The line's message outbox: in order per sink, a cursor that survives a reopen, a unit's
/// WorkStarted written with its start, and a store from before the outbox migrated with one for
/// each unit it left running.
@Suite struct LineOutboxTests {
    static func start(_ serial: String) throws -> UnitStart {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let recipe = try #require(config.recipes["FT-MTP12-SMAPC-B-LL"])
        return UnitStart(
            reportId: UUID(), serial: serial, partNumber: recipe.partNumber, fixture: 2, operatorId: "op",
            startedAt: Date(timeIntervalSince1970: 1_800_000_000), station: .init(id: "SIM-01", softwareVersion: "t", configHash: "h"),
            recipe: recipe, rules: DiagnosisRules(), instruments: [], references: [], cords: [])
    }

    @Test func eachSinkReadsTheMessagesInOrderFromItsOwnCursor() async throws {
        let path = temporaryDirectory() + "/ferrule.sqlite"
        let store = try Store(path: path)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let posted = (1...3).map { LineMessage(at: at, .operatorActivated(operatorId: "op\($0)", via: "web")) }
        for m in posted { try await store.post(m) }
        try await store.post(posted[0])  // posted again: still once
        let first = try #require(try await store.nextLineMessage(for: "cfx"))
        #expect(first.message == posted[0])
        try await store.settleLineMessage(sink: "cfx", seq: first.seq)
        #expect(try await store.hasDelivered(lineMessage: posted[0].id, to: "cfx"))
        #expect(try await store.hasDelivered(lineMessage: posted[1].id, to: "cfx") == false)
        #expect(try await store.nextLineMessage(for: "other")?.message == posted[0], "another sink has its own cursor")
        let reopened = try Store(path: path)
        #expect(try await reopened.nextLineMessage(for: "cfx")?.message == posted[1], "the cursor survives a reopen")
        #expect(try await reopened.lineMessages().count == 3)
    }

    @Test func aUnitsStartPostsItsWorkStarted() async throws {
        let store = try Store(path: temporaryDirectory() + "/ferrule.sqlite")
        let start = try Self.start("LO-1")
        try await store.begin(start)
        let m = try #require(try await store.lineMessages().first)
        #expect(m.moment == .workStarted(reportId: start.reportId, serial: "LO-1", fixture: 2))
        #expect(m.id == CFXUnitMessages.stableID(report: start.reportId, message: CFXUnitMessages.workStarted))
    }

    @Test func aStoreFromBeforeTheOutboxGetsAWorkStartedForEachUnitLeftRunning() async throws {
        let path = temporaryDirectory() + "/ferrule.sqlite"
        let start = try Self.start("LO-OLD")
        try await Store(path: path).begin(start)
        // Put the file back as the version before wrote it: no line outbox, no v5 migration.
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DROP TABLE lineMessage; DROP TABLE lineMessageCursor; DELETE FROM grdb_migrations WHERE identifier = 'v5'")
        }
        let migrated = try Store(path: path)
        #expect(try await migrated.lineMessages().map(\.moment) == [.workStarted(reportId: start.reportId, serial: "LO-OLD", fixture: 2)])
    }
}
