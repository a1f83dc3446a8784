import Testing

@testable import FerruleCore

/// The trend alarm's arithmetic on series built by hand: a baseline, then a steady rise.
@Suite struct TrendTests {
    static let series = TrendMonitor.Series(partNumber: "P", position: 3, wavelengthNm: 1310)

    /// A baseline alternating 0.10 and 0.12 has center 0.11 and sigma 0.02 / 1.128 = 0.01773;
    /// with k = 0.5 and h = 8 the CUSUM takes x - (0.11 + 0.5 * 0.01773) = x - 0.11887 per unit
    /// and alarms past 8 * 0.01773 = 0.14184. At a steady 0.16 that is 0.04113 a unit: the
    /// fourth unit (0.1645).
    @Test func aSteadyRiseAlarmsWhenTheSumCrossesHSigma() {
        var m = TrendMonitor(baselineCount: 10, k: 0.5, h: 8)
        for i in 0..<10 { #expect(m.add(Self.series, ilDb: i % 2 == 0 ? 0.10 : 0.12) == nil) }
        for _ in 0..<3 { #expect(m.add(Self.series, ilDb: 0.16) == nil) }
        let alarm = m.add(Self.series, ilDb: 0.16)
        #expect(alarm?.units == 4 && abs((alarm?.center ?? 0) - 0.11) < 1e-9 && abs((alarm?.sigma ?? 0) - 0.02 / 1.128) < 1e-9)
        #expect(alarm?.description.contains("P position 3 at 1310 nm is rising: 0.160 dB over the last 4 units") == true)
        #expect(m.add(Self.series, ilDb: 0.16) == nil, "one alarm per episode")
        #expect(m.alarmed == [Self.series])
    }

    @Test func valuesAtTheBaselineNeverAlarmAndResetTheEpisode() {
        var m = TrendMonitor(baselineCount: 10)
        for i in 0..<10 { _ = m.add(Self.series, ilDb: i % 2 == 0 ? 0.10 : 0.12) }
        for i in 0..<1000 { #expect(m.add(Self.series, ilDb: i % 2 == 0 ? 0.10 : 0.12) == nil) }
        #expect(m.alarmed.isEmpty)
    }
}
