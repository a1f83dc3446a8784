import FerruleCore
import FerruleDevices
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation

/// The simulated side of a station: the optical bench behind every simulated instrument, and
/// the wire-level simulators started for instruments with `simulate: tcp|pty`.
public struct Simulation: Sendable {
    public let bench: SimulatedBench
    public let wire: WireBench?

    /// Stops the wire-level simulators (their sockets and pty links).
    public func close() { wire?.close() }
}

/// Builds a config's drivers: the one place that knows which driver a `driver:` name means.
public enum InstrumentFactory {
    /// Builds every configured driver. Instruments with `simulate:` are first served from the
    /// simulated bench on their transport (pty links under `runtimeDirectory`), and their real
    /// driver is pointed at that endpoint, so the real drivers, parsers and timeouts run.
    public static func make(config: StationConfig, runtimeDirectory: String) async throws -> (InstrumentSet, Simulation?) {
        var specs = Dictionary(uniqueKeysWithValues: config.instruments.map { ($0.name, $0) })
        var simulation: Simulation?
        if config.instruments.contains(where: { $0.driver.isSimulated || $0.simulate != nil }) {
            let bench = SimulatedBench(wiring: config.fixtures, settings: config.simulation?.bench ?? BenchSettings())
            var wireBench: WireBench?
            let wire = config.wireInstruments()
            if !wire.isEmpty {
                let wb = try await WireBench.start(wire, bench: bench, ptyDirectory: runtimeDirectory + "/sim")
                for e in wb.endpoints {
                    specs[e.name]?.address = e.address
                    if let a = e.applicationAddress, case .viaviPCT(let n, _)? = specs[e.name]?.settings {
                        specs[e.name]?.settings = .viaviPCT(channels: n, application: a)
                    }
                }
                wireBench = wb
            }
            simulation = Simulation(bench: bench, wire: wireBench)
        }
        // Ports found by udev properties: exactly one device must match each.
        let matched = specs.values.filter { $0.match != nil }
        if !matched.isEmpty {
            let candidates = Udev.candidates()
            for spec in matched {
                guard let match = spec.match else { continue }
                specs[spec.name]?.address = try Udev.resolve(match, instrument: spec.name, among: candidates).devnode
            }
        }
        var set = InstrumentSet(specs: specs)
        for spec in specs.values.sorted(by: { $0.name < $1.name }) {
            set.add(DriverRegistry.driver(for: spec, bench: simulation?.bench), as: spec)
        }
        return (set, simulation)
    }
}

extension StationConfig {
    /// The wire-level simulator of each instrument with `simulate:`, or with `fallback` also of
    /// every other instrument that has a real driver (`ferrule-sim serve`).
    public func wireInstruments(fallback: WireTransport? = nil) -> [WireInstrument] {
        instruments.compactMap { s -> WireInstrument? in
            guard let t = s.simulate ?? fallback, let m = WireModel(rawValue: s.driver.name) else { return nil }
            var modbus: ModbusSimKind?
            switch s.settings {
            case .modbusSwitch(let channels, let map, _): modbus = .opticalSwitch(map, channels: channels)
            case .modbusIO(let map, _): modbus = .fixtureIO(map, fixture: fixtures.first { $0.io == s.name }?.id ?? 0)
            default: break
            }
            var w = WireInstrument(
                name: s.name, model: m, transport: t, channels: s.channels ?? 0, wavelengthsNm: s.wavelengthsNm,
                fault: s.fault, modbus: modbus, unitId: s.settings.modbusLink?.unitId ?? 1)
            w.faultScope = s.faultScope
            if let k = s.settings.keysightSlots {
                w.keysight = KeysightSimSlots(sourceSlot: k.sourceSlot, meterSlot: k.meterSlot, meterChannel: k.meterChannel)
            }
            return w
        }
    }
}
