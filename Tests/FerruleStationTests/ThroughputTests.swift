import FerruleCore
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// What makes the station fast must never make it wrong: the learning search, the all-dark stop,
/// and two fixtures sharing instruments at real speed.
@Suite(.shutsDownStations) struct ThroughputTests {
    /// The simulated config on its wire simulators, the RL limits left out (an RL1 takes a second
    /// per wavelength for RL), with `schedule`, referenced at instant speed.
    func wireStation(schedule: InstrumentSchedule) async throws -> BuiltStation {
        var config = try StationConfig.load(path: Repo.simulatedConfig)
        config.schedule = schedule
        for (part, var r) in config.recipes {
            r.limits.rlMinDb = nil
            r.limits.rlMinDbB = nil
            config.recipes[part] = r
        }
        return try await makeBuiltStation(config: config)
    }

    /// Two fixtures on the shared switches and meter, at the realistic profile's speed: every
    /// IL equals the simulated unit's own loss (a reading through a switch position the other
    /// fixture set would be off by the paths' difference, or dark), and no light ever entered a
    /// fixture with its lid open.
    @Test(arguments: [InstrumentSchedule.fiber, .unit])
    func twoFixturesAtRealSpeedReadOnlyThroughTheirOwnPaths(schedule: InstrumentSchedule) async throws {
        let built = try await wireStation(schedule: schedule)
        defer { built.simulation?.close() }
        let (station, bench) = (built.station, try #require(built.simulation?.bench))
        bench.setTiming(.realistic)
        let part = "FT-MTP8-SMAPC-B"
        let recipe = station.config.recipes[part]!
        let units = [1, 2].map { SimulatedAssembly(serial: "RS-\(schedule)-\($0)", recipe: recipe, seed: UInt64($0)) }
        for (i, u) in units.enumerated() { await bench.mount(.assembly(u), fixture: i + 1) }
        let outcomes = try await withThrowingTaskGroup(of: (Int, UnitOutcome).self) { g in
            for (i, u) in units.enumerated() {
                g.addTask { (i, try await station.test(UnitRequest(serial: u.serial, partNumber: part, fixture: i + 1, operatorId: "t"))) }
            }
            var out: [Int: UnitOutcome] = [:]
            for try await (i, o) in g { out[i] = o }
            return out
        }
        for (i, u) in units.enumerated() {
            let report = try #require(outcomes[i]?.report)
            #expect(report.verdict == .pass, "\(report.reasons)")
            #expect(report.measurements.count == recipe.assembly.layout.usedPositions.count * recipe.wavelengthsNm.count)
            for m in report.measurements {
                let truth = try #require(u.loss[m.fiber]?[m.wavelengthNm])
                #expect(
                    abs((m.ilDb ?? 99) - truth) < 0.02,
                    "fixture \(i + 1) fiber \(m.fiber) at \(m.wavelengthNm) nm: \(m.ilDb ?? -1) vs \(truth)")
            }
        }
        #expect(await bench.interlockViolations.isEmpty)
    }

    /// A Type A unit under a Type B recipe: the first fiber is looked for, the others are found
    /// where the first one arrived; the diagnosis is the same as with the full search.
    @Test func theSearchLearnsFromTheFirstFiber() async throws {
        let (station, bench) = try await makeStation()
        let part = "FT-MTP12-SMAPC-B-LL"
        let before = await bench.readings
        let o = try await testUnit(station, bench, serial: "LEARN-1", part: part, faults: [.wrongPolarity(.a)])
        let readings = await bench.readings - before
        #expect(o.report.verdict == .fail && o.report.diagnoses.first?.code == .wrongPolarityType, "\(o.report.diagnoses)")
        #expect(o.report.polarity.observedMap.allSatisfy { $0.receivePosition == $0.fiber })
        // Good: 12 fibers x 2 wavelengths = 24 readings. The first fiber pays one more (its Type B
        // position, dark); without learning every fiber would.
        #expect(readings == 25, "\(readings) power readings")
    }

    /// After two fibers dark at every position the unit stops as all dark; with the rule off,
    /// every fiber is scanned; either way the diagnosis is the same.
    @Test(arguments: [2, 0])
    func anAllDarkUnitStopsAfterTwoFibers(after: Int) async throws {
        var config = try StationConfig.parse(try inProcessConfigText(), file: "dark.yaml")
        config.rules.allDarkAfterFibers = after
        let (station, bench) = try await makeStation(config: config)
        let o = try await testUnit(station, bench, serial: "DARK-\(after)", part: "FT-MTP12-SMAPC-B-LL", faults: [.genderMismatch])
        #expect(o.report.verdict == .fail && o.report.diagnoses.map(\.code) == [.allDark], "\(o.report.diagnoses)")
        let measured = Set(o.report.measurements.map(\.fiber))
        #expect(measured == (after == 2 ? [1, 2] : Set(1...12)))
        if after == 2 {
            #expect(o.report.reasons.contains { $0.contains("stopped there") }, "\(o.report.reasons)")
            #expect(o.report.fibers.filter { $0.verdict == .notTested }.count == 10)
        }
    }
}
