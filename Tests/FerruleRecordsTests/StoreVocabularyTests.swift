import FerruleCore
import FerruleRecords
import GRDB
import Foundation
import FerruleTesting
import Testing

import FerruleConfig

/// One vocabulary from the meter to the report: the store names a reading as the report does
/// (`ok`, `noLight`, `overRange`), a store written before that is migrated, and recovery reads both.
@Suite struct StoreVocabularyTests {
    /// Runs `statement` on the file as another program would (its own connection): a query's
    /// rows, one per line, or a failed statement's message.
    static func run(_ path: String, _ statement: String) throws -> Result<String, DatabaseError> {
        let db = try DatabaseQueue(path: path)
        do {
            return .success(try db.write { db in
                guard statement.hasPrefix("SELECT") else {
                    try db.execute(sql: statement)
                    return ""
                }
                return try Row.fetchAll(db, sql: statement).map { row -> String in
                    let value: DatabaseValue = row[0]
                    switch value.storage {
                    case .string(let s): return s
                    case .int64(let i): return String(i)
                    default: return value.description
                    }
                }.joined(separator: "\n")
            })
        } catch let e as DatabaseError { return .failure(e) }
    }

    static func sql(_ path: String, _ statement: String) throws -> String {
        let result = try run(path, statement)
        if case .failure(let e) = result { Issue.record("\(statement): \(e)") }
        return (try? result.get()) ?? ""
    }

    /// A store with one running unit and three readings, one of each kind.
    static func storeWithARunningUnit(_ path: String) async throws -> (Store, UUID) {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let recipe = try #require(config.recipes["FT-MTP12-SMAPC-B-LL"])
        let store = try Store(path: path)
        let id = UUID()
        try await store.begin(
            UnitStart(
                reportId: id, serial: "VOC-1", partNumber: recipe.partNumber, fixture: 1, operatorId: "op",
                startedAt: Date(), station: .init(id: "SIM-01", softwareVersion: "t", configHash: "h"),
                recipe: recipe, rules: DiagnosisRules(), instruments: [], references: [], cords: []))
        let readings: [PowerReading] = [.dBm(-4.75), .noLight, .overRange]
        let steps = readings.enumerated().map { i, power in
            RawStep(
                fiber: 1, wavelengthNm: [1310, 1550, 1625][i], expectedReceivePosition: 12, receivePosition: 12,
                referenceDbm: -4.6, power: power, rlDb: nil, rlBDb: nil, fault: nil)
        }
        try await store.record(reportId: id, fiber: 1, arrival: 12, steps: steps)
        return (store, id)
    }

    @Test func aReadingIsStoredInTheReportsWords() async throws {
        let path = temporaryDirectory() + "/ferrule.sqlite"
        _ = try await Self.storeWithARunningUnit(path)
        let statuses = try Self.sql(path, "SELECT powerStatus FROM measurement ORDER BY seq")
        #expect(statuses.split(separator: "\n") == ["ok", "noLight", "overRange"])
        // The schema refuses a word outside the vocabulary.
        let refused = try Self.run(
            path,
            "INSERT INTO measurement (reportId, seq, fiber, wavelengthNm, expectedReceivePosition, receivePosition, powerStatus)"
                + " SELECT reportId, 99, 1, 1310, 1, 1, 'dBm' FROM unit")
        guard case .failure(let e) = refused else {
            Issue.record("a power status outside the vocabulary was stored")
            return
        }
        #expect("\(e)".contains("powerStatus is ok, noLight or overRange"), "\(e)")
    }

    @Test func aStoreFromBeforeTheMigrationIsMigratedAndRecovered() async throws {
        let path = temporaryDirectory() + "/ferrule.sqlite"
        let (_, id) = try await Self.storeWithARunningUnit(path)
        // Put the file back as a v3 store wrote it: 'dBm' for a power, and no v4 migration.
        _ = try Self.sql(
            path,
            "DROP TRIGGER measurement_powerStatus; UPDATE measurement SET powerStatus = 'dBm' WHERE powerStatus = 'ok';"
                + " DELETE FROM grdb_migrations WHERE identifier = 'v4';")
        #expect(try Self.sql(path, "SELECT count(*) FROM measurement WHERE powerStatus = 'dBm'") == "1")

        let reopened = try Store(path: path)
        let statuses = try Self.sql(path, "SELECT powerStatus FROM measurement ORDER BY seq")
        #expect(statuses.split(separator: "\n") == ["ok", "noLight", "overRange"])
        let unfinished = try #require(try await reopened.unfinished().first { $0.start.reportId == id })
        #expect(unfinished.steps.map(\.power) == [.dBm(-4.75), .noLight, .overRange])
    }

    @Test func recoveryStillReadsTheOldWordForAPower() async throws {
        // A store the migration could not touch (a copy restored by hand, say) is still read right.
        let path = temporaryDirectory() + "/ferrule.sqlite"
        let (store, id) = try await Self.storeWithARunningUnit(path)
        _ = try Self.sql(path, "DROP TRIGGER measurement_powerStatus; UPDATE measurement SET powerStatus = 'dBm' WHERE powerStatus = 'ok';")
        let unfinished = try #require(try await store.unfinished().first { $0.start.reportId == id })
        #expect(unfinished.steps.first?.power == .dBm(-4.75))
    }
}
