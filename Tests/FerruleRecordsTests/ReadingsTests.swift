import FerruleCore
import FerruleTesting
import Foundation
import GRDB
import Testing

@testable import FerruleRecords

/// The readings column keeps IL and RL per fiber, wavelength and end in 16 bytes each, and a
/// part's units come back oldest first; a unit stored before the column is read from its report.
@Suite struct ReadingsTests {
    @Test func readingsRoundTripAndComeBackInTimeOrder() async throws {
        let path = temporaryDirectory() + "/ferrule.sqlite"
        let store = try Store(path: path)
        var ids: [UUID] = []
        for (i, days) in [3.0, 1.0, 2.0].enumerated() { ids.append(try await RetentionTests.unit(store, "RD-\(i)", daysAgo: days)) }
        // The test units were interrupted before any fiber: give each one IL reading by hand, as
        // the column and, for the oldest, only in its report (a row from before the column).
        let packed = ReadingsColumn.pack([])
        #expect(packed.isEmpty && ReadingsColumn.unpack(packed).isEmpty)
        let one = StoredReading(fiber: 7, wavelengthNm: 1550, end: .b, ilDb: 0.25, rlDb: nil, rlBDb: 61.5)
        var bytes = Data([7, 0x0E, 0x06, 1])
        for v: Float32 in [0.25, .nan, 61.5] { bytes.append(contentsOf: withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init)) }
        #expect(ReadingsColumn.unpack(bytes) == [one])
        #expect(ReadingsColumn.unpack(bytes + bytes) == [one, one], "readings follow each other without a gap")
        let db = try DatabaseQueue(path: path)
        let (column, oldest) = (bytes, ids[0].uuidString.lowercased())
        try await db.write { db in
            try db.execute(sql: "UPDATE unit SET state = 'done', readings = ?", arguments: [column])
            try db.execute(sql: "UPDATE unit SET readings = NULL WHERE reportId = ?", arguments: [oldest])
        }
        let units = try await store.readings(partNumber: "FT-MTP12-SMAPC-B-LL", since: nil, until: nil)
        #expect(units.map(\.serial) == ["RD-0", "RD-2", "RD-1"], "oldest first")
        #expect(units[1].readings == [one] && units[2].readings == [one])
        #expect(units[0].readings.isEmpty, "read from the report, which has no measurement")

        // Arranged for the charts, from the column in place: the same units in the same order,
        // one series for the one position, and a position read twice keeps its first reading.
        var twice = bytes
        twice.replaceSubrange(4..<8, with: withUnsafeBytes(of: Float32(0.5).bitPattern.littleEndian, Array.init))
        let (newest, again) = (ids[1].uuidString.lowercased(), bytes + twice)
        try await db.write { db in try db.execute(sql: "UPDATE unit SET readings = ? WHERE reportId = ?", arguments: [again, newest]) }
        let charts = try await store.chartSeries(partNumber: "FT-MTP12-SMAPC-B-LL", since: nil, until: nil)
        #expect(charts.units.map(\.serial) == ["RD-0", "RD-2", "RD-1"])
        let position = ChartPosition(fiber: 7, wavelengthNm: 1550, end: .b)
        #expect(charts.series == [PositionSeries(position: position, units: [1, 2], ilDb: [0.25, 0.25])])
        let lastDay = try await store.readings(partNumber: "FT-MTP12-SMAPC-B-LL", since: RetentionTests.now - 1.5 * 86_400, until: nil)
        #expect(lastDay.count == 1)
    }
}
