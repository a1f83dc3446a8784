import ArgumentParser
import FerruleControl
import FerruleCore
import FerruleDevices
import FerruleMetrics
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleConfig
import FerruleStation
import FerruleWeb
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

@main
struct Ferruled: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferruled",
        abstract: "Ferrule test-station daemon for MPO/MTP fiber assemblies.",
        version: "\(FerruleVersion.current) (libmodbus \(NativeLibraries.libmodbusVersion))",
        subcommands: [
            Run.self, CheckConfig.self, Probe.self, Devices.self, StoreCommand.self, CertificateCommand.self, HashPIN.self
        ],
        defaultSubcommand: Run.self)
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the station (the default). With --demo: test the simulated demo lot and exit.")

    @Option(name: .long, help: "Station configuration (YAML).")
    var config: String

    @Option(
        name: .long,
        help:
            """
            Data directory for references and reports. Default: station.dataDir, $STATE_DIRECTORY, $XDG_STATE_HOME/ferrule or \
            ~/.local/state/ferrule.
            """
    )
    var dataDir: String?

    @Flag(
        name: .long,
        help:
            """
            Test the config's simulated demo lot, print a summary and exit 0 only if every verdict and diagnosis matches the \
            simulated truth.
            """
    )
    var demo = false

    @Option(
        name: .long,
        help:
            """
            Status socket path. Default: control.socket, $FERRULE_SOCKET, $RUNTIME_DIRECTORY/ferruled.sock, \
            /run/ferrule/ferruled.sock if writable, $XDG_RUNTIME_DIR/ferrule/ferruled.sock, else <data-dir>/ferruled.sock.
            """
    )
    var socket: String?

    @Option(
        name: .long,
        help: "Run the simulated instruments at this timing preset (instant or realistic) instead of simulation.timing.")
    var simTiming: String?

    @Flag(name: .long, help: "Log at debug level.")
    var verbose = false

    func run() async throws {
        umask(0o027)  // results, references and the store are the station's group's, never world-readable
        let level: Logger.Level = verbose ? .debug : (demo ? .warning : .info)
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let metricsFactory = DocumentedMetricsFactory.bootstrapped()
        let logger = Logger(label: "ferruled")
        var cfg: StationConfig
        do { cfg = try StationConfig.load(path: config) } catch {
            FileHandle.standardError.write(Data("ferruled: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if let name = simTiming {
            guard let timing = SimulationTiming.presets[name], cfg.simulation != nil else {
                let why = cfg.simulation == nil ? "\(config) has no simulation section" : "no timing preset '\(Escaped.text(name))'"
                FileHandle.standardError.write(Data("ferruled: --sim-timing: \(why) (use instant or realistic)\n".utf8))
                throw ExitCode(2)
            }
            cfg.simulation?.bench.timing = timing
        }
        let data = DataDirectory.resolve(cli: dataDir, config: cfg)
        let built: BuiltStation
        do {
            // The demo runs the station's services itself; the daemon puts them in its service group.
            built = try await StationBuilder.make(config: cfg, data: data, logger: logger, runServices: demo)
        } catch let e as UdevMatchError {
            FileHandle.standardError.write(Data("ferruled: \(config): \(e)\n".utf8))
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("ferruled: data directory \(data.root): \(error)\n".utf8))
            throw ExitCode(2)
        }
        if demo {
            try await runDemo(built, data: data)
        } else {
            try await serve(built, config: cfg, data: data, metricsFactory: metricsFactory, logger: logger)
        }
    }

    /// `--demo`: the simulated demo lot, a summary, and exit 1 unless everything matched the truth.
    func runDemo(_ built: BuiltStation, data: DataDirectory) async throws {
        let rows: [DemoRow]
        do { rows = try await DemoRunner(built).run() } catch {
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
    }

    /// The long-lived daemon: the station, its status socket and SIGHUP reload as services.
    func serve(
        _ built: BuiltStation, config cfg: StationConfig, data: DataDirectory, metricsFactory: DocumentedMetricsFactory,
        logger: Logger
    ) async throws {
        let station = built.station
        if let bench = built.simulation?.bench {
            let sim = cfg.simulation
            await station.setHands(
                SimulatedHands(
                    bench: bench, simulation: sim,
                    prompts: sim?.operatorPrompts == true ? station.prompts : nil,
                    timeout: .milliseconds(Int64(cfg.control.promptTimeoutSeconds * 1000))))
        }
        let notifier = SystemdNotifier()
        let readiness = Readiness(notifier: notifier, logger: logger)
        let socketPath = socket ?? cfg.control.socket ?? SocketPath.daemonDefault(dataDir: data.root)
        // One daemon per socket path too: a second one must not take over a live station's socket.
        let socketLock: ExclusiveLock
        do {
            try FileManager.default.createDirectory(atPath: parentDirectory(of: socketPath), withIntermediateDirectories: true)
            socketLock = try ExclusiveLock.acquire(socketPath + ".lock", what: "socket \(socketPath)")
        } catch {
            FileHandle.standardError.write(Data("ferruled: \(error)\n".utf8))
            await station.shutdown()
            throw ExitCode(2)
        }
        defer { withExtendedLifetime(socketLock) {} }
        var options = ControlServer.Options(path: socketPath, group: cfg.control.group)
        options.idleTimeout = .milliseconds(Int64(cfg.control.idleTimeoutSeconds * 1000))
        var routes = ControlRoutes.station(station)
        routes.serveFaults(built.faults)
        let server = ControlServer(
            routes: routes, events: { await station.events.subscribe(buffer: 1 << 16) }, options: options, logger: logger)
        // Shut down in reverse: the station first (units aborted and kept), then the web app and the
        // socket, then the station's own services (retries, device watch, sink runners), which see it all stored.
        var web: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let spec = cfg.http {
            do {
                let configPath = config
                let metrics = StationMetrics(station: station, factory: metricsFactory)
                web = [
                    .init(service: metrics),
                    .init(
                        service: try WebService(
                            station: station, routes: routes, spec: spec, sessionsPath: data.root + "/web-sessions.json",
                            reload: { await station.reload(fromFile: configPath) }, metrics: metrics.exposition, logger: logger)),
                ]
            } catch {
                FileHandle.standardError.write(Data("ferruled: \(config): \(error)\n".utf8))
                await station.shutdown()
                throw ExitCode(2)
            }
        }
        var groupConfig = ServiceGroupConfiguration(
            services: station.services.map { .init(service: $0) } + [
                .init(service: ControlService(server: server, readiness: readiness))
            ] + web + [
                .init(service: ReloadService(station: station, configPath: config, logger: logger)),
                .init(service: StationService(station: station, logger: logger, readiness: readiness, notifier: notifier))
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfig.maximumGracefulShutdownDuration = .seconds(30)
        groupConfig.maximumCancellationDuration = .seconds(5)
        do { try await ServiceGroup(configuration: groupConfig).run() } catch {
            // A service that could not start (the web port taken) or failed: its words, exit 1.
            FileHandle.standardError.write(Data("ferruled: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a configuration file and exit.")

    @Argument(help: "The YAML file to check.")
    var path: String

    func run() async throws {
        do {
            let c = try StationConfig.load(path: path)
            print(
                """
                \(path): OK: station \(c.stationId), \(c.instruments.count) instruments, \(c.fixtures.count) fixtures, \
                \(c.recipes.count) recipes
                """
            )
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Station self-test: connect to every instrument, print who it is, exit non-zero naming each failure.
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Connect to every configured instrument and print its identity.")

    @Option(help: "Station configuration (YAML).") var config: String
    @Option(help: "Data directory (for simulated instruments' pty links).") var dataDir: String?

    func run() async throws {
        let cfg: StationConfig
        do { cfg = try StationConfig.load(path: config) } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        // A live station owns its instruments and its data directory: probing would disturb both.
        let data = DataDirectory.resolve(cli: dataDir, config: cfg)
        if let holder = ExclusiveLock.holder(data.lockPath) {
            FileHandle.standardError.write(
                Data(
                    ("probe: ferruled\(holder.map { " (PID \($0))" } ?? "") is running on \(data.root) and holds "
                        + "its instruments; 'ferrulectl status' shows them, or stop it before probing\n").utf8))
            throw ExitCode(2)
        }
        // Nothing is written to the data directory: simulated instruments get a private folder.
        let runtime = NSTemporaryDirectory() + "ferrule-probe-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let (instruments, simulation) = try await InstrumentFactory.make(config: cfg, runtimeDirectory: runtime)
        defer { simulation?.close() }
        var failures: [String: String] = [:]
        for spec in cfg.instruments {
            let address = instruments.specs[spec.name]?.address ?? spec.address
            do {
                guard let instrument = instruments.all[spec.name] else { continue }
                let id = try await instrument.identify()
                print(
                    """
                    \(spec.name)  \(spec.driver.name)  \(address)  ok: \(id.manufacturer) \(id.model) serial \(id.serial) \
                    firmware \(id.firmware)
                    """
                )
            } catch {
                failures[spec.name] = "\(error)"
                print("\(spec.name)  \(spec.driver.name)  \(address)  FAILED: \(error)")
            }
        }
        if !failures.isEmpty {
            FileHandle.standardError.write(
                Data("probe: \(failures.count) instrument(s) failed: \(failures.keys.sorted().joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the serial and USB ports instruments can be on, with the match line to paste into a config.")

    @Flag(help: "Print JSON (one object per port).") var json = false

    func run() throws {
        let found = Udev.candidates()
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try e.encode(found), as: UTF8.self))
            return
        }
        if found.isEmpty {
            print("no USB serial or USB-TMC ports found (is the instrument plugged in and powered?)")
            return
        }
        for c in found {
            print(c.summary)
            if let v = c.properties["ID_VENDOR"] ?? c.properties["ID_MODEL"] { print("    \(v) \(c.properties["ID_MODEL"] ?? "")") }
            print("    \(c.matchLine)")
        }
    }
}
