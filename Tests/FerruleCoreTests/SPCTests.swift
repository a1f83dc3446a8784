import Testing

@testable import FerruleCore

/// SPC against values worked by hand on one fixed data set (ten IL readings in dB).
@Suite struct SPCTests {
    /// Sum 2.17, so mean 0.217; moving ranges 0.02 0.03 0.06 0.04 0.02 0.03 0.04 0.02 0.01 sum
    /// 0.27, MR-bar 0.03, sigma 0.03 / 1.128 = 0.0265957.
    static let baseline = [0.20, 0.22, 0.19, 0.25, 0.21, 0.23, 0.20, 0.24, 0.22, 0.21]

    func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-6) -> Bool { abs(a - b) < tolerance }

    @Test func individualsLimitsComeFromTheMeanMovingRange() throws {
        let l = try #require(ControlLimits.individuals(Self.baseline))
        #expect(close(l.center, 0.217) && close(l.sigma, 0.0265957))
        #expect(close(l.upper, 0.2967872) && close(l.lower, 0.1372128))
        #expect(close(l.movingRangeUpper, 3.267 * 0.03))
        #expect(ControlLimits.individuals([0.2]) == nil)
    }

    /// One sequence per rule, each breaking that rule alone; the baseline breaks none.
    @Test func eachRunRuleIsSeenWhereItBreaks() throws {
        let l = try #require(ControlLimits.individuals(Self.baseline))
        #expect(l.violations(Self.baseline).isEmpty)
        // 0.32 is (0.32 - 0.217) / 0.0265957 = 3.87 sigma above.
        #expect(l.violations([0.21, 0.32]) == [RuleViolation(rule: .beyondThreeSigma, points: 1...1)])
        // 0.28 is 2.37 sigma above: two of three beyond 2 sigma.
        #expect(l.violations([0.28, 0.22, 0.28]) == [RuleViolation(rule: .twoOfThreeBeyondTwoSigma, points: 0...2)])
        // 0.25 is 1.24 sigma above: four of five beyond 1 sigma.
        #expect(l.violations([0.25, 0.25, 0.20, 0.25, 0.25]) == [RuleViolation(rule: .fourOfFiveBeyondOneSigma, points: 0...4)])
        // 0.22 is 0.11 sigma above, eight times in a row.
        #expect(l.violations(Array(repeating: 0.22, count: 8)) == [RuleViolation(rule: .eightOnOneSide, points: 0...7)])
    }

    /// s = sqrt(0.00321 / 9) = 0.0188856; Ppk = (0.5 - 0.217) / (3 s) = 4.99498; Bissell's bound
    /// 4.99498 (1 - 1.645 sqrt(1 / (9 * 10 * 4.99498^2) + 1 / 18)) = 3.05053. Percentile method:
    /// median 0.215, X[0.99865] at rank 8.98785 of 0...9 = 0.24 + 0.98785 * 0.01 = 0.2498785,
    /// Ppk = (0.5 - 0.215) / 0.0348785 = 8.17122.
    @Test func capabilityByBothMethods() throws {
        let c = try #require(Capability.upper(Self.baseline, limit: 0.5))
        #expect(c.n == 10 && close(c.ppkNormal, 4.994982) && close(c.ppkNormalLower95, 3.050530))
        #expect(close(c.ppkPercentile ?? 0, 8.171223))
        #expect(Capability.upper([0.2, 0.2, 0.2], limit: 0.5) == nil, "no spread, no capability")
    }

    /// The 97th percentile at rank 0.97 * 9 = 8.73: 0.24 + 0.73 * 0.01 = 0.2473.
    @Test func aLotMeetsItsGradeOnlyIfBothFiguresDo() throws {
        #expect(close(Statistics.percentile(Self.baseline, 0.97), 0.2473))
        let meets = try #require(GradeCheck.of(Self.baseline, meanMaxDb: 0.25, p97MaxDb: 0.25))
        #expect(meets.meets && close(meets.meanDb, 0.217) && close(meets.p97Db, 0.2473))
        #expect(try #require(GradeCheck.of(Self.baseline, meanMaxDb: 0.25, p97MaxDb: 0.24)).meets == false)
        #expect(try #require(GradeCheck.of(Self.baseline, meanMaxDb: 0.2, p97MaxDb: 0.25)).meets == false)
        #expect(GradeCheck.of([], meanMaxDb: 0.25, p97MaxDb: 0.5) == nil)
    }
}
