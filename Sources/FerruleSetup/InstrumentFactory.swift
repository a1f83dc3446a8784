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
                    if let a = e.applicationAddress { specs[e.name]?.pctAddress = a }
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
            set.add(driver(for: spec, bench: simulation?.bench), as: spec)
        }
        return (set, simulation)
    }

    /// The driver a spec names, at the spec's (resolved) address.
    static func driver(for spec: InstrumentSpec, bench: SimulatedBench?) -> any Instrument {
        // Names were checked against `DriverCatalog` at config load; a test checks every one is here.
        guard let make = DriverRegistry.constructors[spec.driver.name] else {
            preconditionFailure("driver \(spec.driver.name) is in the catalog but has no constructor")
        }
        return make(DriverRegistry.Context(spec: spec, simulatedBench: bench))
    }
}

/// Every driver's constructor, registered under the name a config uses for it.
public enum DriverRegistry {
    /// What a constructor gets: the spec (resolved address, settings) and the simulated bench.
    public struct Context: Sendable {
        public let spec: InstrumentSpec
        let simulatedBench: SimulatedBench?
        /// For the in-process simulators; a config with a sim-* driver always has one (see `make`).
        var bench: SimulatedBench { simulatedBench ?? SimulatedBench(wiring: [], settings: BenchSettings()) }
        /// The spec's address; validated at config load.
        var address: InstrumentAddress { InstrumentAddress.parse(spec.address, serial: spec.serial) ?? .tcp(host: "invalid", port: 1) }
        func timeout(default d: Duration) -> Duration { spec.timeoutSeconds.map { .milliseconds(Int64($0 * 1000)) } ?? d }
        var name: String { spec.name }
        var channels: Int { spec.channels ?? 1 }
        var modbusLink: ModbusLink {
            ModbusLink(
                name: name, address: address, unitId: spec.unitId, timeout: timeout(default: .milliseconds(500)), retries: spec.retries)
        }
    }

    /// Builds one driver from its spec.
    public typealias Constructor = @Sendable (Context) -> any Instrument

    public static let constructors: [String: Constructor] = [
        SantecRL1.driverName: { c in
            SantecRL1(
                name: c.name, address: c.address, wavelengthsNm: c.spec.wavelengthsNm,
                noLightFloorDbm: c.spec.noLightFloorDbm, timeout: c.timeout(default: .seconds(6)))
        },
        SantecOSX.driverName: { c in
            SantecOSX(name: c.name, address: c.address, channelCount: c.channels, timeout: c.timeout(default: .seconds(2)))
        },
        Keysight816x.driverName: { c in
            Keysight816x(
                name: c.name, address: c.address, slots: c.spec.keysight ?? .init(), wavelengthsNm: c.spec.wavelengthsNm,
                noLightFloorDbm: c.spec.noLightFloorDbm, timeout: c.timeout(default: .seconds(3)))
        },
        DiConSwitch.driverName: { c in
            DiConSwitch(name: c.name, address: c.address, channelCount: c.channels, timeout: c.timeout(default: .seconds(1)))
        },
        ModbusSwitch.driverName: { c in
            ModbusSwitch(name: c.name, link: c.modbusLink, channelCount: c.channels, map: c.spec.switchMap ?? ModbusSwitchMap())
        },
        ModbusFixtureIO.driverName: { c in ModbusFixtureIO(name: c.name, link: c.modbusLink, map: c.spec.ioMap ?? ModbusIOMap()) },
        SerialBarcodeScanner.driverName: { c in SerialBarcodeScanner(name: c.name, address: c.address) },
        KeysightN774x.driverName: { c in
            KeysightN774x(
                name: c.name, address: c.address, ports: c.channels, averagingTime: c.spec.keysight?.averagingTime ?? 0.1,
                noLightFloorDbm: c.spec.noLightFloorDbm, timeout: c.timeout(default: .seconds(3)))
        },
        ViaviMapPCT.driverName: { c in
            ViaviMapPCT(
                name: c.name, chassis: c.address,
                application: c.spec.pctAddress.flatMap { InstrumentAddress.parse($0) } ?? .tcp(host: "invalid", port: 1),
                wavelengthsNm: c.spec.wavelengthsNm, timeout: c.timeout(default: .seconds(3)))
        },
        SimulatedSwitch.driverName: { c in SimulatedSwitch(name: c.name, channelCount: c.channels, bench: c.bench) },
        SimulatedILRLMeter.driverName: { c in SimulatedILRLMeter(name: c.name, wavelengthsNm: c.spec.wavelengthsNm, bench: c.bench) }
    ]
}

extension StationConfig {
    /// The wire-level simulator of each instrument with `simulate:`, or with `fallback` also of
    /// every other instrument that has a real driver (`ferrule-sim serve`).
    public func wireInstruments(fallback: WireTransport? = nil) -> [WireInstrument] {
        instruments.compactMap { s -> WireInstrument? in
            guard let t = s.simulate ?? fallback, let m = WireModel(rawValue: s.driver.name) else { return nil }
            var modbus: ModbusSimKind?
            if let map = s.switchMap { modbus = .opticalSwitch(map, channels: s.channels ?? 1) }
            if let map = s.ioMap { modbus = .fixtureIO(map, fixture: fixtures.first { $0.io == s.name }?.id ?? 0) }
            var w = WireInstrument(
                name: s.name, model: m, transport: t, channels: s.channels ?? 0, wavelengthsNm: s.wavelengthsNm,
                fault: s.fault, modbus: modbus, unitId: s.unitId)
            w.faultScope = s.faultScope
            if let k = s.keysight {
                w.keysight = KeysightSimSlots(sourceSlot: k.sourceSlot, meterSlot: k.meterSlot, meterChannel: k.meterChannel)
            }
            return w
        }
    }
}
