import FerruleCore
import FerruleSimSpec
import Foundation

// The `simulation:` section: what the simulated bench does, and the demo lot.
extension StationConfig {
    /// `simulation:`: the simulated bench's settings and its demo lot (units with built-in faults).
    static func simulationSection(_ s: SimulationEntry, recipes: [String: Recipe], order: [String], fixtures: [FixtureWiring],
                                  _ path: ConfigPath) throws -> SimulationSpec {
        var bench = BenchSettings()
        if let v = s.seed { bench.seed = v }
        if let t = s.timing { bench.timing = try timing(t, path.key("timing")) }
        if let b = s.bench { try benchSettings(b, into: &bench, path.key("bench")) }  // its shorthands win over the preset
        var lot: [DemoUnit] = []
        for (i, u) in (s.demoLot ?? []).enumerated() {
            let p = path.key("demoLot").index(i)
            guard let recipe = recipes[u.partNumber] else {
                throw ConfigIssue(path: p.key("partNumber"), message: "no recipe for part number '\(u.partNumber)'",
                                  fix: "use one of: \(order.joined(separator: ", "))")
            }
            if let fx = u.fixture {
                guard let w = fixtures.first(where: { $0.id == fx }) else {
                    throw ConfigIssue(path: p.key("fixture"), message: "no fixture \(fx)",
                                      fix: "use one of: \(fixtures.map { String($0.id) }.joined(separator: ", "))")
                }
                if let why = w.cannotTest(recipe.assembly) {
                    throw ConfigIssue(path: p.key("fixture"), message: why, fix: "put the unit on a fixture cabled for it")
                }
            }
            for (j, fault) in (u.faults ?? []).enumerated() {
                try checkFaultFibers(fault, recipe: recipe, p.key("faults").index(j))
            }
            lot.append(DemoUnit(serial: u.serial, recipe: recipe, fixture: u.fixture, faults: u.faults ?? []))
        }
        return SimulationSpec(bench: bench, demoLot: lot, operatorPrompts: s.operatorPrompts ?? false)
    }

    static func benchSettings(_ b: BenchEntry, into bench: inout BenchSettings, _ bp: ConfigPath) throws {
        if let v = b.sourcePowerDbm { bench.sourcePowerDbm = try within(v, -40...20, bp.key("sourcePowerDbm"), "dBm") }
        if let v = b.noiseDb { bench.noiseDb = try within(v, 0...1, bp.key("noiseDb"), "dB") }
        if let v = b.driftDbPerReading { bench.driftDbPerReading = try within(v, -1...1, bp.key("driftDbPerReading"), "dB") }
        if let v = b.pathLossMinDb { bench.pathLossMinDb = try within(v, 0...10, bp.key("pathLossMinDb"), "dB") }
        if let v = b.pathLossMaxDb { bench.pathLossMaxDb = try within(v, 0...10, bp.key("pathLossMaxDb"), "dB") }
        guard bench.pathLossMinDb >= 0, bench.pathLossMaxDb >= bench.pathLossMinDb else {
            throw ConfigIssue(path: bp.key("pathLossMaxDb"),
                              message: "path loss range \(bench.pathLossMinDb)...\(bench.pathLossMaxDb) dB is empty or negative",
                              fix: "give 0 <= pathLossMinDb <= pathLossMaxDb, e.g. 0.3 and 0.9")
        }
        if let v = b.darkNoiseWatts { bench.darkNoiseWatts = try within(v, 0...1e-6, bp.key("darkNoiseWatts"), "W") }
        if let v = b.cordWearDbPerMating { bench.cordWearDbPerMating = try within(v, 0...1, bp.key("cordWearDbPerMating"), "dB") }
        if let v = b.cordWearPositions {
            guard v.allSatisfy({ (1...96).contains($0) }) else {
                throw ConfigIssue(path: bp.key("cordWearPositions"), message: "\(v) are not positions 1...96",
                                  fix: "list the fiber positions whose test-cord path wears, e.g. [3, 7, 9]")
            }
            bench.cordWearPositions = v
        }
        if let v = b.switchSettleMs {
            bench.timing.otherSwitchSettleMs = try within(v, 0...60_000, bp.key("switchSettleMs"), "ms")
            bench.timing.switchSettleMs = [:]
        }
        if let v = b.meterReadMs { bench.timing.meterAveragingMs = try within(v, 0...60_000, bp.key("meterReadMs"), "ms") }
    }

    /// `simulation.timing`: a preset, or a preset with some figures changed.
    static func timing(_ t: TimingEntry, _ p: ConfigPath) throws -> SimulationTiming {
        let name = t.preset ?? "instant"
        guard var timing = SimulationTiming.presets[name] else {
            throw ConfigIssue(path: t.switchSettleMs == nil && t.answerMs == nil ? p : p.key("preset"),
                              message: "no timing preset '\(Escaped.text(name))'",
                              fix: "use \(SimulationTiming.presets.keys.sorted().joined(separator: " or ")), or a mapping")
        }
        for (driver, ms) in (t.switchSettleMs ?? [:]).sorted(by: { $0.key < $1.key }) {
            let known = SimulationTiming.switchDrivers
            guard known.contains(driver) else {
                throw ConfigIssue(path: p.key("switchSettleMs").key(driver), message: "'\(Escaped.text(driver))' is not a switch driver",
                                  fix: "name one of \(known.joined(separator: ", "))")
            }
            timing.switchSettleMs[driver] = try within(ms, 0...60_000, p.key("switchSettleMs").key(driver), "ms")
        }
        if let v = t.meterAveragingMs { timing.meterAveragingMs = try within(v, 0...60_000, p.key("meterAveragingMs"), "ms") }
        if let v = t.rlMeasurementMs { timing.rlMeasurementMs = try within(v, 0...60_000, p.key("rlMeasurementMs"), "ms") }
        if let v = t.answerMs { timing.answerMs = try within(v, 0...10_000, p.key("answerMs"), "ms") }
        if let v = t.serialBaud { timing.serialBytesPerSecond = try within(v, 300...10_000_000, p.key("serialBaud"), "baud") / 10 }
        return timing
    }

    /// A demo unit's fault names only fibers its assembly uses.
    static func checkFaultFibers(_ fault: AssemblyFault, recipe: Recipe, _ p: ConfigPath) throws {
        let used = recipe.assembly.layout.usedPositions
        let named: [Int]
        switch fault {
        case .highLoss(let fb, _), .darkFiber(let fb): named = [fb]
        case .swappedPair(let a, let b): named = [a, b]
        case .dirtyEndFace(_, let fbs, _): named = fbs
        case .wrongPolarity, .genderMismatch, .wrongLength: named = []
        case .darkAtWavelength(let fb, _): named = [fb]
        }
        if let bad = named.first(where: { !used.contains($0) }) {
            throw ConfigIssue(path: p, message: "fiber \(bad) is not a used position of \(recipe.partNumber)",
                              fix: "name one of \(Judge.list(used))")
        }
    }
}

struct BenchEntry: Codable {
    var sourcePowerDbm: Double?
    var noiseDb: Double?
    var driftDbPerReading: Double?
    /// Each launch and receive path's loss is drawn per channel and wavelength from this range.
    var pathLossMinDb: Double?
    var pathLossMaxDb: Double?
    /// One sigma of a dark detector's noise, in watts.
    var darkNoiseWatts: Double?
    /// Shorthands of `simulation.timing`: every switch's settling, every power reading.
    var switchSettleMs: Double?
    var meterReadMs: Double?
    /// Test cords that wear: this much more loss per mating on `cordWearPositions`.
    var cordWearDbPerMating: Double?
    var cordWearPositions: [Int]?
}
