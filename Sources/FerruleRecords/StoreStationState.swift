import FerruleCore
import Foundation
import GRDB

/// What the store keeps for the station beside its units: cord matings, references and the
/// identities the instruments showed.
extension Store {
    // MARK: Cords

    /// Counts one mating of each cord (a unit loaded, a reference cord mated) and returns every
    /// cord's count after it, in one transaction.
    public func mate(_ ids: [String], at date: Date) async throws(StoreError) -> [String: Int] {
        try await transaction("count cord matings") { db in
            for id in ids {
                try db.execute(
                    sql: """
                        INSERT INTO cord (id, matings, since) VALUES (?, 1, ?) ON CONFLICT(id) DO UPDATE SET matings = matings + 1
                        """, arguments: [id, date.timeIntervalSince1970])
            }
            return try Self.cordCounts(db)
        }
    }

    /// A cord replaced or cleaned: its count starts again from zero.
    public func resetCord(_ id: String, at date: Date) async throws(StoreError) {
        try await transaction("reset the matings of \(id)") { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO cord (id, matings, since) VALUES (?, 0, ?)",
                arguments: [
                    id,
                    date.timeIntervalSince1970
                ])
        }
    }

    /// When each cord's count started (its first mating, or its last reset).
    public func cordsSince() async throws(StoreError) -> [String: Date] {
        try await readOnly("read when cord counts started") { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT id, since FROM cord").map {
                    ($0["id"] as String, Date(timeIntervalSince1970: $0["since"] as Double))
                },
                uniquingKeysWith: { a, _ in a })
        }
    }

    public func cordMatings() async throws(StoreError) -> [String: Int] {
        try await readOnly("read cord matings") { db in try Self.cordCounts(db) }
    }

    static func cordCounts(_ db: Database) throws -> [String: Int] {
        Dictionary(
            try Row.fetchAll(db, sql: "SELECT id, matings FROM cord").map { ($0["id"] as String, $0["matings"] as Int) },
            uniquingKeysWith: { a, _ in a })
    }

    // MARK: References and instruments

    public func save(_ reference: Reference) async throws(StoreError) {
        let data = (try? Self.json.encode(reference)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        try await transaction("record the reference of fixture \(reference.fixture)") { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO reference (fixture, takenAt, data) VALUES (?, ?, ?)",
                arguments: [reference.fixture, reference.takenAt.timeIntervalSince1970, data])
        }
    }

    /// Every reference a fixture has had, oldest first.
    public func references(fixture: Int) async throws(StoreError) -> [Reference] {
        try await readOnly("read references") { db in
            try String.fetchAll(db, sql: "SELECT data FROM reference WHERE fixture = ? ORDER BY takenAt", arguments: [fixture])
                .compactMap { try? UnitReport.decoder().decode(Reference.self, from: Data($0.utf8)) }
        }
    }

    public func saw(_ name: String, _ id: InstrumentIdentity, at date: Date) async throws(StoreError) {
        try await transaction("record the identity of \(name)") { db in
            try db.execute(
                sql: """
                    INSERT INTO instrument (name, manufacturer, model, serial, firmware, firstSeen, lastSeen) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET lastSeen = excluded.lastSeen
                    """,
                arguments: [name, id.manufacturer, id.model, id.serial, id.firmware, date.timeIntervalSince1970, date.timeIntervalSince1970]
            )
        }
    }

    /// Every identity an instrument has shown (a swapped meter or new firmware is a new row).
    public func identities(of name: String) async throws(StoreError) -> [InstrumentIdentity] {
        try await readOnly("read identities") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM instrument WHERE name = ? ORDER BY firstSeen", arguments: [name]).map {
                InstrumentIdentity(manufacturer: $0["manufacturer"], model: $0["model"], serial: $0["serial"], firmware: $0["firmware"])
            }
        }
    }
}
