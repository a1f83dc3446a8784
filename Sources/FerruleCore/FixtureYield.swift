import Foundation

/// Watches each fixture's failures against the station's other fixtures: a fixture adapter that
/// is dirty, worn or misaligned fails more units than its neighbours testing the same work, long
/// before anyone compares the fixtures by hand. Over each fixture's last `window` passed or
/// failed units, the count of failures is tested against the other fixtures' failure rate over
/// theirs (one-sided binomial tail, the rate floored at 1 % so that a perfect neighbour does not
/// make a single failure look significant); below `significance` the fixture alarms, once until
/// it falls back. A station with one fixture has nothing to compare with and never alarms. Pure.
public struct FixtureYieldWatch: Sendable {
    public struct Alarm: Sendable, Hashable, Codable {
        public var fixture: Int
        public var failures: Int
        public var units: Int
        /// The other fixtures' failure rate over their windows (floored at 1 %).
        public var othersRate: Double
        /// The chance of this many failures or more at the others' rate.
        public var chance: Double

        public var description: String {
            String(format: "fixture %d failed %d of its last %d units against %.1f %% on the other fixtures (a chance of %.1g); "
                + "clean and inspect its adapters and test cords", fixture, failures, units, othersRate * 100, chance)
        }
    }

    public let window: Int
    public let significance: Double
    private var failed: [Int: [Bool]] = [:]
    private var alarmed: Set<Int> = []

    public init(window: Int = 50, significance: Double = 0.001) {
        self.window = window
        self.significance = significance
    }

    /// One passed or failed unit of `fixture`; the alarm when that fixture crosses.
    public mutating func add(fixture: Int, failed unitFailed: Bool) -> Alarm? {
        failed[fixture, default: []].append(unitFailed)
        if failed[fixture]!.count > window { failed[fixture]!.removeFirst() }
        let mine = failed[fixture]!
        let others = failed.filter { $0.key != fixture }.values.joined()
        guard mine.count == window, others.count >= window else { return nil }
        let k = mine.filter { $0 }.count
        let rate = max(Double(others.filter { $0 }.count) / Double(others.count), 0.01)
        let chance = Statistics.binomialUpperTail(atLeast: k, of: window, rate: rate)
        guard chance < significance else {
            alarmed.remove(fixture)
            return nil
        }
        guard alarmed.insert(fixture).inserted else { return nil }
        return Alarm(fixture: fixture, failures: k, units: window, othersRate: rate, chance: chance)
    }
}

extension Statistics {
    /// P(X >= k) for X ~ Binomial(n, p), summed in log space (lgamma) so that n in the hundreds
    /// neither overflows nor loses the small tail.
    public static func binomialUpperTail(atLeast k: Int, of n: Int, rate p: Double) -> Double {
        guard k > 0 else { return 1 }
        guard k <= n, p > 0 else { return 0 }
        guard p < 1 else { return 1 }
        return (k...n).reduce(0.0) { sum, i in
            let logChoose = lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1))
            return sum + exp(logChoose + Double(i) * log(p) + Double(n - i) * log1p(-p))
        }
    }
}
