import FerruleCore
import FerruleRecords
import Foundation

extension Station {
    /// A part number's control charts and capability over its finished units in the window (the
    /// newest 20,000 at most), against the limits of its recipe in use (a part with no recipe
    /// now still gets its charts, without capability).
    public func spc(partNumber: String, since: Date?, until: Date?) async throws -> PartSPC {
        try await Self.spc(
            store: records.store, partNumber: partNumber, ilMaxDb: active.recipes[partNumber]?.limits.ilMaxDb ?? [:], since: since,
            until: until)
    }

    /// A lot's IL statistics and grade: the part's serials first tested in the window whose
    /// latest test passed, against the grade of the part's recipe in use.
    public func lot(partNumber: String, since: Date?, until: Date?) async throws -> LotReport {
        try await Self.lot(
            store: records.store, partNumber: partNumber, grade: active.recipes[partNumber]?.grade, since: since, until: until)
    }

    /// The same from a store (the scale benchmark times it on a year's store).
    public static func lot(store: Store, partNumber: String, grade: GradeSpec?, since: Date?, until: Date?) async throws -> LotReport {
        let lot = try await store.lotSeries(partNumber: partNumber, since: since, until: until)
        return LotReport.make(partNumber: partNumber, since: since, until: until, grade: grade, units: lot.units.count, series: lot.series)
    }

    /// The same from a store (the scale benchmark times it on a year's store).
    public static func spc(store: Store, partNumber: String, ilMaxDb: [Int: Double], since: Date?, until: Date?) async throws -> PartSPC {
        let series = try await store.chartSeries(partNumber: partNumber, since: since, until: until)
        return PartSPC.make(partNumber: partNumber, ilMaxDb: ilMaxDb, units: series.units, series: series.series)
    }
}

/// One position's control chart with the readings it was drawn from, for drawing it.
public struct ChartTrace: Sendable {
    public var chart: PositionChart
    public var units: [ChartUnit]
    public var ilDb: [Double]
}

extension Station {
    /// The chart of one position of a part over the window, with its readings in time order;
    /// nil when the window holds no reading of that position.
    public func chartTrace(partNumber: String, position: ChartPosition, since: Date?, until: Date?) async throws -> ChartTrace? {
        try await Self.chartTrace(
            store: records.store, partNumber: partNumber, position: position, ilMaxDb: active.recipes[partNumber]?.limits.ilMaxDb ?? [:],
            since: since, until: until)
    }

    /// The same from a store (the scale benchmark times it on a year's store).
    public static func chartTrace(
        store: Store, partNumber: String, position: ChartPosition, ilMaxDb: [Int: Double], since: Date?, until: Date?
    ) async throws -> ChartTrace? {
        let series = try await store.chartSeries(partNumber: partNumber, since: since, until: until)
        guard let one = series.series.first(where: { $0.position == position }) else { return nil }
        let spc = PartSPC.make(partNumber: partNumber, ilMaxDb: ilMaxDb, units: series.units, series: [one])
        guard let chart = spc.charts.first else { return nil }
        return ChartTrace(chart: chart, units: one.units.map { series.units[$0] }, ilDb: one.ilDb)
    }
}
