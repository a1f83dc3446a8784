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
        var series: [ChartPosition: [(serial: String, at: Date, il: Double)]] = [:]
        for s in samples {
            for (p, il) in s.ilDb where il.isFinite { series[p, default: []].append((s.serial, s.at, il)) }
        }
        let charts = series.keys.sorted().map { p -> PositionChart in
            let points = series[p] ?? []
            let values = points.map(\.il)
            let base = Array(values.prefix(baseline))
            let limits = ControlLimits.individuals(base)
            var breaks: [String: Int] = [:]
            var alarms: [ChartAlarm] = []
            for v in limits?.violations(values) ?? [] {
                breaks["\(v.rule)", default: 0] += 1
                alarms.append(ChartAlarm(rule: v.rule, serials: v.points.map { points[$0].serial }, at: points[v.points.upperBound].at))
            }
            let limit = ilMaxDb[p.wavelengthNm]
            return PositionChart(
                position: p, n: values.count, meanDb: Statistics.mean(values), limits: limits, baselineUnits: base.count,
                breaks: breaks, alarms: Array(alarms.suffix(alarmsKept)), ilMaxDb: limit,
                capability: limit.flatMap { Capability.upper(values, limit: $0) })
        }
        return PartSPC(partNumber: partNumber, units: samples.count, first: samples.first?.at, last: samples.last?.at, charts: charts)
    }
}
