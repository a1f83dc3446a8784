import ArgumentParser
import FerruleCore
import FerruleDevices
import FerruleStation
import Foundation
import Logging
import ServiceLifecycle

@main
struct Ferruled: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferruled",
        abstract: "Ferrule test-station daemon for MPO/MTP fiber assemblies.",
        version: "\(FerruleVersion.current) (libmodbus \(NativeLibraries.libmodbusVersion))",
        subcommands: [Run.self, CheckConfig.self],
        defaultSubcommand: Run.self)
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the station (the default). With --demo: test the simulated demo lot and exit.")

    @Option(name: .long, help: "Station configuration (YAML).")
    var config: String

    @Option(name: .long, help: "Data directory for references and reports. Default: station.dataDir, $STATE_DIRECTORY, $XDG_STATE_HOME/ferrule or ~/.local/state/ferrule.")
    var dataDir: String?

    @Flag(name: .long, help: "Test the config's simulated demo lot, print a summary and exit 0 only if every verdict and diagnosis matches the simulated truth.")
    var demo = false

    @Flag(name: .long, help: "Log at debug level.")
    var verbose = false

    func run() async throws {
        let level: Logger.Level = verbose ? .debug : (demo ? .warning : .info)
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "ferruled")
        let cfg: StationConfig
        do { cfg = try StationConfig.load(path: config) } catch {
            FileHandle.standardError.write(Data("ferruled: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let data = DataDirectory.resolve(cli: dataDir, config: cfg)
        let station: Station
        do { station = try Station(config: cfg, data: data, logger: logger) } catch {
            FileHandle.standardError.write(Data("ferruled: data directory \(data.root): \(error)\n".utf8))
            throw ExitCode(2)
        }

        if demo {
            let rows: [DemoRow]
            do { rows = try await DemoRunner(station: station).run() } catch {
                FileHandle.standardError.write(Data("ferruled: demo failed: \(error)\n".utf8))
                throw ExitCode(1)
            }
            print(DemoRunner.table(rows))
            print("\nreports: \(data.reports)")
            let bad = rows.filter { !$0.matched }
            if bad.isEmpty {
                print("demo: all \(rows.count) units match the simulated truth")
            } else {
                print("demo: \(bad.count) of \(rows.count) units do NOT match the simulated truth")
                throw ExitCode(1)
            }
            return
        }

        let service = StationService(station: station, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a configuration file and exit.")

    @Argument(help: "The YAML file to check.")
    var path: String

    func run() async throws {
        do {
            let c = try StationConfig.load(path: path)
            print("\(path): OK: station \(c.stationId), \(c.instruments.count) instruments, \(c.fixtures.count) fixtures, \(c.recipes.count) recipes")
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The station as a long-lived service: probes its instruments, then serves until shutdown.
struct StationService: Service {
    let station: Station
    let logger: Logger

    func run() async throws {
        let failures = await station.probe()
        for (name, why) in failures.sorted(by: { $0.key < $1.key }) {
            logger.error("instrument \(name) did not answer: \(why)")
        }
        logger.info("station \(station.config.stationId) ready", metadata: ["data": "\(station.data.root)"])
        try? await gracefulShutdown()
        logger.info("station \(station.config.stationId) stopping")
        await station.events.finish()
    }
}

