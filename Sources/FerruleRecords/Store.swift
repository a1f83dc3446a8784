import FerruleCore
import Foundation
import GRDB

/// What the store keeps about a unit from its first step, so that a unit cut short by a crash or
/// a power loss can still be reported with what was measured.
public struct UnitStart: Sendable, Codable {
    public var reportId: UUID
    public var serial: String
    public var partNumber: String
    public var fixture: Int
    public var operatorId: String
    public var startedAt: Date
    public var station: UnitReport.Station
    public var recipe: Recipe
    public var rules: DiagnosisRules
    public var instruments: [UnitReport.Instrument]
    public var references: [UnitReport.ReferenceUsed]
    public var cords: [UnitReport.CordUse]

    public init(
        reportId: UUID, serial: String, partNumber: String, fixture: Int, operatorId: String, startedAt: Date,
        station: UnitReport.Station, recipe: Recipe, rules: DiagnosisRules, instruments: [UnitReport.Instrument],
        references: [UnitReport.ReferenceUsed], cords: [UnitReport.CordUse]
    ) {
        self.reportId = reportId
        self.serial = serial
        self.partNumber = partNumber
        self.fixture = fixture
        self.operatorId = operatorId
        self.startedAt = startedAt
        self.station = station
        self.recipe = recipe
        self.rules = rules
        self.instruments = instruments
        self.references = references
        self.cords = cords
    }
}

/// A unit that was in progress when the process died: what it was and what had been measured.
public struct UnfinishedUnit: Sendable {
    public var start: UnitStart
    public var steps: [RawStep]
    public var observed: [Int: Int?]
}

/// Why the store could not take a record, in words for the operator.
public struct StoreError: Error, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var underlying: String
    public var description: String { "cannot \(operation) in \(path): \(underlying)" }
}

/// The station's durable record: SQLite through GRDB, in the data directory.
///
/// Units, their measurements (written fiber by fiber as they are measured), references,
/// instrument identities, and an outbox that the sinks follow with cursors of their own.
///
/// Durability: WAL journal. Each fiber is committed as it is measured without a sync
/// (`synchronous = NORMAL`); every other transaction, above all a unit's final record, commits
/// with one (`FULL`), which syncs the whole WAL and so every fiber written before it (the mark
/// that a unit's files are written is not synced either: see `markFilesWritten`). What that
/// may cost:
/// - a crash of the process (SIGKILL, a fault): the fibers not committed yet as it struck (the
///   engine writes a fiber while it measures the next: at most those two). A committed fiber is
///   in the WAL, which the kernel holds for the file, and a fiber is announced only once it is
///   committed: the unit comes back `interrupted` with every fiber a client was told of.
/// - a power loss or a kernel crash: the fibers of a unit in progress measured since the last
///   synced commit (its start), never a finished unit, never half a fiber. SQLite rolls back to
///   the last synced commit; the interrupted unit is retested either way.
/// A sync costs a few ms, one per fiber before; against the seconds an instrument takes per
/// fiber it is little, but it was most of the software's time (ferrule-bench, software).
public final class Store: Sendable {
    public let path: String
    let pool: DatabasePool
    /// The month files of units retention took out of the store (`archive/` beside it).
    public var archive: ArchiveShelf {
        ArchiveShelf(directory: ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("archive"))
    }

    public init(path: String) throws(StoreError) {
        self.path = path
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(Sync.full.rawValue)")
            // 16 MB of pages per connection instead of SQLite's 2 MB: a year's indexes stay in it.
            try db.execute(sql: "PRAGMA cache_size = -16384")
        }
        config.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: config)  // WAL mode
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError(operation: "open the results store", path: path, underlying: Self.words(error))
        }
    }

    static func words(_ error: any Error) -> String {
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_FULL: return "the disk is full (\(e.message ?? ""))"
            case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN:
                return "the data directory is read-only or not accessible (\(e.message ?? ""))"
            case .SQLITE_IOERR: return "disk I/O error (\(e.message ?? ""))"
            default: return e.message ?? "\(e)"
            }
        }
        return "\(error)"
    }

    static let json: JSONEncoder = {
        let e = UnitReport.encoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// How a commit reaches the disk (see the type's comment).
    enum Sync: String {
        /// Synced at commit: survives a power loss.
        case full = "FULL"
        /// Written to the WAL without a sync: survives a crash of the process; the next full
        /// commit syncs it.
        case normal = "NORMAL"

        var pragma: String { "PRAGMA synchronous = \(rawValue)" }
    }

    /// A write transaction that runs to its end even if the calling task is cancelled: an
    /// aborted unit (its task cancelled) must still be recorded. It is handed to the writer's
    /// queue as it is (no task of its own, no cancellation check), and the caller resumes when it
    /// has committed.
    func transaction<T: Sendable>(
        _ operation: String, sync: Sync = .full, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> T {
        let outcome: Result<T, any Error> = await withCheckedContinuation { done in
            pool.asyncWriteWithoutTransaction { db in
                done.resume(
                    returning: Result {
                        // Per commit, on the one writer connection; it reads nothing from the disk.
                        try db.cachedStatement(sql: sync.pragma).execute()
                        var result: T?
                        try db.inTransaction {
                            result = try body(db)
                            return .commit
                        }
                        return result!
                    })
            }
        }
        do { return try outcome.get() } catch { throw StoreError(operation: operation, path: path, underlying: Self.words(error)) }
    }

    func readOnly<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError(operation: operation, path: path, underlying: Self.words(error))
        }
    }

    // MARK: Units

    /// Records that a unit starts; its retest number and the unit it retests are found by serial.
    public func begin(_ start: UnitStart) async throws(StoreError) {
        let data = try? StoredJSON.pack(Self.json.encode(start))
        guard let data else { throw StoreError(operation: "record the unit start", path: path, underlying: "the recipe cannot be encoded") }
        let archive = archive
        try await transaction("record the start of \(start.serial)") { db in
            var previous = try Row.fetchOne(
                db, sql: "SELECT reportId, attempt FROM unit WHERE serial = ? ORDER BY startedAt DESC LIMIT 1",
                arguments: [start.serial])
            if previous == nil, let last = try archive.history(serial: start.serial, limit: 1).first {
                previous = ["reportId": last.reportId.uuidString.lowercased(), "attempt": last.attempt]  // tested before the archive's cut
            }
            try db.execute(
                sql: """
                    INSERT INTO unit (reportId, serial, partNumber, fixture, operator, state, startedAt, attempt, previousReportId, start)
                    VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)
                    """,
                arguments: [
                    start.reportId.uuidString.lowercased(), start.serial, start.partNumber, start.fixture, start.operatorId,
                    start.startedAt.timeIntervalSince1970, ((previous?["attempt"] as Int?) ?? 0) + 1,
                    previous?["reportId"] as String?, data
                ])
            // The line hears of the start now, before any light, not with the unit's report.
            try Self.insert(CFXUnitMessages.workStartedMessage(start), db)
        }
    }

    /// Records one fiber's steps as soon as they are measured (one transaction per fiber).
    public func record(reportId: UUID, fiber: Int, arrival: Int?, steps: [RawStep]) async throws(StoreError) {
        try await transaction("record fiber \(fiber)", sync: .normal) { db in
            let id = reportId.uuidString.lowercased()
            let last = try db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM measurement WHERE reportId = ?")
            var seq = try Int.fetchOne(last, arguments: [id]) ?? 0
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO measurement (reportId, seq, fiber, wavelengthNm, expectedReceivePosition, receivePosition, arrival,
                                             referenceDbm, referenceCord, powerStatus, powerDbm, rlDb, rlBDb, fault)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for s in steps {
                seq += 1
                let (status, dbm) = (s.power?.status.rawValue, s.power?.dBmValue)
                try insert.execute(
                    arguments: [
                        id, seq, s.fiber, s.wavelengthNm, s.expectedReceivePosition, s.receivePosition, arrival,
                        s.referenceDbm, s.referenceCord, status, dbm, s.rlDb, s.rlBDb, s.fault
                    ])
            }
        }
    }

    /// The unit is done: its record, its failure reasons and its outbox entry in one transaction.
    /// Only after this returns does the unit count as finished.
    /// Records a unit's final report. `whileRunning`: only if the unit is still recorded as
    /// running, so that a unit kept in the spill file is stored once however often it is offered
    /// (returns false when it was stored already).
    @discardableResult
    public func commit(_ report: UnitReport, interrupted: Bool = false, whileRunning: Bool = false) async throws(StoreError) -> Bool {
        let data: Data
        do { data = try StoredJSON.pack(try Self.json.encode(report)) } catch {
            throw StoreError(
                operation: "record the report of \(report.unit.serial)", path: path, underlying: "the report cannot be encoded: \(error)")
        }
        return try await transaction("record the report of \(report.unit.serial)") { db in
            let id = report.reportId.uuidString.lowercased()
            let rollups = try RollupChange(db, reportId: id, serial: report.unit.serial, partNumber: report.unit.partNumber)
            try db.execute(
                sql: """
                    UPDATE unit SET state = ?, verdict = ?, finishedAt = ?, worstIlDb = ?, report = ?, filesWritten = 0, warned = ?,
                                    readings = ?
                    WHERE reportId = ? AND (? = 0 OR state = 'running')
                    """,
                arguments: [
                    UnitRecordState(committedInterrupted: interrupted).rawValue, report.verdict.rawValue,
                    report.finishedAt.timeIntervalSince1970,
                    report.summary.worstIlDb, data, !(report.warnings ?? []).isEmpty, ReadingsColumn.pack(report.measurements), id,
                    whileRunning
                ])
            guard db.changesCount == 1 else {
                let started = try Bool.fetchOne(db, sql: "SELECT 1 FROM unit WHERE reportId = ?", arguments: [id]) ?? false
                if whileRunning && started { return false }
                throw StoreError(operation: "record", path: "", underlying: "no unit \(id) was started")
            }
            // The report holds every reading and everything the start record held: the raw steps
            // and the start, kept to rebuild a unit cut short, are not kept twice.
            try db.execute(sql: "DELETE FROM measurement WHERE reportId = ?", arguments: [id])
            try db.execute(sql: "UPDATE unit SET start = x'' WHERE reportId = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM failureReason WHERE reportId = ?", arguments: [id])
            for code in Self.failureCodes(report) {
                try db.execute(sql: "INSERT INTO failureReason (reportId, code) VALUES (?, ?)", arguments: [id, code])
            }
            try db.execute(sql: "INSERT OR IGNORE INTO outbox (reportId) VALUES (?)", arguments: [id])
            try rollups.apply(db)
            return true
        }
    }

    /// What a unit failed on, for the Pareto: its diagnoses, else the kind of its first reason.
    static func failureCodes(_ r: UnitReport) -> [String] {
        guard r.verdict != .pass else { return [] }
        if !r.diagnoses.isEmpty { return Array(Set(r.diagnoses.map(\.code.rawValue))).sorted() }
        switch r.verdict {
        case .error: return [r.reasons.first.map { $0.hasPrefix("instrument fault") ? "instrumentFault" : "error" } ?? "error"]
        case .aborted: return ["aborted"]
        case .interrupted: return ["interrupted"]
        default:
            if r.fibers.contains(where: { $0.reasons.contains { $0.hasPrefix("light arrives") } }) { return ["polarity"] }
            if r.measurements.contains(where: { m in m.verdict == .fail && (m.ilMarginDb ?? -1) >= 0 && (m.rlMarginDb ?? 0) < 0 }) {
                return ["returnLoss"]
            }
            return ["insertionLoss"]
        }
    }

    /// Units that were running when the process stopped, with what they had measured.
    public func unfinished() async throws(StoreError) -> [UnfinishedUnit] {
        try await readOnly("read unfinished units") { db in
            let decoder = UnitReport.decoder()
            return try Row.fetchAll(db, sql: "SELECT reportId, start FROM unit WHERE state = 'running' ORDER BY startedAt").map { row in
                let start = try decoder.decode(UnitStart.self, from: try StoredJSON.unpack(row["start"]) ?? Data())
                var steps: [RawStep] = []
                var observed: [Int: Int?] = [:]
                for m in try Row.fetchAll(
                    db, sql: "SELECT * FROM measurement WHERE reportId = ? ORDER BY seq", arguments: [row["reportId"] as String])
                {
                    // "dBm" is how stores before the v4 migration named a power that was read.
                    let status = (m["powerStatus"] as String?).flatMap { $0 == "dBm" ? .ok : PowerStatus(rawValue: $0) }
                    let power = status.flatMap { PowerReading(status: $0, dBm: m["powerDbm"]) }
                    steps.append(
                        RawStep(
                            fiber: m["fiber"], wavelengthNm: m["wavelengthNm"], expectedReceivePosition: m["expectedReceivePosition"],
                            receivePosition: m["receivePosition"], referenceDbm: m["referenceDbm"],
                            referenceCord: m["referenceCord"],
                            power: power, rlDb: m["rlDb"], rlBDb: m["rlBDb"], fault: m["fault"]))
                    observed[m["fiber"]] = .some(m["arrival"] as Int?)
                }
                return UnfinishedUnit(start: start, steps: steps, observed: observed)
            }
        }
    }

    /// The stored record of a unit, from the store or else its archive month.
    public func report(_ reportId: UUID) async throws(StoreError) -> UnitReport? {
        let json = try await readOnly("read a report") { db in
            let sql = "SELECT report FROM unit WHERE reportId = ?"
            return try StoredJSON.unpack(try DatabaseValue.fetchOne(db, sql: sql, arguments: [reportId.uuidString.lowercased()]) ?? .null)
        }
        if let json { return try? UnitReport.decoder().decode(UnitReport.self, from: json) }
        do { return try archive.report(reportId) } catch {
            throw StoreError(operation: "read the archive", path: archive.directory, underlying: Self.words(error))
        }
    }

    /// Units whose files (report, certificate) are not yet written in the data directory.
    public func unitsWithoutFiles() async throws(StoreError) -> [UUID] {
        try await readOnly("list reports to write") { db in
            try String.fetchAll(db, sql: "SELECT reportId FROM unit WHERE report IS NOT NULL AND filesWritten = 0").compactMap {
                UUID(uuidString: $0)
            }
        }
    }

    /// Not synced: the files themselves were synced before this is written, and a mark lost to a
    /// power loss only makes the next start write the same files again.
    public func markFilesWritten(_ reportId: UUID) async throws(StoreError) {
        try await transaction("mark the files written", sync: .normal) { db in
            try db.execute(sql: "UPDATE unit SET filesWritten = 1 WHERE reportId = ?", arguments: [reportId.uuidString.lowercased()])
        }
    }

    /// A small write that tells whether the store takes writes again (after a full disk).
    public func touch(_ date: Date) async throws(StoreError) {
        try await transaction("write to the store") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('lastWrite', ?)", arguments: [iso(date)])
        }
    }

    /// Caps the database at `pages` pages (nil: SQLite's own limit). A write that would grow it
    /// past the cap fails as if the disk were full: how the tests fill the disk.
    public func limitSize(pages: Int?) async {
        let n = pages ?? 1_073_741_823
        _ = try? await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(n)") }
        // Every pooled reader/writer connection shares the one writer; readers never grow the file.
    }

    /// Makes the store refuse writes as a read-only file system would (SQLITE_READONLY), or
    /// takes them again: how the tests make the data directory read-only (root ignores chmod).
    public func refuseWrites(_ refuse: Bool) async {
        _ = try? await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = \(refuse ? 1 : 0)") }
    }

    public func pageCount() async throws(StoreError) -> Int {
        try await readOnly("count pages") { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
    }

    /// Bytes on disk (database and WAL).
    public func sizeOnDisk() -> Int {
        [path, path + "-wal", path + "-shm"].reduce(0) { sum, p in
            sum + (((try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? Int) ?? 0)
        }
    }

    /// Moves the WAL into the database file (for size figures and before backups).
    public func checkpoint() async {
        _ = try? await pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }
}
