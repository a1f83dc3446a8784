import FerruleCore
import Foundation
import GRDB

/// One reading of a finished unit as the store keeps it for statistics: IL and RL per fiber,
/// wavelength and end, without the rest of the report.
public struct StoredReading: Sendable, Hashable, Codable {
    public var fiber: Int
    public var wavelengthNm: Int
    public var end: End
    public var ilDb: Double?
    public var rlDb: Double?
    public var rlBDb: Double?
}

/// A unit's readings in time order with the part's others, for control charts and capability.
public struct UnitReadings: Sendable, Hashable, Codable {
    public var reportId: UUID
    public var serial: String
    public var startedAt: Date
    public var readings: [StoredReading]
}

/// The `unit.readings` column: 16 bytes a reading (fiber, wavelength, end, then IL and both RLs
/// as 32-bit floats, NaN for none), 768 bytes for a 24-fiber unit at two wavelengths, so that a
/// part's year of charts reads a column instead of inflating and decoding every report.
enum ReadingsColumn {
    static let width = 16

    static func pack(_ ms: [FerruleCore.Measurement]) -> Data {
        var d = Data(capacity: ms.count * width)
        for m in ms {
            d.append(UInt8(clamping: m.fiber))
            d.append(contentsOf: withUnsafeBytes(of: UInt16(clamping: m.wavelengthNm).littleEndian, Array.init))
            d.append(m.end == .a ? 0 : 1)
            for v in [m.ilDb, m.rlDb, m.rlBDb] {
                d.append(contentsOf: withUnsafeBytes(of: Float32(v ?? .nan).bitPattern.littleEndian, Array.init))
            }
        }
        return d
    }

    /// A unit's column onto the charts' series, without an array or a dictionary per unit.
    static func add(_ d: Data, as unit: ChartUnit, to builder: inout PartSeriesBuilder) {
        builder.startUnit(unit)
        d.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
            for i in stride(from: 0, through: b.count - width, by: width) {
                let bits = UInt32(b[i + 4]) | UInt32(b[i + 5]) << 8 | UInt32(b[i + 6]) << 16 | UInt32(b[i + 7]) << 24
                let position = ChartPosition(
                    fiber: Int(b[i]), wavelengthNm: Int(b[i + 1]) | Int(b[i + 2]) << 8, end: b[i + 3] == 0 ? .a : .b)
                builder.add(position, ilDb: Double(Float32(bitPattern: bits)))
            }
        }
    }

    static func unpack(_ d: Data) -> [StoredReading] {
        let bytes = [UInt8](d)
        return stride(from: 0, through: bytes.count - width, by: width).map { i in
            func float(_ at: Int) -> Double? {
                let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
                let f = Float32(bitPattern: bits)
                return f.isNaN ? nil : Double(f)
            }
            return StoredReading(
                fiber: Int(bytes[i]), wavelengthNm: Int(bytes[i + 1]) | Int(bytes[i + 2]) << 8, end: bytes[i + 3] == 0 ? .a : .b,
                ilDb: float(i + 4), rlDb: float(i + 8), rlBDb: float(i + 12))
        }
    }
}

extension Store {
    /// The finished units of a part in a window, oldest first (at most `limit`, the newest), with
    /// their readings: through the part's index and the readings column. Units stored before the
    /// column existed are read from their report.
    public func readings(partNumber: String, since: Date?, until: Date?, limit: Int = 20_000) async throws(StoreError) -> [UnitReadings] {
        try await readOnly("read a part's readings") { db in
            let (sql, arguments) = Self.partUnits(partNumber, since: since, until: until, limit: limit)
            return try Row.fetchAll(db, sql: sql, arguments: arguments).reversed().map(Self.unitReadings)
        }
    }

    /// The same units arranged for control charts: each position's IL in time order, decoded
    /// from the column in place (a year's charts read a million readings).
    public func chartSeries(
        partNumber: String, since: Date?, until: Date?, limit: Int = 20_000
    ) async throws(StoreError) -> PartSeriesBuilder {
        try await readOnly("read a part's readings") { db in
            let (sql, arguments) = Self.partUnits(partNumber, since: since, until: until, limit: limit)
            var newestFirst: [(ChartUnit, Data)] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                newestFirst.append(
                    (ChartUnit(serial: row["serial"], at: Date(timeIntervalSince1970: row["startedAt"])), try Self.packedReadings(row)))
            }
            var builder = PartSeriesBuilder()
            for (unit, packed) in newestFirst.reversed() { ReadingsColumn.add(packed, as: unit, to: &builder) }
            return builder
        }
    }

    /// The newest units that passed or failed, of every part, oldest first (at most `limit`),
    /// with their readings: what the trend monitor is fed again after a restart.
    public func recentReadings(
        limit: Int
    ) async throws(StoreError) -> [(partNumber: String, fixture: Int, failed: Bool, unit: UnitReadings)] {
        try await readOnly("read the newest units' readings") { db in
            let sql = """
                SELECT partNumber, fixture, verdict, reportId, serial, startedAt, readings,
                       CASE WHEN readings IS NULL THEN report END AS report
                FROM unit INDEXED BY unit_newest WHERE state = 'done' AND verdict IN ('pass', 'fail') ORDER BY startedAt DESC LIMIT ?
                """
            return try Row.fetchAll(db, sql: sql, arguments: [limit]).reversed().map {
                let failed = ($0["verdict"] as String) == Verdict.fail.rawValue
                return ($0["partNumber"] as String, $0["fixture"] as Int, failed, try Self.unitReadings($0))
            }
        }
    }

    /// A lot: the serials of the part first tested in the window whose latest finished test
    /// passed, with that test's readings (the units that ship), oldest first, arranged by
    /// position and decoded from the column in place.
    public func lotSeries(partNumber: String, since: Date?, until: Date?) async throws(StoreError) -> PartSeriesBuilder {
        try await readOnly("read a lot's readings") { db in
            var w = Conditions()
            w.and("f.startedAt >= ?", since?.timeIntervalSince1970)
            w.and("f.startedAt < ?", until?.timeIntervalSince1970)
            let sql = """
                SELECT u.serial, u.startedAt, u.readings, CASE WHEN u.readings IS NULL THEN u.report END AS report
                FROM unit f INDEXED BY unit_part
                JOIN unit u ON u.reportId = (SELECT l.reportId FROM unit l WHERE l.serial = f.serial AND l.state != 'running'
                                             ORDER BY l.startedAt DESC LIMIT 1)
                WHERE f.partNumber = ? AND f.attempt = 1 AND f.state != 'running'\(w.sql) AND u.state = 'done' AND u.verdict = 'pass'
                ORDER BY f.startedAt
                """
            var builder = PartSeriesBuilder()
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments([partNumber] + w.arguments))
            while let row = try rows.next() {
                let unit = ChartUnit(serial: row["serial"], at: Date(timeIntervalSince1970: row["startedAt"]))
                ReadingsColumn.add(try Self.packedReadings(row), as: unit, to: &builder)
            }
            return builder
        }
    }

    /// A part's finished units in a window with their readings, newest first, at most `limit`:
    /// through the part's index and the readings column (the report only for a unit stored
    /// before the column existed).
    private static func partUnits(_ partNumber: String, since: Date?, until: Date?, limit: Int) -> (String, StatementArguments) {
        var w = Conditions()
        w.and("startedAt >= ?", since?.timeIntervalSince1970)
        w.and("startedAt < ?", until?.timeIntervalSince1970)
        let sql = """
            SELECT reportId, serial, startedAt, readings, CASE WHEN readings IS NULL THEN report END AS report
            FROM unit INDEXED BY unit_part WHERE partNumber = ? AND state = 'done'\(w.sql) ORDER BY startedAt DESC LIMIT ?
            """
        return (sql, StatementArguments([partNumber] + w.arguments + [limit]))
    }

    /// A row's packed readings: the column, or (a unit stored before it) packed from its report.
    private static func packedReadings(_ row: Row) throws -> Data {
        if let packed = row["readings"] as Data? { return packed }
        guard let json = try StoredJSON.unpack(row["report"]), let r = try? UnitReport.decoder().decode(UnitReport.self, from: json)
        else { return Data() }
        return ReadingsColumn.pack(r.measurements)
    }

    /// A row's readings: the packed column, or (a unit stored before it) its report's.
    private static func unitReadings(_ row: Row) throws -> UnitReadings {
        UnitReadings(
            reportId: try row.reportId(), serial: row["serial"], startedAt: Date(timeIntervalSince1970: row["startedAt"]),
            readings: ReadingsColumn.unpack(try packedReadings(row)))
    }
}
