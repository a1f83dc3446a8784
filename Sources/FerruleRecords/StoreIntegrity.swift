import FerruleCore
import Foundation
import GRDB
import Synchronization

/// What a look at the store file found, before anything opens it for writing.
public struct StoreHealth: Sendable, CustomStringConvertible {
    /// What was found: nothing, a usable store, or a damaged one.
    public enum State: Sendable, Equatable {
        /// No file yet: a new station.
        case absent
        case ok
        /// SQLite's own words on what is wrong (the first lines of `quick_check`, or why it
        /// cannot be opened at all).
        case damaged(String)
    }

    public var path: String
    public var state: State
    /// Units the store holds (0 when absent or damaged).
    public var units: Int
    public var sizeBytes: Int
    /// How far it looked: every page (`quick_check`), or the pages a start needs (`quickLook`).
    public var method: Method = .quickCheck

    public enum Method: String, Sendable {
        case quickCheck = "quick_check"
        case quickLook = "the schema, the file's length and the newest rows of every table"
    }

    public var description: String {
        switch state {
        case .absent: return "\(path): no store yet"
        case .ok: return "\(path): ok (\(method.rawValue)), \(units) unit(s), \(sizeBytes) bytes"
        case .damaged(let why): return "\(path): DAMAGED: \(why)"
        }
    }
}

extension Store {
    /// Opens the file read-only and runs SQLite's `quick_check` (every page and index entry is
    /// read: a few seconds for a year of units). Never writes the database; the caller holds
    /// the data directory's lock, so no station is writing it either.
    public static func check(path: String) -> StoreHealth {
        check(path: path) { _ in }
    }

    /// `check`, handing the open connection to `opened` first (to interrupt it from elsewhere).
    public static func check(path: String, opened: (DatabaseQueue) -> Void) -> StoreHealth {
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        guard FileManager.default.fileExists(atPath: path) else { return StoreHealth(path: path, state: .absent, units: 0, sizeBytes: 0) }
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            opened(queue)
            return try queue.read { db in
                let problems = try String.fetchAll(db, sql: "PRAGMA quick_check(10)")
                guard problems == ["ok"] else {
                    return StoreHealth(path: path, state: .damaged("quick_check: " + problems.joined(separator: "; ")), units: 0,
                                       sizeBytes: size)
                }
                let hasUnits = try Bool.fetchOne(db, sql: "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'unit'")
                let units = hasUnits == true ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM unit") ?? 0 : 0
                return StoreHealth(path: path, state: .ok, units: units, sizeBytes: size)
            }
        } catch {
            return StoreHealth(path: path, state: .damaged(words(error)), units: 0, sizeBytes: size)
        }
    }

    /// What a start looks at, in a time that does not grow with the store: the header and schema,
    /// whether the file is as long as SQLite says it is (a truncated file), and the newest rows of
    /// every table, which sit in the pages written last (where a crash or a full disk leaves its
    /// damage). Damage deep in old pages is left to `check`, which the station runs in the
    /// background (`StoreCheckService`). Read-only; never writes the database.
    public static func quickLook(path: String, rowsPerTable: Int = 64) -> StoreHealth {
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        guard FileManager.default.fileExists(atPath: path) else { return StoreHealth(path: path, state: .absent, units: 0, sizeBytes: 0) }
        var config = Configuration()
        config.readonly = true
        func health(_ state: StoreHealth.State, units: Int = 0) -> StoreHealth {
            StoreHealth(path: path, state: state, units: units, sizeBytes: size, method: .quickLook)
        }
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            return try queue.read { db in
                let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                // The WAL may hold pages past the main file's end; without one, the file must hold them all.
                let wal = ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int) ?? 0
                if wal == 0, size < pageSize * pages {
                    return health(.damaged("the file is \(size) bytes, SQLite counts \(pages) pages of \(pageSize): it was truncated"))
                }
                let tables = try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                for table in tables {
                    _ = try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\" ORDER BY rowid DESC LIMIT \(rowsPerTable)")
                }
                guard tables.contains("unit") else { return health(.ok) }
                // The newest unit's row number: as many units as were ever stored, read without a scan.
                return health(.ok, units: try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(rowid), 0) FROM unit") ?? 0)
            }
        } catch {
            return health(.damaged(words(error)))
        }
    }

    /// What `recover` did.
    public struct Recovery: Sendable {
        /// Where the damaged files went (never deleted).
        public var movedAside: [String]
        public var restored: Int
        /// Report files that could not be restored, with why.
        public var skipped: [String]
    }

    /// Moves the store (and its WAL and shared-memory files) aside, builds a new one and
    /// restores every unit from its JSON report. Delivery state is unknown after this, so every
    /// unit goes into the outbox again and each sink delivers it again (they are idempotent by
    /// report id). Cord matings are restored from the highest count a report recorded.
    public static func recover(path: String, reportFiles: [String], at date: Date) async throws(StoreError) -> Recovery {
        let stamp = ISO8601DateFormatter.string(from: date, timeZone: .gmt, formatOptions: [.withYear, .withMonth, .withDay, .withTime])
        var moved: [String] = []
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            let aside = "\(path).damaged-\(stamp)Z\(suffix)"
            do { try FileManager.default.moveItem(atPath: path + suffix, toPath: aside) } catch {
                throw StoreError(operation: "move the damaged store aside", path: path + suffix, underlying: "\(error)")
            }
            moved.append(aside)
        }
        let store = try Store(path: path)
        var reports: [(UnitReport, String)] = [], skipped: [String] = []
        for file in reportFiles {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                reports.append((try UnitReport.decoder().decode(UnitReport.self, from: data), file))
            } catch {
                skipped.append("\(file): not a readable report (\(error))")
            }
        }
        var restored = 0
        for (report, file) in reports.sorted(by: { $0.0.startedAt < $1.0.startedAt }) {
            let certificate = String(file.dropLast(5)) + ".html"
            if try await store.restore(report, filesWritten: FileManager.default.fileExists(atPath: certificate)) {
                restored += 1
            } else {
                skipped.append("\(file): report \(report.reportId) restored already from another file")
            }
        }
        try await store.restoreCordMatings(from: reports.map(\.0))
        return Recovery(movedAside: moved, restored: restored, skipped: skipped)
    }

    /// One unit from its report, as `commit` would have stored it; false if the report id is
    /// there already.
    func restore(_ report: UnitReport, filesWritten: Bool) async throws(StoreError) -> Bool {
        // `start` only serves a unit still running at a crash; a restored unit has ended, and
        // its report does not carry the whole recipe that a start record holds.
        let startText = #"{"restoredFromReport":true}"#
        guard let reportText = try? StoredJSON.pack(Self.json.encode(report)) else {
            throw StoreError(operation: "restore \(report.unit.serial)", path: path, underlying: "the report cannot be encoded")
        }
        return try await transaction("restore \(report.unit.serial)") { db in
            let id = report.reportId.uuidString.lowercased()
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM unit WHERE reportId = ?", arguments: [id]) == 0 else { return false }
            let previous = try Row.fetchOne(db, sql: "SELECT reportId, attempt FROM unit WHERE serial = ? ORDER BY startedAt DESC LIMIT 1",
                                            arguments: [report.unit.serial])
            let rollups = try RollupChange(db, reportId: id, serial: report.unit.serial, partNumber: report.unit.partNumber)
            try db.execute(sql: """
                INSERT INTO unit (reportId, serial, partNumber, fixture, operator, state, verdict, startedAt, finishedAt, worstIlDb,
                                  attempt, previousReportId, start, report, filesWritten, warned, readings)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, report.unit.serial, report.unit.partNumber, report.fixture, report.operator,
                                 UnitRecordState(committedInterrupted: report.verdict == .interrupted).rawValue, report.verdict.rawValue,
                                 report.startedAt.timeIntervalSince1970, report.finishedAt.timeIntervalSince1970,
                                 report.summary.worstIlDb, ((previous?["attempt"] as Int?) ?? 0) + 1,
                                 previous?["reportId"] as String?, startText, reportText, filesWritten ? 1 : 0,
                                 !(report.warnings ?? []).isEmpty, ReadingsColumn.pack(report.measurements)])
            for code in Self.failureCodes(report) {
                try db.execute(sql: "INSERT INTO failureReason (reportId, code) VALUES (?, ?)", arguments: [id, code])
            }
            // Its WorkStarted too: the line may not have heard of the unit before the store was lost.
            try Self.insert(
                CFXUnitMessages.workStartedMessage(
                    reportId: report.reportId, serial: report.unit.serial, fixture: report.fixture, at: report.startedAt), db)
            try db.execute(sql: "INSERT OR IGNORE INTO outbox (reportId) VALUES (?)", arguments: [id])
            try rollups.apply(db)
            return true
        }
    }

    func restoreCordMatings(from reports: [UnitReport]) async throws(StoreError) {
        // The highest count any report recorded, counted since the first report that names it.
        var latest: [String: (Int, Date)] = [:]
        for r in reports {
            for c in r.cords {
                let (matings, since) = latest[c.id] ?? (c.matings, r.startedAt)
                latest[c.id] = (max(matings, c.matings), min(since, r.startedAt))
            }
        }
        let counts = latest
        try await transaction("restore cord matings") { db in
            for (id, (matings, since)) in counts {
                try db.execute(sql: "INSERT OR REPLACE INTO cord (id, matings, since) VALUES (?, ?, ?)",
                               arguments: [id, matings, since.timeIntervalSince1970])
            }
        }
    }
}

extension Store {
    /// `check` on a thread of its own at a lower CPU priority (nice 10): on a year's store it reads
    /// every page for minutes, and the instruments' threads come first. One read-only connection,
    /// so the station goes on writing (WAL) meanwhile. Nil when the task was cancelled (shutdown):
    /// the check is interrupted rather than left running.
    public static func checkInBackground(path: String) async -> StoreHealth? {
        let handle = BackgroundCheck()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<StoreHealth?, Never>) in
                let thread = Thread {
                    // On Linux the nice value is per thread, and 0 names the calling one.
                    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
                    let health = check(path: path) { handle.opened($0) }
                    c.resume(returning: handle.interrupted.load(ordering: .acquiring) ? nil : health)
                }
                thread.name = "ferrule-store-check"
                thread.start()
            }
        } onCancel: {
            handle.interrupt()
        }
    }
}

/// The connection of a background check, to interrupt it from the cancelling task.
private final class BackgroundCheck: Sendable {
    let interrupted = Atomic<Bool>(false)
    private let queue = Mutex<DatabaseQueue?>(nil)

    func opened(_ q: DatabaseQueue) {
        queue.withLock { $0 = q }
        if interrupted.load(ordering: .acquiring) { q.interrupt() }
    }

    func interrupt() {
        interrupted.store(true, ordering: .releasing)
        queue.withLock { $0?.interrupt() }
    }
}
