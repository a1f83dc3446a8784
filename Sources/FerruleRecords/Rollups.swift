import FerruleCore
import Foundation
import GRDB

// The yield and the Pareto per UTC day and part number (tables `yieldDay` and `failureDay`),
// kept in the transaction that commits each unit, so that a window of months reads a row a day
// instead of every unit in it (the yield over 30 days of a year's store took 561 ms from the
// units, ferrule-bench --only scale). A window's whole days come from these tables and its
// partial first and last days from the units, so any window answers exactly as the units do.
// Retention never touches them: the yield of a month whose units were archived stays.

/// A window cut into the whole UTC days the roll-ups answer and the partial days at its ends,
/// read from the units (`edges`, in seconds since 1970).
struct DayWindow {
    static let day = 86_400.0
    /// Whole days, as days since 1970; nil when the window holds none.
    var days: Range<Int>?
    var edges: [(since: Double?, until: Double?)] = []

    init(since: Date?, until: Date?) {
        let (s, u) = (since?.timeIntervalSince1970, until?.timeIntervalSince1970)
        let first = s.map { Int(($0 / Self.day).rounded(.up)) } ?? Int.min
        let end = u.map { Int(($0 / Self.day).rounded(.down)) } ?? Int.max
        guard first < end else {
            edges = [(s, u)]
            return
        }
        days = first..<end
        if let s, s < Double(first) * Self.day { edges.append((s, Double(first) * Self.day)) }
        if let u, Double(end) * Self.day < u { edges.append((Double(end) * Self.day, u)) }
    }

    static func day(of startedAt: Double) -> Int { Int((startedAt / day).rounded(.down)) }
}

/// What a window's yield sums per part number (the columns both the roll-up and the units give).
struct YieldSums {
    var serials = 0, firstPass = 0, firstPassWarned = 0, passedAtLast = 0, units = 0, retests = 0

    init() {}

    init(row: Row) {
        (serials, firstPass, firstPassWarned) = (row["serials"], row["firstPass"], row["firstPassWarned"])
        (passedAtLast, units, retests) = (row["passedAtLast"], row["units"], row["retests"])
    }

    static func + (a: YieldSums, b: YieldSums) -> YieldSums {
        var s = a
        s.serials += b.serials
        s.firstPass += b.firstPass
        s.firstPassWarned += b.firstPassWarned
        s.passedAtLast += b.passedAtLast
        s.units += b.units
        s.retests += b.retests
        return s
    }

    func row(partNumber: String) -> YieldRow {
        YieldRow(
            partNumber: partNumber, units: units, serials: serials, firstPass: firstPass, firstPassWithWarning: firstPassWarned,
            firstPassYield: serials > 0 ? Double(firstPass) / Double(serials) : nil, passedAtLast: passedAtLast,
            finalYield: serials > 0 ? Double(passedAtLast) / Double(serials) : nil, retests: retests)
    }
}

enum Rollups {
    static let createTables = """
        CREATE TABLE yieldDay (
            day INTEGER NOT NULL, partNumber TEXT NOT NULL, serials INTEGER NOT NULL, firstPass INTEGER NOT NULL,
            firstPassWarned INTEGER NOT NULL, passedAtLast INTEGER NOT NULL, units INTEGER NOT NULL, retests INTEGER NOT NULL,
            PRIMARY KEY (day, partNumber));
        CREATE TABLE failureDay (
            day INTEGER NOT NULL, partNumber TEXT NOT NULL, code TEXT NOT NULL, units INTEGER NOT NULL,
            PRIMARY KEY (day, partNumber, code));
        """

    /// Per serial first tested in the units' window: its first verdict, how many finished tests
    /// it had (of that part) and its latest verdict (read through the serial's index). `+u.partNumber`
    /// keeps SQLite from joining through the part's index, which reads every unit of the part for
    /// each serial. `conditions` filter the first tests (alias `f`).
    static func perSerialSQL(_ conditions: String, indexed: Bool) -> String {
        """
        WITH firsts AS (
            SELECT f.serial, f.partNumber, f.verdict, f.warned, f.startedAt FROM unit f\(indexed ? " INDEXED BY unit_newest" : "")
            WHERE f.attempt = 1 AND f.state != 'running'\(conditions)
        ), perSerial AS (
            SELECT f.partNumber AS partNumber, MIN(f.startedAt) AS firstAt, f.verdict AS firstVerdict, f.warned AS firstWarned,
                   COUNT(*) AS tests,
                   (SELECT l.verdict FROM unit l WHERE l.serial = f.serial AND l.state != 'running'
                        ORDER BY l.startedAt DESC LIMIT 1) AS lastVerdict
            FROM firsts f JOIN unit u ON u.serial = f.serial AND +u.partNumber = f.partNumber AND u.state != 'running'
            GROUP BY f.serial, f.partNumber
        )
        """
    }

    static let sumColumns = """
        COUNT(*) AS serials, SUM(firstVerdict = 'pass') AS firstPass, SUM(firstVerdict = 'pass' AND firstWarned) AS firstPassWarned,
        SUM(lastVerdict = 'pass') AS passedAtLast, SUM(tests) AS units, SUM(tests - 1) AS retests
        """

    /// Fills both tables from the units the store holds (the migration that made them).
    static func rebuild(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM yieldDay; DELETE FROM failureDay")
        try db.execute(
            sql: perSerialSQL("", indexed: false) + """
                INSERT INTO yieldDay (day, partNumber, serials, firstPass, firstPassWarned, passedAtLast, units, retests)
                SELECT CAST(firstAt / 86400 AS INTEGER) AS day, partNumber, \(sumColumns) FROM perSerial GROUP BY day, partNumber
                """)
        try db.execute(
            sql: """
                INSERT INTO failureDay (day, partNumber, code, units)
                SELECT CAST(u.startedAt / 86400 AS INTEGER), u.partNumber, r.code, COUNT(DISTINCT r.reportId)
                FROM failureReason r JOIN unit u ON u.reportId = r.reportId GROUP BY 1, 2, 3
                """)
    }
}

extension Rollups {
    /// The yield per part number over a window: whole days from `yieldDay`, partial ones from the units.
    static func yield(_ db: Database, since: Date?, until: Date?) throws -> [YieldRow] {
        let window = DayWindow(since: since, until: until)
        var sums: [String: YieldSums] = [:]
        if let days = window.days {
            let sql = """
                SELECT partNumber, SUM(serials) AS serials, SUM(firstPass) AS firstPass, SUM(firstPassWarned) AS firstPassWarned,
                       SUM(passedAtLast) AS passedAtLast, SUM(units) AS units, SUM(retests) AS retests
                FROM yieldDay WHERE day >= ? AND day < ? GROUP BY partNumber
                """
            for row in try Row.fetchAll(db, sql: sql, arguments: [days.lowerBound, days.upperBound]) {
                sums[row["partNumber"]] = YieldSums(row: row)  // a row per part: the first sums
            }
        }
        for edge in window.edges {
            for (part, s) in try yieldFromUnits(db, since: edge.since, until: edge.until) {
                sums[part] = (sums[part] ?? YieldSums()) + s
            }
        }
        return sums.keys.sorted().map { sums[$0]!.row(partNumber: $0) }
    }

    /// The yield read from the units of a window (serials first tested in it), per part number.
    static func yieldFromUnits(_ db: Database, since: Double?, until: Double?) throws -> [String: YieldSums] {
        var w = Conditions()
        w.and("f.startedAt >= ?", since)
        w.and("f.startedAt < ?", until)
        let sql = perSerialSQL(w.sql, indexed: since != nil || until != nil) + """
            SELECT partNumber, \(sumColumns) FROM perSerial GROUP BY partNumber
            """
        var sums: [String: YieldSums] = [:]
        for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(w.arguments)) {
            sums[row["partNumber"]] = YieldSums(row: row)
        }
        return sums
    }

    /// Units stopped by each failure code over a window (of one part number, or all): whole days
    /// from `failureDay`, partial ones from the units.
    static func failures(_ db: Database, partNumber: String?, since: Date?, until: Date?) throws -> [String: Int] {
        let window = DayWindow(since: since, until: until)
        var counts: [String: Int] = [:]
        if let days = window.days {
            var w = Conditions()
            w.and("partNumber = ?", partNumber)
            let sql = "SELECT code, SUM(units) AS n FROM failureDay WHERE day >= ? AND day < ?\(w.sql) GROUP BY code"
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments([days.lowerBound, days.upperBound] + w.arguments)) {
                counts[row["code"], default: 0] += row["n"] as Int
            }
        }
        for edge in window.edges {
            for (code, n) in try failuresFromUnits(db, partNumber: partNumber, since: edge.since, until: edge.until) {
                counts[code, default: 0] += n
            }
        }
        return counts
    }

    static func failuresFromUnits(_ db: Database, partNumber: String?, since: Double?, until: Double?) throws -> [String: Int] {
        var w = Conditions()
        w.and("u.partNumber = ?", partNumber)
        w.and("u.startedAt >= ?", since)
        w.and("u.startedAt < ?", until)
        let sql = """
            SELECT r.code AS code, COUNT(DISTINCT r.reportId) AS n FROM failureReason r JOIN unit u ON u.reportId = r.reportId
            WHERE 1\(w.sql) GROUP BY r.code
            """
        var counts: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(w.arguments)) { counts[row["code"]] = row["n"] }
        return counts
    }
}

/// One unit's change to the roll-ups, taken around the write that commits (or restores) it:
/// what its serial added to its first day's yield and what its own failure codes added to its
/// day before the write, taken back, and what they add after it, put in. Exact however often a
/// unit is committed, and a serial whose first test left the store changes nothing.
struct RollupChange {
    private let serial: String
    private let partNumber: String
    private let reportId: String
    private let before: SerialYield?
    private let codesBefore: Set<String>

    init(_ db: Database, reportId: String, serial: String, partNumber: String) throws {
        (self.serial, self.partNumber, self.reportId) = (serial, partNumber, reportId)
        before = try SerialYield.read(db, serial: serial, partNumber: partNumber)
        codesBefore = Set(try String.fetchAll(db, sql: "SELECT code FROM failureReason WHERE reportId = ?", arguments: [reportId]))
    }

    func apply(_ db: Database) throws {
        try before?.add(db, sign: -1)
        try SerialYield.read(db, serial: serial, partNumber: partNumber)?.add(db, sign: 1)
        let codesAfter = Set(try String.fetchAll(db, sql: "SELECT code FROM failureReason WHERE reportId = ?", arguments: [reportId]))
        guard codesAfter != codesBefore,
              let startedAt = try Double.fetchOne(db, sql: "SELECT startedAt FROM unit WHERE reportId = ?", arguments: [reportId])
        else { return }
        let day = DayWindow.day(of: startedAt)
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO failureDay (day, partNumber, code, units) VALUES (?, ?, ?, ?)
                ON CONFLICT (day, partNumber, code) DO UPDATE SET units = units + excluded.units
                """)
        for code in codesBefore.subtracting(codesAfter) { try upsert.execute(arguments: [day, partNumber, code, -1]) }
        for code in codesAfter.subtracting(codesBefore) { try upsert.execute(arguments: [day, partNumber, code, 1]) }
    }
}

/// What one serial adds to the yield, on the UTC day of its first finished test.
struct SerialYield {
    var partNumber: String
    var day: Int
    var firstPass: Bool
    var firstWarned: Bool
    var tests: Int
    var lastPass: Bool

    /// Each read goes through the serial's index (`+partNumber` keeps SQLite from reading every
    /// unit of the part for the order by time, which made each commit of a year's store slow).
    static let firstTestSQL = """
        SELECT startedAt, verdict, warned FROM unit
        WHERE serial = ? AND +partNumber = ? AND attempt = 1 AND state != 'running' ORDER BY startedAt LIMIT 1
        """
    static let testsSQL = "SELECT COUNT(*) FROM unit WHERE serial = ? AND +partNumber = ? AND state != 'running'"
    static let lastVerdictSQL = "SELECT verdict FROM unit WHERE serial = ? AND state != 'running' ORDER BY startedAt DESC LIMIT 1"

    static func read(_ db: Database, serial: String, partNumber: String) throws -> SerialYield? {
        guard let first = try Row.fetchOne(db, sql: firstTestSQL, arguments: [serial, partNumber]) else { return nil }
        let tests = try Int.fetchOne(db, sql: testsSQL, arguments: [serial, partNumber])
        let last = try String.fetchOne(db, sql: lastVerdictSQL, arguments: [serial])
        let firstPass = (first["verdict"] as String?) == Verdict.pass.rawValue
        return SerialYield(
            partNumber: partNumber, day: DayWindow.day(of: first["startedAt"]), firstPass: firstPass,
            firstWarned: firstPass && (first["warned"] as Bool? ?? false), tests: tests ?? 0, lastPass: last == Verdict.pass.rawValue)
    }

    func add(_ db: Database, sign: Int) throws {
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO yieldDay (day, partNumber, serials, firstPass, firstPassWarned, passedAtLast, units, retests)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (day, partNumber) DO UPDATE SET
                    serials = serials + excluded.serials, firstPass = firstPass + excluded.firstPass,
                    firstPassWarned = firstPassWarned + excluded.firstPassWarned, passedAtLast = passedAtLast + excluded.passedAtLast,
                    units = units + excluded.units, retests = retests + excluded.retests
                """)
        func n(_ b: Bool) -> Int { b ? sign : 0 }
        try upsert.execute(
            arguments: [day, partNumber, sign, n(firstPass), n(firstWarned), n(lastPass), sign * tests, sign * (tests - 1)])
    }
}
