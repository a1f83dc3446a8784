import FerruleCore
import FerruleSimSpec
import FerruleConfig
import FerruleStation
import Foundation

/// A VIAVI MAP-300 PCT station (`Config/viavi-pct.yaml`) under the realistic profile: each unit's
/// cycle against the simulated instrument's own measuring time (its paths times wavelengths
/// times the time per path, plus the port map's search per launch it looks for).
enum PCTBench {
    static func run(configPath: String = "Config/viavi-pct.yaml") async throws {
        let dir = NSTemporaryDirectory() + "ferrule-bench-pct-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try await Throughput.start(configPath: configPath, data: dir, timing: .realistic, withRL: true)
        defer { t.wire.close() }
        let part = "FT-MTP12-SMAPC-B-3M"
        let recipe = try t.config.recipe(part)
        let fibers = recipe.assembly.layout.usedPositions.count, wls = recipe.wavelengthsNm.count
        let timing = SimulationTiming.realistic
        print(String(format: "\nVIAVI MAP-300 PCT, realistic profile (%.0f ms a path and wavelength, %.0f ms a port-map launch, "
            + "%.0f ms an answer):", timing.pctPathMs, timing.pctPortMapMs, timing.answerMs))
        _ = try await t.unit(part, serial: "PCT-WARM")  // the application launched, settings sent
        func report(_ what: String, _ u: Throughput.Unit, instrumentMs: Double) {
            let lines = u.exchanges.values.reduce(0, +)
            print(String(format: "  %@: %.2f s against the instrument's own %.2f s (%.3fx), %d lines (%@)", what, u.seconds,
                         instrumentMs / 1000, u.seconds / (instrumentMs / 1000), lines, u.verdict.rawValue))
        }
        let measure = timing.pctPathMs * Double(fibers * wls)
        report("a good 12-fiber unit at 2 wavelengths", try await t.unit(part, serial: "PCT-G1"), instrumentMs: measure)
        report("again", try await t.unit(part, serial: "PCT-G2"), instrumentMs: measure)
        // One fiber dark: the measurement, a port-map search of that launch, nothing to measure again.
        report("one dark fiber", try await t.unit(part, serial: "PCT-DK", faults: [.darkFiber(fiber: 5)]),
               instrumentMs: measure + timing.pctPortMapMs)
        // Every fiber elsewhere: the measurement, a port map of every launch, and the measurement again.
        report("a Type A unit under the Type B recipe", try await t.unit(part, serial: "PCT-TA", faults: [.wrongPolarity(.a)]),
               instrumentMs: 2 * measure + timing.pctPortMapMs * Double(fibers))
        await t.station.shutdown()
    }
}
