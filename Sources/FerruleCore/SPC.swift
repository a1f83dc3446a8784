import Foundation

// Statistical process control over IL readings (issue #28's core; no I/O): individuals and
// moving-range charts with the Western Electric run rules, one-sided capability against an upper
// limit by the normal and the percentile method, and lot statistics against a declared grade.
// Methods: Montgomery, "Introduction to Statistical Quality Control", 6.4 (I-MR: d2 = 1.128) and
// 5.3.6 (Western Electric rules); ISO 22514-2 / Clements for the percentile Ppk; Bissell (1990)
// for the lower confidence bound of the normal Ppk; percentiles by linear interpolation between
// order statistics (Hyndman & Fan type 7, as R and NumPy default).

/// Control limits of an individuals chart, from a baseline.
public struct ControlLimits: Sendable, Hashable, Codable {
    public var center: Double
    /// Sigma estimated from the mean moving range (MR-bar / d2).
    public var sigma: Double
    public var upper: Double { center + 3 * sigma }
    public var lower: Double { center - 3 * sigma }
    /// The moving-range chart's upper limit (D4 = 3.267 for ranges of two).
    public var movingRangeUpper: Double

    /// Limits from baseline values in time order; nil with fewer than two.
    public static func individuals(_ baseline: [Double]) -> ControlLimits? {
        guard baseline.count >= 2 else { return nil }
        let ranges = zip(baseline.dropFirst(), baseline).map { abs($0 - $1) }
        let mrBar = ranges.reduce(0, +) / Double(ranges.count)
        return ControlLimits(center: Statistics.mean(baseline), sigma: mrBar / 1.128, movingRangeUpper: 3.267 * mrBar)
    }
}

/// A Western Electric rule (Montgomery 5.3.6), each a pattern unlikely in a process in control.
public enum RunRule: Int, Sendable, Hashable, Codable, CaseIterable {
    /// One point beyond 3 sigma.
    case beyondThreeSigma = 1
    /// Two of three consecutive points beyond 2 sigma, on the same side.
    case twoOfThreeBeyondTwoSigma = 2
    /// Four of five consecutive points beyond 1 sigma, on the same side.
    case fourOfFiveBeyondOneSigma = 3
    /// Eight consecutive points on the same side of the center line.
    case eightOnOneSide = 4
}

/// A rule broken: which rule and the points (indices into the values) that broke it.
public struct RuleViolation: Sendable, Hashable, Codable {
    public var rule: RunRule
    /// The window of points that broke it, its last point being where it was seen.
    public var points: ClosedRange<Int>
}

extension ControlLimits {
    /// Every rule broken by `values` (in time order), at the point where it is first seen; a
    /// window that keeps breaking a rule is reported at each new point.
    public func violations(_ values: [Double]) -> [RuleViolation] {
        guard sigma > 0 else { return [] }
        let z = values.map { ($0 - center) / sigma }
        var found: [RuleViolation] = []
        var (above, below) = (0, 0)  // the run of points on each side ending here
        for i in z.indices {
            if abs(z[i]) > 3 { found.append(.init(rule: .beyondThreeSigma, points: i...i)) }
            if Self.window(z, endingAt: i, size: 3, atLeast: 2, beyond: 2) {
                found.append(.init(rule: .twoOfThreeBeyondTwoSigma, points: (i - 2)...i))
            }
            if Self.window(z, endingAt: i, size: 5, atLeast: 4, beyond: 1) {
                found.append(.init(rule: .fourOfFiveBeyondOneSigma, points: (i - 4)...i))
            }
            (above, below) = (z[i] > 0 ? above + 1 : 0, z[i] < 0 ? below + 1 : 0)
            if above >= 8 || below >= 8 { found.append(.init(rule: .eightOnOneSide, points: (i - 7)...i)) }
        }
        return found
    }

    /// Whether at least `atLeast` of the `size` points ending at `i` lie beyond `beyond` sigma on
    /// one side (counted in place: this runs for every reading of a year's charts).
    private static func window(_ z: [Double], endingAt i: Int, size: Int, atLeast: Int, beyond: Double) -> Bool {
        guard i >= size - 1 else { return false }
        var (high, low) = (0, 0)
        for j in (i - size + 1)...i {
            if z[j] > beyond { high += 1 } else if z[j] < -beyond { low += 1 }
        }
        return high >= atLeast || low >= atLeast
    }
}

/// One-sided capability against an upper limit (IL is bounded below by 0 dB and skewed, so the
/// percentile method is given beside the normal one).
public struct Capability: Sendable, Hashable, Codable {
    public var n: Int
    /// (USL - mean) / 3s, with s the sample standard deviation.
    public var ppkNormal: Double
    /// Its one-sided 95 % lower confidence bound (Bissell).
    public var ppkNormalLower95: Double
    /// (USL - median) / (X[0.99865] - median), the percentile method; nil when the upper tail
    /// has no spread (too few units to tell).
    public var ppkPercentile: Double?

    /// Nil with fewer than two values or no spread.
    public static func upper(_ values: [Double], limit usl: Double) -> Capability? {
        let n = values.count
        guard n >= 2, let s = Statistics.standardDeviation(values), s > 1e-9 else { return nil }  // below: rounding, not spread
        let ppk = (usl - Statistics.mean(values)) / (3 * s)
        let bound = ppk * (1 - 1.645 * (1 / (9 * Double(n) * ppk * ppk) + 1 / (2 * Double(n - 1))).squareRoot())
        let sorted = values.sorted()
        let median = Statistics.percentile(sorted: sorted, 0.5)
        let tail = Statistics.percentile(sorted: sorted, 0.99865) - median
        return Capability(n: n, ppkNormal: ppk, ppkNormalLower95: bound, ppkPercentile: tail > 0 ? (usl - median) / tail : nil)
    }
}

/// A lot's IL against a grade stated as a mean and a 97th percentile (IEC 61753-1 / 61755 style).
public struct GradeCheck: Sendable, Hashable, Codable {
    public var n: Int
    public var meanDb: Double
    public var p97Db: Double
    public var meanMaxDb: Double
    public var p97MaxDb: Double
    public var meets: Bool { meanDb <= meanMaxDb && p97Db <= p97MaxDb }

    public static func of(_ ilDb: [Double], meanMaxDb: Double, p97MaxDb: Double) -> GradeCheck? {
        guard !ilDb.isEmpty else { return nil }
        return GradeCheck(
            n: ilDb.count, meanDb: Statistics.mean(ilDb), p97Db: Statistics.percentile(ilDb, 0.97), meanMaxDb: meanMaxDb,
            p97MaxDb: p97MaxDb)
    }
}

public enum Statistics {
    public static func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

    /// The sample standard deviation (n - 1); nil with fewer than two values.
    public static func standardDeviation(_ x: [Double]) -> Double? {
        guard x.count >= 2 else { return nil }
        let m = mean(x)
        return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)).squareRoot()
    }

    /// The `p` quantile (0...1) by linear interpolation between order statistics (type 7).
    public static func percentile(_ x: [Double], _ p: Double) -> Double {
        percentile(sorted: x.sorted(), p)
    }

    /// The same of values sorted already.
    public static func percentile(sorted s: [Double], _ p: Double) -> Double {
        guard !s.isEmpty else { return .nan }
        let h = Double(s.count - 1) * min(max(p, 0), 1)
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, s.count - 1)
        return s[lo] + (h - Double(lo)) * (s[hi] - s[lo])
    }
}
