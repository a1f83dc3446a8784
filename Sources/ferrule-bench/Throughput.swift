import FerruleCore
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import Logging

/// Units per hour at real instrument speed: the config's station on its wire simulators under the
/// `realistic` timing profile, against the floor the profile itself sets.
struct Throughput {
    let config: StationConfig
    let station: Station
    let bench: SimulatedBench
    let wire: WireBench
    let timing: SimulationTiming

    /// The station with every reference cord read (instantly), then switched to `timing`. The
    /// recipes are the config's with RL left out: an RL1 takes about a second per wavelength for
    /// RL, which would hide what the scheduling does (`--with-rl` keeps it).
    static func start(configPath: String, data: String, timing: SimulationTiming, withRL: Bool) async throws -> Throughput {
        var config = try StationConfig.load(path: configPath)
        if !withRL {
            for (part, var r) in config.recipes {
                r.limits.rlMinDb = nil
                r.limits.rlMinDbB = nil
                config.recipes[part] = r
            }
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        config.simulation?.bench.timing = .instant
        let built = try await StationBuilder.make(config: config, data: DataDirectory(root: data), logger: logger)
        guard let sim = built.simulation, let wire = sim.wire else { throw BenchError("\(configPath) has no wire simulators") }
        await built.station.availability.probe()
        for f in config.fixtures {
            for cord in config.referenceCords where !f.cabled(cord.map).isEmpty {
                await sim.bench.mount(.cord(cord.map), fixture: f.id)
                _ = try await built.station.takeReference(fixture: f.id, cord: cord.id, operatorId: "bench")
            }
            await sim.bench.mount(.empty, fixture: f.id)
        }
        sim.bench.setTiming(timing)
        return Throughput(config: config, station: built.station, bench: sim.bench, wire: wire, timing: timing)
    }

    struct Unit {
        var seconds: Double
        var exchanges: [String: Int]
        var fibers: Int
        var verdict: Verdict
    }

    /// One unit on `fixture`, timed from the request to the verdict.
    func unit(_ part: String, serial: String, fixture: Int = 1, faults: [AssemblyFault] = []) async throws -> Unit {
        let recipe = try config.recipe(part)
        await bench.mount(.assembly(SimulatedAssembly(serial: serial, recipe: recipe, faults: faults)), fixture: fixture)
        let before = await wire.exchanges()
        let t0 = ContinuousClock.now
        let o = try await station.test(UnitRequest(serial: serial, partNumber: part, fixture: fixture, operatorId: "bench"))
        let seconds = (ContinuousClock.now - t0).seconds
        let after = await wire.exchanges()
        await bench.mount(.empty, fixture: fixture)
        let fibers = Set(o.report.measurements.map(\.fiber)).count
        return Unit(
            seconds: seconds, exchanges: after.merging(before) { $0 - $1 }.filter { $0.value > 0 }, fibers: fibers,
            verdict: o.report.verdict)
    }

    /// What the instruments need for a good unit and nothing else: per fiber the slower switch's
    /// settling, then per wavelength one reading (averaging and answer) and, between wavelengths,
    /// one laser change (its answer); RL where the recipe judges it. Answers include the serial
    /// line's time for about 40 bytes when the meter is on a pty.
    func floor(_ part: String, fixture: Int = 1) throws -> (bare: Double, withAnswers: Double) {
        let recipe = try config.recipe(part)
        let w = try config.fixture(fixture)
        func driver(_ name: String) -> String { config.instruments.first { $0.name == name }?.driver.name ?? "" }
        let settle = max(timing.settleMs(driver(w.launchSwitch)), timing.settleMs(driver(w.receiveSwitch)))
        let serial = config.instruments.first { $0.name == w.powerMeter }?.simulate == .pty
        let answer = timing.answerMs + (serial ? timing.serialBytesPerSecond.map { 40 / $0 * 1000 } ?? 0 : 0)
        let wls = Double(recipe.wavelengthsNm.count)
        let rl = recipe.limits.judgesReturnLoss ? timing.rlMeasurementMs : 0
        let fibers = Double(recipe.assembly.layout.usedPositions.count)
        let bare = fibers * (settle + wls * (timing.meterAveragingMs + rl)) / 1000
        let answers = fibers * (wls * (rl > 0 ? 2 : 1) + (wls - 1)) * answer / 1000
        return (bare, bare + answers)
    }

    /// Units per hour with an operator who takes `load` seconds per unit, on each of `fixtures`
    /// testing `cycles` units: each fixture's rate from its first to its last verdict (the start,
    /// when everyone loads at once, is left out), summed.
    func unitsPerHour(_ part: String, fixtures: [Int], load: Double, cycles: Int) async throws -> Double {
        let rates = try await withThrowingTaskGroup(of: Double.self) { g in
            for f in fixtures {
                g.addTask {
                    var finished: [ContinuousClock.Instant] = []
                    for i in 0..<cycles {
                        try await Task.sleep(for: .milliseconds(Int(load * 1000)))  // the operator loads the unit
                        _ = try await unit(part, serial: "UPH-\(f)-\(i)", fixture: f)
                        finished.append(.now)
                    }
                    return Double(cycles - 1) / (finished.last! - finished.first!).seconds
                }
            }
            var sum = 0.0
            for try await r in g { sum += r }
            return sum
        }
        return rates * 3600
    }
}

extension FerruleBench {
    /// Cycle times against the floor, the learning search, the all-dark stop, and units per hour
    /// for one and two fixtures, under the realistic timing profile.
    static func throughput(configPath: String, load: Double, cycles: Int, withRL: Bool) async throws {
        let dir = NSTemporaryDirectory() + "ferrule-bench-throughput-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try await Throughput.start(configPath: configPath, data: dir, timing: .realistic, withRL: withRL)
        defer { t.wire.close() }
        let schedule = t.config.schedule.rawValue
        print("\nthroughput under the realistic profile (\(withRL ? "with" : "without") RL; schedule: \(schedule)):")
        var good: [String: Double] = [:]
        for part in ["FT-MTP12-SMAPC-B-LL", "FT-MTP24-OM4-A"] {
            let recipe = try t.config.recipe(part)
            _ = try await t.unit(part, serial: "WARM-\(part)")  // connections open, settings sent
            let u = try await t.unit(part, serial: "G-\(part)")
            good[part] = u.seconds
            let (bare, full) = try t.floor(part)
            let perFiber = u.exchanges.sorted { $0.key < $1.key }.map {
                String(format: "%@ %.1f", $0.key, Double($0.value) / Double(u.fibers))
            }
            print(
                String(
                    format: "  %@ (%d fibers, %d wavelengths): %.2f s; floor %.2f s with the instruments' answers (%.3fx), "
                        + "%.2f s of settling and averaging alone (%.3fx)",
                    part, u.fibers, recipe.wavelengthsNm.count, u.seconds, full, u.seconds / full, bare, u.seconds / bare))
            let total = Double(u.exchanges.values.reduce(0, +)) / Double(u.fibers)
            print(String(format: "    exchanges per fiber: %.1f (%@)", total, perFiber.joined(separator: ", ")))
        }
        let part = "FT-MTP12-SMAPC-B-LL"
        let typeA = try await t.unit(part, serial: "TA-1", faults: [.wrongPolarity(.a)])
        print(
            String(
                format: "  a Type A unit under the Type B recipe: %.2f s = %.3fx a good unit (%@)", typeA.seconds,
                typeA.seconds / good[part]!, typeA.verdict.rawValue))
        let dark = try await t.unit(part, serial: "AD-1", faults: [.genderMismatch])
        print(
            String(
                format: "  an all-dark unit (gender mismatch): %.2f s = %.3fx a good unit (%@ after %d fibers)", dark.seconds,
                dark.seconds / good[part]!, dark.verdict.rawValue, dark.fibers))
        let cycle = good[part]!
        let one = try await t.unitsPerHour(part, fixtures: [1], load: load, cycles: cycles)
        let idealOne = 3600 / (cycle + load)
        print(
            String(format: "  units/hour, one fixture, %.0f s load: %.0f (ideal %.0f, %.1f%%)", load, one, idealOne, one / idealOne * 100))
        let two = try await t.unitsPerHour(part, fixtures: [1, 2], load: load, cycles: cycles)
        // Two fixtures sharing the instruments: they are busy all the time unless a load takes
        // longer than the other fixture's test; then each fixture's cycle is its test plus its load.
        let idealTwo = min(3600 / cycle, 7200 / (cycle + load))
        print(
            String(format: "  units/hour, two fixtures, %.0f s load: %.0f (ideal %.0f, %.1f%%)", load, two, idealTwo, two / idealTwo * 100))
        await t.station.shutdown()
    }
}
