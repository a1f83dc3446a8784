import FerruleCore
import Foundation
import GRDB

/// Where units go when retention takes them out of the store: one SQLite file a month
/// (`archive/2026-01.sqlite` beside the store, by the month the unit started, UTC) holding each
/// unit's row with its compressed report, its failure reasons and where each sink delivered it.
/// Raw steps and the start record stay behind: a finished unit's report holds every reading, so
/// the certificate is rendered again from it. `history --serial` and `report` read these files.
public struct ArchiveShelf: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The month files, newest first.
    public func months() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { Self.isMonthFile($0) }.map { String($0.dropLast(".sqlite".count)) }.sorted(by: >)
    }

    static func isMonthFile(_ name: String) -> Bool {
        name.count == "2026-01.sqlite".count && name.hasSuffix(".sqlite") && name.first?.isNumber == true
    }

    func path(month: String) -> String { (directory as NSString).appendingPathComponent(month + ".sqlite") }

    /// The month a unit's archive file is named by.
    static func month(of startedAt: Double) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: Date(timeIntervalSince1970: startedAt))
        return String(format: "%04d-%02d", c.year ?? 0, c.month ?? 0)
    }

    /// Opens one month's file; `create`: made (with its tables) when missing.
    func open(month: String, create: Bool) throws -> DatabaseQueue? {
        let file = path(month: month)
        guard create || FileManager.default.fileExists(atPath: file) else { return nil }
        var config = Configuration()
        config.readonly = !create
        config.busyMode = .timeout(10)
        if create {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        let queue = try DatabaseQueue(path: file, configuration: config)
        if create { try queue.write { db in try db.execute(sql: Self.schema) } }
        return queue
    }

    /// The month file's tables: the store's own columns for what it keeps.
    static let schema = """
        CREATE TABLE IF NOT EXISTS unit (
            reportId TEXT PRIMARY KEY, serial TEXT NOT NULL, partNumber TEXT NOT NULL, fixture INTEGER NOT NULL,
            operator TEXT NOT NULL, state TEXT NOT NULL, verdict TEXT, startedAt REAL NOT NULL, finishedAt REAL,
            worstIlDb REAL, attempt INTEGER NOT NULL, previousReportId TEXT, report BLOB, warned INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS unit_serial ON unit(serial, startedAt);
        CREATE TABLE IF NOT EXISTS failureReason (reportId TEXT NOT NULL, code TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS failureReason_unit ON failureReason(reportId);
        CREATE TABLE IF NOT EXISTS delivery (
            sink TEXT NOT NULL, reportId TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, detail TEXT, at REAL NOT NULL,
            PRIMARY KEY (sink, reportId)
        );
        """

    static let unitColumns =
        "reportId, serial, partNumber, fixture, operator, state, verdict, startedAt, finishedAt, worstIlDb, attempt, previousReportId, "
        + "report, warned"

    /// Writes units read from the store into their month's file, synced, in one transaction;
    /// again with the same units changes nothing (a crash before the store let go of them).
    func put(_ units: RetiringUnits, month: String) throws {
        guard let queue = try open(month: month, create: true) else { return }
        try queue.write { db in
            let columns = Self.unitColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for row in units.units {
                let id = String.fromDatabaseValue(row["reportId"] ?? .null) ?? ""
                try db.execute(
                    sql: "INSERT OR REPLACE INTO unit (\(Self.unitColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: StatementArguments(columns.map { row[$0] ?? .null }))
                try db.execute(sql: "DELETE FROM failureReason WHERE reportId = ?", arguments: [id])
                for code in units.failureCodes[id] ?? [] {
                    try db.execute(sql: "INSERT INTO failureReason (reportId, code) VALUES (?, ?)", arguments: [id, code])
                }
                for d in units.deliveries[id] ?? [] {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO delivery (sink, reportId, state, attempts, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: StatementArguments(["sink", "reportId", "state", "attempts", "detail", "at"].map { d[$0] ?? .null }))
                }
            }
        }
        try queue.close()
    }

    /// Every archived test of `serial`, newest first (a unit found in no month: none).
    public func history(serial: String, limit: Int) throws -> [HistoryEntry] {
        try rows(sql: "WHERE u.serial = ?", arguments: [serial], limit: limit)
    }

    /// Every archived unit, newest first (for an audit or a test; a year is one row per unit).
    public func all(limit: Int) throws -> [HistoryEntry] { try rows(sql: "", arguments: [], limit: limit) }

    private func rows(sql condition: String, arguments: [any DatabaseValueConvertible], limit: Int) throws -> [HistoryEntry] {
        var out: [HistoryEntry] = []
        for month in months() where out.count < limit {
            guard let queue = try open(month: month, create: false) else { continue }
            let sql = """
                SELECT u.*, (SELECT group_concat(code, ',') FROM failureReason r WHERE r.reportId = u.reportId) AS codes
                FROM unit u \(condition) ORDER BY startedAt DESC, reportId LIMIT ?
                """
            let found = try queue.read { db in
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments + [limit - out.count])).map {
                    var e = try HistoryEntry(row: $0)
                    e.archive = month
                    return e
                }
            }
            out += found
            try queue.close()
        }
        return out
    }

    /// An archived unit's report, if one month holds it.
    public func report(_ reportId: UUID) throws -> UnitReport? {
        try firstMonth(holding: reportId) { db, id in
            let stored = try DatabaseValue.fetchOne(db, sql: "SELECT report FROM unit WHERE reportId = ?", arguments: [id])
            return try StoredJSON.unpack(stored ?? .null)
                .flatMap { try UnitReport.decoder().decode(UnitReport.self, from: $0) }
        }
    }

    /// Where each sink had delivered an archived unit.
    public func deliveries(of reportId: UUID) throws -> [DeliveryRecord]? {
        try firstMonth(holding: reportId) { db, id in
            try Row.fetchAll(db, sql: "SELECT sink, state, detail FROM delivery WHERE reportId = ? ORDER BY sink", arguments: [id])
                .compactMap { row in
                    DeliveryState(rawValue: row["state"]).map { DeliveryRecord(sink: row["sink"], state: $0, detail: row["detail"]) }
                }
        }
    }

    private func firstMonth<T>(holding reportId: UUID, _ read: @escaping @Sendable (Database, String) throws -> T?) throws -> T? {
        let id = reportId.uuidString.lowercased()
        for month in months() {
            guard let queue = try open(month: month, create: false) else { continue }
            defer { try? queue.close() }
            let found = try queue.read { db -> T? in
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM unit WHERE reportId = ?", arguments: [id]) == true else { return nil }
                return try read(db, id)
            }
            if let found { return found }
        }
        return nil
    }
}

/// Units read from the store on their way to an archive: their rows, failure codes and deliveries.
struct RetiringUnits: Sendable {
    typealias Record = [String: DatabaseValue]
    var units: [Record] = []
    var failureCodes: [String: [String]] = [:]
    var deliveries: [String: [Record]] = [:]

    static func record(_ row: Row) -> Record { Dictionary(uniqueKeysWithValues: row.columnNames.map { ($0, row[$0] as DatabaseValue) }) }
}
