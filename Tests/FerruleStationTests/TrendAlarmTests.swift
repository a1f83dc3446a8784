import FerruleCore
import FerruleProtocol
import FerruleSimSpec
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

/// A test cord that wears (#28's acceptance): the simulated launch path loses 0.002 dB more per
/// mating on positions 3, 7 and 9; the trend alarm names exactly those positions before the first
/// unit fails its limit, and a stable bench over as many units raises none.
@Suite(.serialized, .shutsDownStations) struct TrendAlarmTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    /// Runs units until one fails or `limit` have run; returns the alarms (position, wavelength)
    /// in the order raised, the unit each came at, and how many units ran.
    func run(wear: Bool, limit: Int) async throws -> (alarms: [(Int, Int, unit: Int)], units: Int, firstFail: Int?) {
        var text = try inProcessConfigText()
        if wear {
            text = text.replacingOccurrences(
                of: "    noiseDb: 0.003\n", with: "    noiseDb: 0.003\n    cordWearDbPerMating: 0.002\n    cordWearPositions: [3, 7, 9]\n")
        }
        let (station, bench) = try await makeStation(config: try StationConfig.parse(text, file: "trend.yaml"))
        let events = await station.events.subscribe()
        var firstFail: Int?
        var ran = 0
        for i in 1...limit {
            let o = try await testUnit(station, bench, serial: "TR-\(wear)-\(i)", part: Self.part)
            ran = i
            if o.report.verdict == .fail {
                firstFail = i
                break
            }
            #expect(o.report.verdict == .pass, "\(o.report.reasons)")
        }
        let posted = try await station.store.lineMessages(limit: 10_000).compactMap { m -> Int? in
            if case .qualityAlarm(let part, let position, _, _) = m.moment, part == Self.part { return position }
            return nil
        }
        await station.shutdown()
        await station.events.finish()
        var alarms: [(Int, Int, unit: Int)] = []
        var finished = 0
        for await e in events {
            if case .unitFinished = e { finished += 1 }
            if case .trendAlarm(let part, let position, let wl, let detail) = e {
                #expect(part == Self.part && detail.contains("position \(position) at \(wl) nm is rising"), "\(detail)")
                alarms.append((position, wl, finished))
            }
        }
        #expect(posted == alarms.map(\.0), "each alarm is told to the line as it is raised: \(posted)")
        return (alarms, ran, firstFail)
    }

    @Test(.timeLimit(.minutes(10))) func aWearingCordIsCaughtBeforeUnitsFailAndAStableBenchIsQuiet() async throws {
        let worn = try await run(wear: true, limit: 250)
        let firstFail = try #require(worn.firstFail, "the wear never made a unit fail in \(worn.units) units")
        #expect(Set(worn.alarms.map(\.0)) == [3, 7, 9], "alarms on \(worn.alarms)")
        #expect(worn.alarms.allSatisfy { $0.unit < firstFail }, "every alarm before unit \(firstFail) failed: \(worn.alarms)")
        print("trend alarm: wear caught at units \(worn.alarms.map(\.unit)); the first unit failed at \(firstFail)")

        let stable = try await run(wear: false, limit: worn.units)
        #expect(stable.alarms.isEmpty, "a stable bench alarmed: \(stable.alarms)")
        #expect(stable.firstFail == nil)
    }

    /// A restart keeps each series' baseline (fed again from the store's newest units) instead
    /// of taking a new one from the next units, which may come through a cord already wearing.
    @Test(.timeLimit(.minutes(5))) func theBaselinesSurviveARestart() async throws {
        let data = temporaryDirectory()
        let (first, bench) = try await makeStation(data: data)
        for i in 1...55 { _ = try await testUnit(first, bench, serial: "TB-\(i)", part: Self.part) }
        let before = await first.trend.baselines
        #expect(before.count == 24, "12 positions at two wavelengths have their baseline: \(before.count)")
        await first.shutdown()

        let (again, _) = try await makeStation(data: data, reference: false)
        let after = await again.trend.baselines
        #expect(Set(after.keys) == Set(before.keys))
        for (series, limits) in before {
            // The store keeps readings as 32-bit floats: the same limits to a millionth of a dB.
            let restored = try #require(after[series])
            #expect(abs(restored.center - limits.center) < 1e-6 && abs(restored.sigma - limits.sigma) < 1e-6, "\(series)")
        }
        await again.shutdown()
    }

    /// Station health: fixture 2's units fail one in five (a high-loss fiber, as a dirty adapter
    /// would give), fixture 1's pass; once fixture 2 has 50 units the watch names it, as an
    /// event and to the line, and never fixture 1.
    @Test(.timeLimit(.minutes(5))) func aFixtureFailingMoreThanTheOtherIsNamed() async throws {
        let (station, bench) = try await makeStation()
        let events = await station.events.subscribe()
        for i in 1...50 { _ = try await testUnit(station, bench, serial: "FY1-\(i)", part: Self.part, fixture: 1) }
        for i in 1...50 {
            let faults: [AssemblyFault] = i.isMultiple(of: 5) ? [.highLoss(fiber: 4, extraDb: 1)] : []
            let o = try await testUnit(station, bench, serial: "FY2-\(i)", part: Self.part, fixture: 2, faults: faults)
            #expect(o.report.verdict == (faults.isEmpty ? Verdict.pass : .fail))
        }
        let posted = try await station.store.lineMessages(limit: 10_000).compactMap { m -> Int? in
            if case .fixtureAlarm(let fixture, _) = m.moment { return fixture }
            return nil
        }
        await station.shutdown()
        await station.events.finish()
        var alarms: [(fixture: Int, detail: String)] = []
        for await e in events { if case .fixtureYieldAlarm(let fixture, let detail) = e { alarms.append((fixture, detail)) } }
        #expect(alarms.map(\.fixture) == [2] && posted == [2], "\(alarms) \(posted)")
        #expect(alarms.first?.detail.contains("fixture 2 failed 10 of its last 50 units") == true, "\(alarms)")
    }
}
