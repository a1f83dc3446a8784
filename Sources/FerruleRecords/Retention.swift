import FerruleCore
import Foundation
import GRDB

/// How long a station keeps what (`station.retention`): a year of units is 500,000 records and
/// twice as many files, which no station disk should be left to fill.
public struct RetentionPolicy: Sendable, Hashable {
    /// Units that started longer ago than this leave the store once every sink has them; nil
    /// keeps them.
    public var storeDays: Double? = 90
    /// Report and certificate files older than this are removed from `reports/` once their unit
    /// has left the store (so never before `storeDays`); nil keeps them.
    public var reportFilesDays: Double? = 30
    /// Retired units go to the month's archive file (true) or are dropped (false).
    public var archive = true
    /// How often retention looks (the first look is at the start).
    public var every: Duration = .seconds(3600)

    public init() {}
}

/// What one retention pass did.
public struct RetentionPass: Sendable, Hashable {
    /// Units taken out of the store, into an archive month or (without archives) dropped.
    public var retired = 0
    public var archived: Bool
    /// The month files written to.
    public var months: Set<String> = []
    /// Units past the cut still in the store: some sink owes them, their files are not written
    /// yet, or they are running.
    public var kept = 0
    public var lineMessagesPruned = 0
}

extension Store {
    /// Takes out of the store every unit that started before `cutoff`, is finished, has its
    /// files, and that each of `sinks` has delivered (past its cursor, not parked, not queued
    /// again): first into its month's archive file (synced), then out of the store, in batches.
    /// A crash between the two leaves the unit in both, and the next pass finishes the move.
    /// Line messages before the cut that every one of `lineSinks` delivered are dropped too.
    public func retire(
        before cutoff: Date, sinks: [String], lineSinks: [String], archive keep: Bool, batch: Int = 500
    ) async throws(StoreError) -> RetentionPass {
        var pass = RetentionPass(archived: keep)
        let shelf = archive
        while true {
            let units = try await retiring(before: cutoff, sinks: sinks, limit: batch)
            if units.units.isEmpty { break }
            if keep {
                let byMonth = Dictionary(grouping: units.units) {
                    ArchiveShelf.month(of: Double.fromDatabaseValue($0["startedAt"] ?? .null) ?? 0)
                }
                for (month, rows) in byMonth {
                    var part = units
                    part.units = rows
                    do { try shelf.put(part, month: month) } catch {
                        throw StoreError(operation: "archive units", path: shelf.path(month: month), underlying: Self.words(error))
                    }
                    pass.months.insert(month)
                }
            }
            let ids = units.units.compactMap { String.fromDatabaseValue($0["reportId"] ?? .null) }
            let removed = try await remove(ids, sinks: sinks)
            pass.retired += removed
            // A short batch was the last; one the store kept whole (each unit owed again
            // meanwhile) would come back the same: stop, the next pass looks again.
            if units.units.count < batch || removed == 0 { break }
        }
        // An hour more for line messages: a unit's start waits on its WorkStarted by id.
        pass.lineMessagesPruned = try await pruneLineMessages(before: cutoff - 3600, sinks: lineSinks)
        pass.kept = try await readOnly("count kept units") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM unit WHERE startedAt < ?", arguments: [cutoff.timeIntervalSince1970]) ?? 0
        }
        return pass
    }

    /// The condition a unit `u` (joined with its outbox row `o`) meets when no sink owes it.
    /// `?` is the lowest cursor of the sinks.
    private static func owedByNone(_ sinks: [String]) -> String {
        let names = sinks.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ",")
        return """
            u.state != 'running' AND u.filesWritten = 1 AND o.seq <= ?
            AND NOT EXISTS (SELECT 1 FROM resend r WHERE r.reportId = u.reportId)
            AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.reportId = u.reportId AND d.state = 'parked' AND d.sink IN (\(names)))
            """
    }

    /// The lowest cursor over `sinks` (a sink that never delivered: 0); no sinks: no bound.
    private static func lowestCursor(_ sinks: [String], table: String, _ db: Database) throws -> Int64 {
        var lowest = Int64.max
        for sink in sinks {
            lowest = min(lowest, try Int64.fetchOne(db, sql: "SELECT seq FROM \(table) WHERE sink = ?", arguments: [sink]) ?? 0)
        }
        return lowest
    }

    private func retiring(before cutoff: Date, sinks: [String], limit: Int) async throws(StoreError) -> RetiringUnits {
        try await readOnly("find units to retire") { db in
            let lowest = try Self.lowestCursor(sinks, table: "sinkCursor", db)
            let sql = """
                SELECT u.reportId, u.serial, u.partNumber, u.fixture, u.operator, u.state, u.verdict, u.startedAt, u.finishedAt,
                       u.worstIlDb, u.attempt, u.previousReportId, u.report, u.warned
                FROM unit u INDEXED BY unit_newest JOIN outbox o ON o.reportId = u.reportId
                WHERE u.startedAt < ? AND \(Self.owedByNone(sinks)) ORDER BY u.startedAt LIMIT ?
                """
            var out = RetiringUnits()
            for row in try Row.fetchAll(db, sql: sql, arguments: [cutoff.timeIntervalSince1970, lowest, limit]) {
                let id: String = row["reportId"]
                out.units.append(RetiringUnits.record(row))
                out.failureCodes[id] = try String.fetchAll(db, sql: "SELECT code FROM failureReason WHERE reportId = ?", arguments: [id])
                out.deliveries[id] = try Row.fetchAll(db, sql: "SELECT * FROM delivery WHERE reportId = ?", arguments: [id])
                    .map(RetiringUnits.record)
            }
            return out
        }
    }

    /// Deletes the units that are still owed by no sink (a resend may have come meanwhile).
    private func remove(_ ids: [String], sinks: [String]) async throws(StoreError) -> Int {
        try await transaction("take retired units out of the store") { db in
            let lowest = try Self.lowestCursor(sinks, table: "sinkCursor", db)
            let still = try db.cachedStatement(
                sql: "SELECT 1 FROM unit u JOIN outbox o ON o.reportId = u.reportId WHERE u.reportId = ? AND \(Self.owedByNone(sinks))")
            var removed = 0
            for id in ids where try Bool.fetchOne(still, arguments: [id, lowest]) == true {
                for table in ["measurement", "failureReason", "outbox", "delivery", "unit"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE reportId = ?", arguments: [id])
                }
                removed += 1
            }
            return removed
        }
    }

    private func pruneLineMessages(before cutoff: Date, sinks: [String]) async throws(StoreError) -> Int {
        try await transaction("prune delivered line messages") { db in
            let lowest = try Self.lowestCursor(sinks, table: "lineMessageCursor", db)
            try db.execute(sql: "DELETE FROM lineMessage WHERE at < ? AND seq <= ?", arguments: [cutoff.timeIntervalSince1970, lowest])
            return db.changesCount
        }
    }

    /// Of `reportIds`, those the store still holds. Their report files stay: `ferruled store
    /// recover` rebuilds the store from them, so a file goes only once its unit is archived (a
    /// second copy) or dropped by the config.
    public func stillStored(_ reportIds: [UUID]) async throws(StoreError) -> Set<UUID> {
        try await readOnly("find stored units") { db in
            let stored = try db.cachedStatement(sql: "SELECT 1 FROM unit WHERE reportId = ?")
            return Set(try reportIds.filter { try Bool.fetchOne(stored, arguments: [$0.uuidString.lowercased()]) == true })
        }
    }
}
