import FerruleCore
import FerruleTesting
import Foundation
import GRDB
import Testing

@testable import FerruleRecords

/// A unit's records are kept deflated, a fraction of their JSON; a row an earlier version wrote
/// as text is still read.
@Suite struct StoredJSONTests {
    @Test func aStartIsKeptDeflatedAndATextOneFromBeforeIsStillRead() async throws {
        let path = temporaryDirectory() + "/ferrule.sqlite"
        let store = try Store(path: path)
        let start = try LineOutboxTests.start("PACK-1")
        try await store.begin(start)
        let id = start.reportId.uuidString.lowercased()
        let json = try Store.json.encode(start)
        let db = try DatabaseQueue(path: path)
        let (type, length) = try await db.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT typeof(start) AS t, length(start) AS n FROM unit WHERE reportId = ?",
                                                    arguments: [id]))
            return (row["t"] as String, row["n"] as Int)
        }
        #expect(type == "blob" && length < json.count, "\(type), \(length) bytes for \(json.count) of JSON")
        #expect(try await store.unfinished().first?.start.serial == "PACK-1")

        // The row as an earlier version wrote it: the JSON as text.
        try await db.write { db in
            try db.execute(sql: "UPDATE unit SET start = ? WHERE reportId = ?", arguments: [String(decoding: json, as: UTF8.self), id])
        }
        #expect(try await db.read { try String.fetchOne($0, sql: "SELECT typeof(start) FROM unit") } == "text")
        #expect(try await store.unfinished().first?.start.serial == "PACK-1")
    }

    @Test func whatIsNotJSONIsAnErrorNotACrash() throws {
        #expect(throws: (any Error).self) { _ = try StoredJSON.unpack(.init(value: Data([1, 2, 3]))!) }
        #expect(throws: DatabaseError.self) { _ = try StoredJSON.unpack(42.databaseValue) }
        #expect(try StoredJSON.unpack(.null) == nil)
    }
}
