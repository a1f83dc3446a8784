/// Watches IL per part number, fiber position and wavelength for a slow rise: a test cord that
/// wears, an end face that degrades, a switch channel whose loss creeps. Each series gets its
/// individuals-chart limits from a baseline (its first `baselineCount` units; sigma from the
/// moving range, SPC.swift), then an upper one-sided tabular CUSUM (Montgomery, "Introduction to
/// Statistical Quality Control", 9.1): S = max(0, S + x - (center + k sigma)), an alarm once
/// S > h sigma. Why CUSUM and not the Western Electric rules for the alarm: a 12-fiber part at
/// two wavelengths is 24 charts, and the four rules together raise a false alarm every few
/// hundred points per chart, several a shift on a stable bench. With k = 0.75 and h = 10 a chart
/// whose baseline is exact runs some 10^7 points between false alarms, and one whose baseline
/// mean came out 0.3 sigma low (two standard errors of 50 units) still some 57 000 (Siegmund's
/// approximation); a rise of 0.07 sigma per unit (0.002 dB against the simulated 0.028 dB spread)
/// is caught about thirty units after it starts. Pure.
public struct TrendMonitor: Sendable {
    public struct Series: Hashable, Sendable, Codable {
        public var partNumber: String
        public var position: Int
        public var wavelengthNm: Int

        public init(partNumber: String, position: Int, wavelengthNm: Int) {
            self.partNumber = partNumber
            self.position = position
            self.wavelengthNm = wavelengthNm
        }
    }

    /// A series whose IL has risen beyond chance: where, from what to what, over how many units.
    public struct Alarm: Sendable, Hashable, Codable {
        public var series: Series
        public var center: Double
        public var sigma: Double
        /// The mean of the units since the sum started to grow.
        public var recentMean: Double
        public var units: Int

        public var description: String {
            String(format: "IL of %@ position %d at %d nm is rising: %.3f dB over the last %d units against a baseline of "
                + "%.3f dB (sigma %.3f dB); look for a worn test cord, a dirty end face or a switch channel on that position",
                   series.partNumber, series.position, series.wavelengthNm, recentMean, units, center, sigma)
        }
    }

    struct State: Sendable {
        var baseline: [Double] = []
        var limits: ControlLimits?
        var sum = 0.0
        var run: [Double] = []
        var alarmed = false
    }

    public let baselineCount: Int
    public let k: Double
    public let h: Double
    private var states: [Series: State] = [:]

    public init(baselineCount: Int = 50, k: Double = 0.75, h: Double = 10) {
        self.baselineCount = baselineCount
        self.k = k
        self.h = h
    }

    /// Adds one unit's IL on one series; the alarm the first time the series crosses (once per
    /// episode: a series that falls back to its baseline may alarm again).
    public mutating func add(_ series: Series, ilDb: Double) -> Alarm? {
        var s = states[series] ?? State()
        defer { states[series] = s }
        guard let limits = s.limits else {
            s.baseline.append(ilDb)
            if s.baseline.count >= baselineCount, let l = ControlLimits.individuals(s.baseline), l.sigma > 0 { s.limits = l }
            return nil
        }
        s.sum = max(0, s.sum + ilDb - (limits.center + k * limits.sigma))
        s.run = s.sum > 0 ? s.run + [ilDb] : []
        if s.sum == 0 { s.alarmed = false }
        guard s.sum > h * limits.sigma, !s.alarmed else { return nil }
        s.alarmed = true
        return Alarm(series: series, center: limits.center, sigma: limits.sigma, recentMean: Statistics.mean(s.run), units: s.run.count)
    }

    /// Each series' limits, once its baseline is complete.
    public var baselines: [Series: ControlLimits] { states.compactMapValues(\.limits) }

    /// Series whose alarm stands (their sum has not fallen back to zero).
    public var alarmed: [Series] { states.filter { $0.value.alarmed }.map(\.key) }
}
