import ArgumentParser
import FerruleCore
import FerruleSimulator
import FerruleStation
import Foundation

@main
struct FerruleSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferrule-sim",
        abstract: "The simulated bench: what it holds and what a correct station must conclude.",
        discussion: "Serving the instruments on real wire protocols (SCPI over pty/TCP, Modbus) is the next step; today ferrule-sim describes the bench that ferruled runs in-process.",
        subcommands: [Describe.self],
        defaultSubcommand: Describe.self)
}

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Print the bench wiring and the demo lot with its simulated truth.")

    @Option(help: "Station configuration (YAML).")
    var config: String

    func run() throws {
        let c: StationConfig
        do { c = try StationConfig.load(path: config) } catch {
            FileHandle.standardError.write(Data("ferrule-sim: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print("station \(c.stationId): \(c.instruments.count) instruments")
        for i in c.instruments {
            print("  \(i.name): \(i.driver.rawValue)\(i.channels.map { " 1x\($0)" } ?? "")\(i.wavelengthsNm.isEmpty ? "" : " \(i.wavelengthsNm) nm")")
        }
        for w in c.fixtures {
            let l = w.launchChannels.values.sorted(), r = w.receiveChannels.values.sorted()
            print("  fixture \(w.id): launch \(w.launchSwitch) \(l.first!)-\(l.last!), receive \(w.receiveSwitch) \(r.first!)-\(r.last!), meter \(w.powerMeter)")
        }
        let seed = c.simulation?.bench.seed ?? 1
        print("demo lot (seed \(seed)):")
        for u in c.simulation?.demoLot ?? [] {
            let truth = SimulatedAssembly(serial: u.serial, recipe: c.recipes[u.partNumber]!, faults: u.faults, seed: seed).truth
            let d = truth.diagnoses.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \(Judge.list($0.value))" }
            print("  \(u.serial) \(u.partNumber): expect \(truth.verdict.rawValue)\(d.isEmpty ? "" : " [\(d.joined(separator: "; "))]")")
        }
    }
}
