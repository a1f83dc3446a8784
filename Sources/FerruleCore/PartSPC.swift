import Foundation

// A part number's control charts: one individuals chart of IL per fiber position, wavelength
// and end over the part's units in time order, limits from a baseline (its first units), the
// Western Electric rules over every unit, and capability against the recipe's limit. The
// arithmetic is SPC.swift's; this only arranges a part's readings into charts.

/// Where on the part a chart's readings come from.
public struct ChartPosition: Sendable, Hashable, Codable, Comparable {
    public var fiber: Int
    public var wavelengthNm: Int
    public var end: End

    public init(fiber: Int, wavelengthNm: Int, end: End) {
        self.fiber = fiber
        self.wavelengthNm = wavelengthNm
        self.end = end
    }

    public static func < (a: ChartPosition, b: ChartPosition) -> Bool {
        (a.wavelengthNm, a.fiber, a.end.rawValue) < (b.wavelengthNm, b.fiber, b.end.rawValue)
    }
}

/// One unit's IL readings, by position.
public struct ChartSample: Sendable, Hashable {
    public var serial: String
    public var at: Date
    public var ilDb: [ChartPosition: Double]

    public init(serial: String, at: Date, ilDb: [ChartPosition: Double]) {
        self.serial = serial
        self.at = at
        self.ilDb = ilDb
    }
}

/// A rule broken on a chart: which, the units of the window that broke it (oldest first) and when.
public struct ChartAlarm: Sendable, Hashable, Codable {
    public var rule: RunRule
    public var serials: [String]
    public var at: Date
}

/// One position's chart over the window.
public struct PositionChart: Sendable, Hashable, Codable {
    public var position: ChartPosition
    public var n: Int
    public var meanDb: Double
    /// From the first `baselineUnits` readings; nil with fewer than two.
    public var limits: ControlLimits?
    public var baselineUnits: Int
    /// Each rule's count of breaks over the window.
    public var breaks: [String: Int]
    /// The latest breaks (at most `PartSPC.alarmsKept`), newest last.
    public var alarms: [ChartAlarm]
    public var ilMaxDb: Double?
    public var capability: Capability?
}

/// A part number's charts over a window of its units.
public struct PartSPC: Sendable, Hashable, Codable {
    public var partNumber: String
    public var units: Int
    public var first: Date?
    public var last: Date?
    public var charts: [PositionChart]

    public static let alarmsKept = 20

    /// `samples` in time order; `baseline`: how many first readings of each position set its limits.
    public static func make(partNumber: String, ilMaxDb: [Int: Double], samples: [ChartSample], baseline: Int = 50) -> PartSPC {
        var builder = PartSeriesBuilder()
        for s in samples {
            builder.startUnit(ChartUnit(serial: s.serial, at: s.at))
            for (p, il) in s.ilDb { builder.add(p, ilDb: il) }
        }
        return make(partNumber: partNumber, ilMaxDb: ilMaxDb, units: builder.units, series: builder.series, baseline: baseline)
    }

    /// The same from readings already arranged by position (PartSeriesBuilder): what a year's
    /// store reads, without a dictionary per unit.
    public static func make(
        partNumber: String, ilMaxDb: [Int: Double], units: [ChartUnit], series: [PositionSeries], baseline: Int = 50
    ) -> PartSPC {
        let charts = series.sorted { $0.position < $1.position }.map { s -> PositionChart in
            let values = s.ilDb
            let base = Array(values.prefix(baseline))
            let limits = ControlLimits.individuals(base)
            let violations = limits?.violations(values) ?? []
            var counts: [RunRule: Int] = [:]
            for v in violations { counts[v.rule, default: 0] += 1 }
            let alarms = violations.suffix(alarmsKept).map { v in
                ChartAlarm(rule: v.rule, serials: v.points.map { units[s.units[$0]].serial }, at: units[s.units[v.points.upperBound]].at)
            }
            let limit = ilMaxDb[s.position.wavelengthNm]
            return PositionChart(
                position: s.position, n: values.count, meanDb: Statistics.mean(values), limits: limits, baselineUnits: base.count,
                breaks: Dictionary(uniqueKeysWithValues: counts.map { ("\($0.key)", $0.value) }), alarms: Array(alarms), ilMaxDb: limit,
                capability: limit.flatMap { Capability.upper(values, limit: $0) })
        }
        return PartSPC(partNumber: partNumber, units: units.count, first: units.first?.at, last: units.last?.at, charts: charts)
    }
}

/// One unit on a part's charts.
public struct ChartUnit: Sendable, Hashable {
    public var serial: String
    public var at: Date

    public init(serial: String, at: Date) {
        self.serial = serial
        self.at = at
    }
}

/// One position's IL readings in time order, each with the index of its unit.
public struct PositionSeries: Sendable, Hashable {
    public var position: ChartPosition
    public var units: [Int]
    public var ilDb: [Double]

    public init(position: ChartPosition, units: [Int] = [], ilDb: [Double] = []) {
        self.position = position
        self.units = units
        self.ilDb = ilDb
    }
}

/// Arranges readings, unit after unit in time order, into a series per position. A position read
/// twice in a unit keeps its first reading; a reading that is not a number is left out. Units
/// read their positions in the same order, so each reading's series is first looked for where
/// the same reading of the unit before went (no hashing for a year of readings).
public struct PartSeriesBuilder: Sendable {
    public private(set) var units: [ChartUnit] = []
    public private(set) var series: [PositionSeries] = []
    private var slots: [ChartPosition: Int] = [:]
    private var slotOfReading: [Int] = []
    private var reading = 0

    public init() {}

    public mutating func startUnit(_ unit: ChartUnit) {
        units.append(unit)
        reading = 0
    }

    public mutating func add(_ position: ChartPosition, ilDb: Double) {
        defer { reading += 1 }
        guard ilDb.isFinite, !units.isEmpty else { return }
        let slot: Int
        if reading < slotOfReading.count, series[slotOfReading[reading]].position == position {
            slot = slotOfReading[reading]
        } else {
            slot = slots[position] ?? series.count
            if slot == series.count {
                slots[position] = slot
                series.append(PositionSeries(position: position))
            }
            if reading < slotOfReading.count { slotOfReading[reading] = slot } else { slotOfReading.append(slot) }
        }
        let unit = units.count - 1
        guard series[slot].units.last != unit else { return }
        series[slot].units.append(unit)
        series[slot].ilDb.append(ilDb)
    }
}
