import FerruleCore
import Foundation
import GRDB

/// One unit as history lists it. `attempt` counts the tests of the serial (1 = first pass);
/// `previousReportId` links a retest to the test before it.
/// Where a unit's record stands in the store: measuring, finished, or stopped by a stop or a crash.
public enum UnitRecordState: String, Sendable, Codable, Hashable, CaseIterable {
    case running, done, interrupted

    /// The state of a record that was committed (`interrupted`: by a stop or a crash).
    public init(committedInterrupted interrupted: Bool) { self = interrupted ? .interrupted : .done }

    /// The column's value; anything else is damage, reported as the store operation's error.
    static func read(_ row: Row) throws -> UnitRecordState {
        let text: String = row["state"]
        guard let state = UnitRecordState(rawValue: text) else {
            throw DatabaseError(message: "unit state '\(Escaped.text(text))' is not running, done or interrupted")
        }
        return state
    }
}

public struct HistoryEntry: Sendable, Codable, Hashable {
    public var reportId: UUID
    public var serial: String
    public var partNumber: String
    public var fixture: Int
    public var `operator`: String
    public var state: UnitRecordState
    public var verdict: Verdict?
    public var startedAt: Date
    public var finishedAt: Date?
    public var worstIlDb: Double?
    public var attempt: Int
    public var previousReportId: UUID?
    public var failureCodes: [String]
    /// The archive month file that holds the unit (`2026-01`) once retention took it out of the
    /// store; nil while the store holds it.
    public var archive: String?

    /// A `unit` row with its failure codes (`codes`, comma-separated).
    init(row: Row) throws {
        reportId = try row.reportId()
        serial = row["serial"]
        partNumber = row["partNumber"]
        fixture = row["fixture"]
        `operator` = row["operator"]
        state = try UnitRecordState.read(row)
        verdict = (row["verdict"] as String?).flatMap(Verdict.init(rawValue:))
        startedAt = Date(timeIntervalSince1970: row["startedAt"])
        finishedAt = (row["finishedAt"] as Double?).map(Date.init(timeIntervalSince1970:))
        worstIlDb = row["worstIlDb"]
        attempt = row["attempt"]
        previousReportId = (row["previousReportId"] as String?).flatMap(UUID.init(uuidString:))
        failureCodes = ((row["codes"] as String?) ?? "").split(separator: ",").map(String.init)
    }
}

/// Which units `history` returns: by serial, part, verdict, fixture and time, one page at a time.
public struct HistoryFilter: Sendable {
    public var serial: String?
    public var partNumber: String?
    public var verdict: Verdict?
    public var since: Date?
    public var until: Date?
    public var limit: Int
    /// Rows to skip (newest first): the page after `offset` rows.
    public var offset: Int = 0

    public init(
        serial: String? = nil, partNumber: String? = nil, verdict: Verdict? = nil, since: Date? = nil, until: Date? = nil,
        limit: Int = 50, offset: Int = 0
    ) {
        self.offset = offset
        self.serial = serial
        self.partNumber = partNumber
        self.verdict = verdict
        self.since = since
        self.until = until
        self.limit = limit
    }
}

extension HistoryFilter {
    /// Whether an entry read without the filter's conditions (from an archive) meets them.
    func admits(_ e: HistoryEntry) -> Bool {
        (partNumber.map { $0 == e.partNumber } ?? true) && (verdict.map { $0 == e.verdict } ?? true)
            && (since.map { e.startedAt >= $0 } ?? true) && (until.map { e.startedAt < $0 } ?? true)
    }
}

/// First-pass yield of one part number: of the serials first tested in the window, how many
/// passed at their first test, and how many pass at their latest.
public struct YieldRow: Sendable, Codable, Hashable {
    public var partNumber: String
    public var units: Int
    public var serials: Int
    public var firstPass: Int
    /// Of `firstPass`, those that passed with readings in the recipe's warning band.
    public var firstPassWithWarning: Int
    public var firstPassYield: Double?
    public var passedAtLast: Int
    public var finalYield: Double?
    public var retests: Int
}

/// One failure reason and how often it occurred, for a Pareto of a lot or a shift.
public struct ParetoRow: Sendable, Codable, Hashable {
    public var code: String
    public var units: Int
    public var share: Double
    public var cumulative: Double
}

extension Store {
    /// Units newest first. By serial, the archive months are read too (a retest a year later
    /// still finds its first test); a listing without a serial is the store's alone.
    public func history(_ f: HistoryFilter) async throws(StoreError) -> [HistoryEntry] {
        let stored = try await storedHistory(f)
        guard let serial = f.serial, stored.count < f.limit, f.offset == 0 else { return stored }
        let known = Set(stored.map(\.reportId))
        let archived: [HistoryEntry]
        do { archived = try archive.history(serial: serial, limit: f.limit) } catch {
            throw StoreError(operation: "read the archive", path: archive.directory, underlying: Self.words(error))
        }
        return Array((stored + archived.filter { !known.contains($0.reportId) }).filter(f.admits).prefix(f.limit))
    }

    private func storedHistory(_ f: HistoryFilter) async throws(StoreError) -> [HistoryEntry] {
        try await readOnly("read the history") { db in
            var w = Conditions()
            w.and("serial = ?", f.serial)
            w.and("partNumber = ?", f.partNumber)
            w.and("verdict = ?", f.verdict?.rawValue)
            w.and("startedAt >= ?", f.since?.timeIntervalSince1970)
            w.and("startedAt < ?", f.until?.timeIntervalSince1970)
            let sql = """
                SELECT u.*, (SELECT group_concat(code, ',') FROM failureReason r WHERE r.reportId = u.reportId) AS codes
                FROM unit u WHERE 1\(w.sql) ORDER BY startedAt DESC, reportId LIMIT ? OFFSET ?
                """
            let args = w.arguments + [max(0, f.limit), max(0, f.offset)]
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { try HistoryEntry(row: $0) }
        }
    }

    /// The yield per part number of the serials first tested in the window (Rollups.swift).
    public func yield(since: Date? = nil, until: Date? = nil) async throws(StoreError) -> [YieldRow] {
        try await readOnly("compute the yield") { db in try Rollups.yield(db, since: since, until: until) }
    }

    /// Failure reasons by how many units they stopped, most first, with the cumulative share.
    public func pareto(partNumber: String? = nil, since: Date? = nil, until: Date? = nil) async throws(StoreError) -> [ParetoRow] {
        try await readOnly("compute the Pareto") { db in
            let rows = try Rollups.failures(db, partNumber: partNumber, since: since, until: until)
                .filter { $0.value > 0 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            let total = Double(rows.reduce(0) { $0 + $1.value })
            var cumulative = 0.0
            return rows.map { code, n in
                cumulative += Double(n)
                return ParetoRow(code: code, units: n, share: Double(n) / total, cumulative: cumulative / total)
            }
        }
    }
}

/// A query's optional conditions: each is added, with its argument, only when its value is given.
struct Conditions {
    private(set) var sql = ""
    private(set) var arguments: [any DatabaseValueConvertible] = []

    mutating func and(_ clause: String, _ value: (any DatabaseValueConvertible)?) {
        guard let value else { return }
        sql += " AND " + clause
        arguments.append(value)
    }
}
