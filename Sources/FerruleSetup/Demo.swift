import FerruleCore
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation

/// One demo unit: what the station concluded next to what the simulator built.
public struct DemoRow: Sendable {
    public var serial: String
    public var partNumber: String
    public var fixture: Int
    public var verdict: Verdict?
    public var worstIlDb: Double?
    public var diagnoses: [Diagnosis]
    public var expectedVerdict: Verdict
    public var expectedDiagnoses: [DiagnosisCode: [Int]]
    public var reportPath: String?
    /// Empty when the station's conclusion matches the simulated truth.
    public var mismatches: [String]

    public var matched: Bool { mismatches.isEmpty }
}

/// The demo could not run (a unit was refused or an instrument failed).
public struct DemoError: Error, CustomStringConvertible {
    public var description: String
}

/// Runs the configured demo lot on the simulated bench: references on every fixture, then
/// every unit, fixtures in parallel, and compares each report with the simulator's truth.
public struct DemoRunner: Sendable {
    public let station: Station
    public let simulation: Simulation?

    public init(_ built: BuiltStation) {
        self.station = built.station
        self.simulation = built.simulation
    }

    public func run() async throws -> [DemoRow] {
        let config = station.config
        guard let bench = simulation?.bench else {
            throw DemoError(description: "\(config.sourcePath): --demo needs a simulated bench (instruments with sim-* drivers)")
        }
        guard let lot = config.simulation?.demoLot, !lot.isEmpty else {
            throw DemoError(description: "\(config.sourcePath): simulation.demoLot is empty: add demo units to run --demo")
        }
        let failures = await station.availability.probe()
        if !failures.isEmpty {
            throw DemoError(
                description: "instruments failed to answer: " + failures.map { "\($0.key): \($0.value)" }.sorted().joined(separator: "; "))
        }
        // A reference with every reference cord that fits each fixture (a Type A and a Type B cord...).
        for w in config.fixtures {
            for cord in config.referenceCords where !w.cabled(cord.map).isEmpty {
                await bench.mount(.cord(cord.map), fixture: w.id)
                _ = try await station.takeReference(fixture: w.id, cord: cord.id, operatorId: "demo")
                await bench.mount(.empty, fixture: w.id)
            }
        }

        // Assign units to fixtures: as configured, else round robin over fixtures that can test them.
        var queues: [Int: [(Int, DemoUnit)]] = [:]
        for (i, u) in lot.enumerated() {
            let able = config.fixtures.filter { $0.cannotTest(u.recipe.assembly) == nil }
            guard let fx = u.fixture ?? (able.isEmpty ? nil : able[i % able.count].id) else {
                throw UnitRefused(message: "no fixture is cabled for \(u.serial)'s part \(u.partNumber)",
                                  fix: "cable a fixture for it or take the unit out of simulation.demoLot")
            }
            queues[fx, default: []].append((i, u))
        }
        let seed = config.simulation?.bench.seed ?? 1
        let station = station
        let rows = try await withThrowingTaskGroup(of: [(Int, DemoRow)].self) { group in
            for (fx, units) in queues {
                group.addTask {
                    var out: [(Int, DemoRow)] = []
                    for (i, u) in units {
                        let truth = SimulatedAssembly(serial: u.serial, recipe: u.recipe, faults: u.faults, seed: seed)
                        await bench.mount(.assembly(truth), fixture: fx)
                        let outcome = try await station.test(
                            UnitRequest(serial: u.serial, partNumber: u.partNumber, fixture: fx, operatorId: "demo"))
                        await bench.mount(.empty, fixture: fx)
                        out.append((i, Self.compare(outcome, truth: truth, fixture: fx)))
                    }
                    return out
                }
            }
            var all: [(Int, DemoRow)] = []
            for try await r in group { all += r }
            return all
        }
        return rows.sorted { $0.0 < $1.0 }.map(\.1)
    }

    static func compare(_ outcome: UnitOutcome, truth: SimulatedAssembly, fixture: Int) -> DemoRow {
        let r = outcome.report
        let (verdict, expected) = truth.truth
        var mismatches: [String] = []
        if r.verdict != verdict { mismatches.append("verdict \(r.verdict.rawValue), expected \(verdict.rawValue)") }
        let got = Dictionary(r.diagnoses.map { ($0.code, $0.fibers.sorted()) }, uniquingKeysWith: { a, b in (a + b).sorted() })
        for (code, fibers) in expected where got[code] != fibers {
            mismatches.append("expected \(code.rawValue) on \(Judge.list(fibers)), got \(got[code].map { Judge.list($0) } ?? "none")")
        }
        for code in got.keys where expected[code] == nil {
            mismatches.append("unexpected \(code.rawValue) on \(Judge.list(got[code]!))")
        }
        for fault in truth.faults {
            if case .dirtyEndFace(let end, _, _) = fault, let d = r.diagnoses.first(where: { $0.code == .contaminatedEndFace }),
                d.end != end
            {
                mismatches.append("contamination placed at end \(d.end?.rawValue ?? "?"), expected \(end.rawValue)")
            }
        }
        return DemoRow(
            serial: r.unit.serial, partNumber: r.unit.partNumber, fixture: fixture, verdict: r.verdict,
            worstIlDb: r.summary.worstIlDb, diagnoses: r.diagnoses, expectedVerdict: verdict,
            expectedDiagnoses: expected, reportPath: outcome.reportPath, mismatches: mismatches)
    }

    /// The summary table printed by `ferruled --demo`.
    public static func table(_ rows: [DemoRow]) -> String {
        let header = ["serial", "recipe", "fixture", "verdict", "worst IL", "diagnosis", "matches truth"]
        var lines: [[String]] = [header]
        for r in rows {
            let diag =
                r.diagnoses.isEmpty
                ? "-"
                : r.diagnoses.map { d in
                    "\(d.code.rawValue)\(d.fibers.isEmpty ? "" : " \(Judge.list(d.fibers))")\(d.end.map { " @\($0.rawValue)" } ?? "")"
                }.joined(separator: "; ")
            lines.append([
                r.serial, r.partNumber, String(r.fixture), r.verdict?.rawValue ?? "-",
                r.worstIlDb.map { String(format: "%.3f dB", $0) } ?? "-", diag,
                r.matched ? "yes" : "NO: " + r.mismatches.joined(separator: "; ")
            ])
        }
        let widths = header.indices.map { c in lines.map { $0[c].count }.max()! }
        return lines.map { l in
            l.enumerated().map { c, s in c == l.count - 1 ? s : s.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
