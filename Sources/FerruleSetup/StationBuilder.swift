import FerruleControl
import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import Logging
import Synchronization

/// A station built from its config, with the simulated bench behind it when the config has one.
public struct BuiltStation: Sendable {
    public let station: Station
    public let simulation: Simulation?
    /// Run-time faults for the instruments simulated on the wire (the `fault` request).
    public let faults: FaultInjector
    /// The station's services when it runs them itself (`runServices`); they stop with the station.
    public let background: BackgroundServices?
}

/// Builds a station from its config: the drivers (real, or real ones pointed at wire-level
/// simulators, or in-process simulated ones), then the engine around them. ferruled, ferrule-sim,
/// ferrule-bench and the tests all build stations this one way.
public enum StationBuilder {
    /// - Parameters:
    ///   - sinks: replace the configured sinks (tests), retried after `sinkBackoff`, doubling.
    ///   - integrityCheckAfter: when the full integrity check of the store begins, in the background.
    ///   - runServices: run the station's services (retries, device watch, sink runners) in the
    ///     background until it shuts down. ferruled passes false: they go into its service group.
    public static func make(
        config: StationConfig, data: DataDirectory, logger: Logger = Logger(label: "ferrule.station"),
        now: @escaping @Sendable () -> Date = Date.init,
        sinks: [any Sink]? = nil, sinkBackoff: Duration = .seconds(1), runServices: Bool = false,
        integrityCheckAfter: Duration = .seconds(30)
    ) async throws -> BuiltStation {
        let simulation = Box<Simulation>()
        let background = Box<BackgroundServices>()
        var storage = try StationStorage.open(data, spillFile: config.spillFile, logger: logger)
        storage.integrityCheckAfter = integrityCheckAfter
        let (config, central) = await CentralRecipeLoader.take(config, data: data, logger: logger)
        let station = try await Station.make(
            config: config, storage: storage,
            instruments: { runtime in
                let (set, sim) = try await InstrumentFactory.make(config: config, runtimeDirectory: runtime)
                simulation.value = sim
                return set
            },
            onShutdown: {
                await background.value?.stop()  // the sink runners' last deliveries, before the instruments go
                simulation.value?.close()
            },
            sinks: sinks ?? StationParts.sinks(for: config, logger: logger), routeCheck: StationParts.routeCheck(for: config),
            sinkBackoff: sinkBackoff, logger: logger, now: now)
        await station.setCentralRecipes(central)
        let sim = simulation.value
        if runServices { background.value = BackgroundServices(station.services, logger: logger) }
        return BuiltStation(station: station, simulation: sim,
                            faults: FaultInjector(specs: station.instruments.specs, wire: sim?.wire, logger: logger),
                            background: background.value)
    }

    /// Lets a closure handed to `Station.make` see what is made around it; written once.
    private final class Box<Value: Sendable>: Sendable {
        private let stored = Mutex<Value?>(nil)
        var value: Value? {
            get { stored.withLock { $0 } }
            set { stored.withLock { $0 = newValue } }
        }
    }
}

/// Injects faults into instruments simulated on the wire, as an engineer rehearsing the line
/// would: the real driver then meets the fault on the wire. `none` clears it (and plugs an
/// unplugged instrument back in).
public struct FaultInjector: Sendable {
    let specs: [String: InstrumentSpec]
    let wire: WireBench?
    let logger: Logger

    public func inject(_ fault: WireFault, into name: String, scope: FaultScope = FaultScope()) async throws(UnitRefused) {
        guard let spec = specs[name] else {
            throw UnitRefused(message: "no instrument named '\(name)'", fix: "use one of: \(specs.keys.sorted().joined(separator: ", "))")
        }
        guard let wire, wire.instrumentNames.contains(name) else {
            let simulated = wire?.instrumentNames ?? []
            throw UnitRefused(
                message: "\(name) is not simulated on the wire (\(spec.address)); faults go only into 'simulate: tcp|pty' instruments",
                fix: simulated.isEmpty ? "run a config with 'simulate:' instruments, e.g. Config/simulated.yaml"
                    : "use one of: \(simulated.joined(separator: ", "))")
        }
        await wire.inject(fault, into: name, scope: scope)
        let what = ([fault.rawValue] + (scope.isEverywhere ? [] : [Escaped.text(scope.description)])).joined(separator: " ")
        logger.warning("simulated fault injected", metadata: ["instrument": "\(name)", "fault": "\(what)"])
    }
}

extension ControlRoutes {
    /// The `fault` request: a simulated fault into an instrument simulated on the wire.
    public mutating func serveFaults(_ injector: FaultInjector) {
        on(.fault) { r in
            guard case .fault(let asked) = r.request else { throw misrouted(r, to: .fault) }
            let (name, text) = (asked.instrument, asked.fault)
            guard let fault = WireFault(rawValue: text) else {
                throw ControlError(.badRequest, "'fault' is '\(Escaped.text(text))', not a simulated fault",
                                   fix: "use one of: \(WireFault.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let scope = FaultScope(command: asked.command, fiber: asked.fiber)
            try await injector.inject(fault, into: name, scope: scope)
            return .object(["instrument": .string(name), "fault": .string(fault.rawValue), "scope": .string(scope.description)])
        }
    }
}
