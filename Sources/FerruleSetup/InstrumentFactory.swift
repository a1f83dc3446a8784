import FerruleCore
import FerruleDevices
import FerruleSimSpec
import FerruleSimulator
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
                let settle = Duration.milliseconds(Int64(config.simulation?.bench.switchSettleMs ?? 0))
                let wb = try await WireBench.start(wire, bench: bench, ptyDirectory: runtimeDirectory + "/sim", switchSettle: settle)
                for e in wb.endpoints { specs[e.name]?.address = e.address }
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
            set.add(driver(for: spec, bench: simulation?.bench), as: spec)
        }
        return (set, simulation)
    }

    /// The driver a spec names, at the spec's (resolved) address.
    static func driver(for spec: InstrumentSpec, bench: SimulatedBench?) -> any Instrument {
        let timeout = spec.timeoutSeconds.map { Duration.milliseconds(Int64($0 * 1000)) }
        // Validated at config load; an in-process simulator's address was assigned above.
        let address = InstrumentAddress.parse(spec.address, serial: spec.serial) ?? .tcp(host: "invalid", port: 1)
        switch spec.driver {
        case .simSwitch, .simILRL:
            // A config with a sim-* driver always has a bench (see `make`).
            let bench = bench ?? SimulatedBench(wiring: [], settings: BenchSettings())
            if spec.driver == .simSwitch { return SimulatedSwitch(name: spec.name, channelCount: spec.channels ?? 1, bench: bench) }
            return SimulatedILRLMeter(name: spec.name, wavelengthsNm: spec.wavelengthsNm, bench: bench)
        case .santecRL1:
            return SantecRL1(name: spec.name, address: address, wavelengthsNm: spec.wavelengthsNm,
                             noLightFloorDbm: spec.noLightFloorDbm, timeout: timeout ?? .seconds(6))
        case .santecOSX:
            return SantecOSX(name: spec.name, address: address, channelCount: spec.channels ?? 1, timeout: timeout ?? .seconds(2))
        case .keysight816x:
            return Keysight816x(name: spec.name, address: address, slots: spec.keysight ?? .init(), wavelengthsNm: spec.wavelengthsNm,
                                noLightFloorDbm: spec.noLightFloorDbm, timeout: timeout ?? .seconds(3))
        case .diconMEMS:
            return DiConSwitch(name: spec.name, address: address, channelCount: spec.channels ?? 1, timeout: timeout ?? .seconds(1))
        case .modbusSwitch, .modbusIO:
            let link = ModbusLink(name: spec.name, address: address, unitId: spec.unitId, timeout: timeout ?? .milliseconds(500),
                                  retries: spec.retries)
            if let map = spec.switchMap { return ModbusSwitch(name: spec.name, link: link, channelCount: spec.channels ?? 1, map: map) }
            return ModbusFixtureIO(name: spec.name, link: link, map: spec.ioMap ?? ModbusIOMap())
        }
    }
}

extension StationConfig {
    /// The wire-level simulator of each instrument with `simulate:`, or with `fallback` also of
    /// every other instrument that has a real driver (`ferrule-sim serve`).
    public func wireInstruments(fallback: WireTransport? = nil) -> [WireInstrument] {
        instruments.compactMap { s -> WireInstrument? in
            guard let t = s.simulate ?? fallback, let m = WireModel(rawValue: s.driver.rawValue) else { return nil }
            var modbus: ModbusSimKind?
            if let map = s.switchMap { modbus = .opticalSwitch(map, channels: s.channels ?? 1) }
            if let map = s.ioMap { modbus = .fixtureIO(map, fixture: fixtures.first { $0.io == s.name }?.id ?? 0) }
            var w = WireInstrument(name: s.name, model: m, transport: t, channels: s.channels ?? 0, wavelengthsNm: s.wavelengthsNm,
                                   fault: s.fault, modbus: modbus, unitId: s.unitId)
            w.faultScope = s.faultScope
            if let k = s.keysight {
                w.keysight = KeysightSimSlots(sourceSlot: k.sourceSlot, meterSlot: k.meterSlot, meterChannel: k.meterChannel)
            }
            return w
        }
    }
}
