import FerruleCore
import FerruleDevices
import FerruleSimulator
import Foundation

/// The station's instruments by name, each reachable through the protocols it implements.
public struct InstrumentSet: Sendable {
    public var specs: [String: InstrumentSpec]
    public var all: [String: any Instrument] = [:]
    public var switches: [String: any OpticalSwitch] = [:]
    public var sources: [String: any LightSource] = [:]
    public var powerMeters: [String: any PowerMeter] = [:]
    public var rlMeters: [String: any ReturnLossMeter] = [:]
    public var fixtureIO: [String: any FixtureIO] = [:]
    /// The simulated bench behind simulated instruments (in-process or on the wire), if any.
    public var simulatedBench: SimulatedBench?
    /// The wire-level simulators started for instruments with `simulate: tcp|pty`.
    public var wireBench: WireBench?

    /// Builds every configured driver. Instruments with `simulate:` are first served from the
    /// simulated bench on their transport (pty links under `runtimeDirectory`), and their real
    /// driver is pointed at that endpoint, so the real drivers, parsers and timeouts run.
    public static func make(config: StationConfig, runtimeDirectory: String) async throws -> InstrumentSet {
        var set = InstrumentSet(specs: Dictionary(uniqueKeysWithValues: config.instruments.map { ($0.name, $0) }))
        if config.instruments.contains(where: { $0.driver.isSimulated || $0.simulate != nil }) {
            set.simulatedBench = SimulatedBench(wiring: config.fixtures, settings: config.simulation?.bench ?? BenchSettings())
        }
        let wire = config.wireInstruments()
        if !wire.isEmpty, let bench = set.simulatedBench {
            let settle = Duration.milliseconds(Int64(config.simulation?.bench.switchSettleMs ?? 0))
            let wb = try await WireBench.start(wire, bench: bench, ptyDirectory: runtimeDirectory + "/sim", switchSettle: settle)
            set.wireBench = wb
            for e in wb.endpoints { set.specs[e.name]?.address = e.address }
        }
        // Ports found by udev properties: exactly one device must match each.
        let matched = set.specs.values.filter { $0.match != nil }
        if !matched.isEmpty {
            let candidates = Udev.candidates()
            for spec in matched {
                let found = try Udev.resolve(spec.match!, instrument: spec.name, among: candidates)
                set.specs[spec.name]?.address = found.devnode
            }
        }
        for spec in set.specs.values.sorted(by: { $0.name < $1.name }) {
            set.add(spec)
        }
        return set
    }

    private init(specs: [String: InstrumentSpec]) { self.specs = specs }

    private mutating func add(_ spec: InstrumentSpec) {
        let timeout = spec.timeoutSeconds.map { Duration.milliseconds(Int64($0 * 1000)) }
        func address() -> InstrumentAddress {
            // Validated at config load; an in-process simulator's address was assigned above.
            InstrumentAddress.parse(spec.address, serial: spec.serial) ?? .tcp(host: "invalid", port: 1)
        }
        let instrument: any Instrument
        switch spec.driver {
        case .simSwitch: instrument = SimulatedSwitch(name: spec.name, channelCount: spec.channels ?? 1, bench: simulatedBench!)
        case .simILRL: instrument = SimulatedILRLMeter(name: spec.name, wavelengthsNm: spec.wavelengthsNm, bench: simulatedBench!)
        case .santecRL1:
            instrument = SantecRL1(name: spec.name, address: address(), wavelengthsNm: spec.wavelengthsNm,
                noLightFloorDbm: spec.noLightFloorDbm,
                                   timeout: timeout ?? .seconds(6))
        case .santecOSX:
            instrument = SantecOSX(name: spec.name, address: address(), channelCount: spec.channels ?? 1, timeout: timeout ?? .seconds(2))
        case .keysight816x:
            instrument = Keysight816x(name: spec.name, address: address(), slots: spec.keysight ?? .init(),
                wavelengthsNm: spec.wavelengthsNm,
                                      noLightFloorDbm: spec.noLightFloorDbm, timeout: timeout ?? .seconds(3))
        case .diconMEMS:
            instrument = DiConSwitch(name: spec.name, address: address(), channelCount: spec.channels ?? 1, timeout: timeout ?? .seconds(1))
        case .modbusSwitch, .modbusIO:
            let link = ModbusLink(name: spec.name, address: address(), unitId: spec.unitId, timeout: timeout ?? .milliseconds(500), retries: spec.retries)
            if let map = spec.switchMap {
                instrument = ModbusSwitch(name: spec.name, link: link, channelCount: spec.channels ?? 1, map: map)
            } else {
                instrument = ModbusFixtureIO(name: spec.name, link: link, map: spec.ioMap ?? ModbusIOMap())
            }
        }
        // Every role the driver implements, from its protocols.
        all[spec.name] = instrument
        if let s = instrument as? any OpticalSwitch { switches[spec.name] = s }
        if let s = instrument as? any LightSource, spec.canBeSource { sources[spec.name] = s }
        if let m = instrument as? any PowerMeter { powerMeters[spec.name] = m }
        if let m = instrument as? any ReturnLossMeter { rlMeters[spec.name] = m }
        if let io = instrument as? any FixtureIO { fixtureIO[spec.name] = io }
    }
}

extension StationConfig {
    /// The wire-level simulator of each instrument with `simulate:`, or with `fallback` also of
    /// every other instrument that has a real driver (`ferrule-sim serve`).
    public func wireInstruments(fallback: WireTransport? = nil) -> [WireInstrument] {
        instruments.compactMap { s -> WireInstrument? in
            guard let t = s.simulate ?? fallback, let m = s.driver.wireModel else { return nil }
            var modbus: ModbusSimKind?
            if let map = s.switchMap { modbus = .opticalSwitch(map, channels: s.channels ?? 1) }
            if let map = s.ioMap { modbus = .fixtureIO(map, fixture: fixtures.first { $0.io == s.name }?.id ?? 0) }
            var w = WireInstrument(name: s.name, model: m, transport: t, channels: s.channels ?? 0, wavelengthsNm: s.wavelengthsNm,
                                   fault: s.fault, modbus: modbus, unitId: s.unitId)
            w.faultScope = s.faultScope
            if let k = s.keysight { w.keysight = KeysightSimSlots(sourceSlot: k.sourceSlot, meterSlot: k.meterSlot,
                meterChannel: k.meterChannel) }
            return w
        }
    }
}
