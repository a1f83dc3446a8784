import Foundation
import Testing

@testable import FerruleCore

/// A fixture that fails more than its neighbours alarms once the chance of its failures at their
/// rate falls below 0.1 %, and not before; figures worked by hand (Python's math.comb).
@Suite struct FixtureYieldTests {
    @Test func theBinomialTailMatchesValuesWorkedByHand() {
        #expect(abs(Statistics.binomialUpperTail(atLeast: 8, of: 50, rate: 0.05) - 0.003188343) < 1e-8)
        #expect(abs(Statistics.binomialUpperTail(atLeast: 9, of: 50, rate: 0.05) - 0.000755985) < 1e-8)
        #expect(abs(Statistics.binomialUpperTail(atLeast: 4, of: 50, rate: 0.01) - 0.001596173) < 1e-8)
        #expect(Statistics.binomialUpperTail(atLeast: 0, of: 50, rate: 0.05) == 1)
    }

    /// Fixture 1 fails 2 of its 50 units (4 %); so does fixture 2 at first (units 10 and 30),
    /// then every unit fails: 7 failures in its last 50 is a chance of 0.36 % at 4 % (no alarm),
    /// 8 is 0.078 % (the alarm).
    @Test func aFixtureFailingMoreThanItsNeighbourAlarmsOnceAtItsEighthFailure() {
        var watch = FixtureYieldWatch()
        for i in 0..<50 { #expect(watch.add(fixture: 1, failed: i % 25 == 0) == nil) }
        var alarms: [FixtureYieldWatch.Alarm] = []
        for i in 0..<50 {
            if let a = watch.add(fixture: 2, failed: i % 20 == 10) { alarms.append(a) }
        }
        #expect(alarms.isEmpty, "as its neighbour: \(alarms)")
        // Each failure pushes out one of the window's first ten units, all passes.
        for failures in 3...8 {
            let a = watch.add(fixture: 2, failed: true)
            if let a { alarms.append(a) }
            #expect((a != nil) == (failures == 8), "\(failures) failures in the window")
        }
        #expect(alarms.count == 1 && alarms.first?.failures == 8 && alarms.first?.fixture == 2, "\(alarms)")
        #expect(alarms.first.map { abs($0.othersRate - 0.04) < 1e-12 && abs($0.chance - 0.000781405) < 1e-8 } == true)
        #expect(watch.add(fixture: 2, failed: true) == nil, "once per episode")
    }

    @Test func oneFixtureAloneNeverAlarms() {
        var watch = FixtureYieldWatch()
        for _ in 0..<200 { #expect(watch.add(fixture: 1, failed: true) == nil) }
    }
}
