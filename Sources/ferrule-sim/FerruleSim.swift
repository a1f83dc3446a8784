import ArgumentParser
import FerruleCore
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import UnixSignals

@main
struct FerruleSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferrule-sim",
        abstract: "The simulated bench: what it holds and what a correct station must conclude.",
        discussion:
            """
                serve: the config's instruments on their real wire protocols (SCPI over TCP or a pty), backed by one optical model; point \
                a station's config at the endpoints it writes.
                """,
        subcommands: [Serve.self, Describe.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the simulated bench's instruments until SIGINT/SIGTERM.")

    @Option(help: "Station configuration (YAML): its instruments with real drivers are served.") var config: String
    @Option(help: "Write the endpoints here (JSON: name, protocol, transport, address).") var endpointsFile: String?
    @Option(help: "Folder for the pty links.") var ptyDir = "/tmp/ferrule-sim"
    @Option(help: "Transport for instruments without 'simulate:' (tcp or pty).") var transport = "tcp"

    func run() async throws {
        let c: StationConfig
        do { c = try StationConfig.load(path: config) } catch {
            FileHandle.standardError.write(Data("ferrule-sim: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let fallback = WireTransport(rawValue: transport) ?? .tcp
        let wire = c.wireInstruments(fallback: fallback)
        guard !wire.isEmpty else {
            FileHandle.standardError.write(Data("ferrule-sim: \(config) has no instruments with a real driver to serve\n".utf8))
            throw ExitCode(2)
        }
        let bench = SimulatedBench(wiring: c.fixtures, settings: c.simulation?.bench ?? BenchSettings())
        let wb = try await WireBench.start(wire, bench: bench, ptyDirectory: ptyDir)
        for e in wb.endpoints {
            FileHandle.standardOutput.write(Data("\(e.name)  \(e.protocol)  \(e.transport.rawValue)  \(e.address)\n".utf8))
        }
        if let f = endpointsFile { try wb.writeEndpoints(to: f) }
        Self.readFaults(into: wb)
        // Serve until asked to stop.
        for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { break }
        wb.close()
    }

    /// Run-time faults typed (or piped) on stdin, one per line: `NAME FAULT`, e.g. `ilrl unplug`,
    /// `ilrl none`. Read on a thread of its own: a blocked read must not hold a cooperative thread.
    static func readFaults(into wb: WireBench) {
        let t = Thread {
            while let line = readLine() {
                let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard !words.isEmpty else { continue }
                guard words.count == 2, wb.instrumentNames.contains(words[0]), let fault = WireFault(rawValue: words[1]) else {
                    FileHandle.standardError.write(
                        Data(
                            """
                            ferrule-sim: '\(line)' is not 'INSTRUMENT FAULT'; instruments: \(wb.instrumentNames.joined(separator: ", ")); \
                            faults: \(WireFault.allCases.map(\.rawValue).joined(separator: ", "))

                            """.utf8))
                    continue
                }
                let done = DispatchSemaphore(value: 0)
                Task {
                    await wb.inject(fault, into: words[0])
                    done.signal()
                }
                done.wait()
                FileHandle.standardOutput.write(Data("\(words[0]): \(fault == .none ? "fault cleared" : fault.rawValue)\n".utf8))
            }
        }
        t.name = "fault-input"
        t.start()
    }
}

struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Print the bench wiring and the demo lot with its simulated truth.")

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
            let channels = i.channels.map { " 1x\($0)" } ?? ""
            print("  \(i.name): \(i.driver.name)\(channels)\(i.wavelengthsNm.isEmpty ? "" : " \(i.wavelengthsNm) nm")")
        }
        for w in c.fixtures {
            /// A channel range as `first-last`, or `none` for a fixture cabled on no channel.
            func span(_ channels: [Int: Int]) -> String {
                let c = channels.values.sorted()
                return c.first.map { "\($0)-\(c.last ?? $0)" } ?? "none"
            }
            print(
                """
                  fixture \(w.id): launch \(w.launchSwitch) \(span(w.launchChannels)), receive \(w.receiveSwitch) \
                \(span(w.receiveChannels)), meter \(w.powerMeter)
                """
            )
        }
        let seed = c.simulation?.bench.seed ?? 1
        print("demo lot (seed \(seed)):")
        for u in c.simulation?.demoLot ?? [] {
            let truth = SimulatedAssembly(serial: u.serial, recipe: u.recipe, faults: u.faults, seed: seed).truth
            let d = truth.diagnoses.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \(Judge.list($0.value))" }
            print("  \(u.serial) \(u.partNumber): expect \(truth.verdict.rawValue)\(d.isEmpty ? "" : " [\(d.joined(separator: "; "))]")")
        }
    }
}
