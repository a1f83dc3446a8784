import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleSimSpec
import FerruleSimulator

/// Builds each driver from its spec: one exhaustive switch over the drivers' settings
/// (`DriverSettings`), so a driver a config may name cannot lack its constructor, and each
/// constructor is handed exactly its driver's checked settings. Names and roles are the
/// catalog's (`DriverCatalog`, read from each driver's `RegisteredDriver` conformance).
public enum DriverRegistry {
    /// The driver a spec names, at the spec's (resolved) address.
    public static func driver(for spec: InstrumentSpec, bench: SimulatedBench?) -> any Instrument {
        let c = Context(spec: spec, simulatedBench: bench)
        switch spec.settings {
        case .santecRL1(let floor):
            return SantecRL1(
                name: c.name, address: c.address, wavelengthsNm: spec.wavelengthsNm, noLightFloorDbm: floor,
                timeout: c.timeout(default: .seconds(6)))
        case .keysight816x(let slots, let floor):
            return Keysight816x(
                name: c.name, address: c.address, slots: slots, wavelengthsNm: spec.wavelengthsNm, noLightFloorDbm: floor,
                timeout: c.timeout(default: .seconds(3)))
        case .keysightN774x(let ports, let averaging, let floor):
            return KeysightN774x(
                name: c.name, address: c.address, ports: ports, averagingTime: averaging, noLightFloorDbm: floor,
                timeout: c.timeout(default: .seconds(3)))
        case .santecOSX(let channels):
            return SantecOSX(name: c.name, address: c.address, channelCount: channels, timeout: c.timeout(default: .seconds(2)))
        case .diconSwitch(let channels):
            return DiConSwitch(name: c.name, address: c.address, channelCount: channels, timeout: c.timeout(default: .seconds(1)))
        case .modbusSwitch(let channels, let map, let link):
            return ModbusSwitch(name: c.name, link: c.modbusLink(link), channelCount: channels, map: map)
        case .modbusIO(let map, let link):
            return ModbusFixtureIO(name: c.name, link: c.modbusLink(link), map: map)
        case .barcodeScanner:
            return SerialBarcodeScanner(name: c.name, address: c.address)
        case .viaviPCT(_, let application):
            return ViaviMapPCT(
                name: c.name, chassis: c.address, application: InstrumentAddress.parse(application) ?? Context.unreachable,
                wavelengthsNm: spec.wavelengthsNm, timeout: c.timeout(default: .seconds(3)))
        case .simulatedSwitch(let channels):
            return SimulatedSwitch(name: c.name, channelCount: channels, bench: c.bench)
        case .simulatedILRL:
            return SimulatedILRLMeter(name: c.name, wavelengthsNm: spec.wavelengthsNm, bench: c.bench)
        }
    }

    /// What every constructor shares: the resolved address, the timeout and the simulated bench.
    struct Context {
        let spec: InstrumentSpec
        let simulatedBench: SimulatedBench?
        /// An address nothing listens on: a driver given it reports its instrument unreachable.
        static let unreachable = InstrumentAddress.tcp(host: "invalid", port: 1)
        /// For the in-process simulators; a config with a sim-* driver always has one (see `InstrumentFactory.make`).
        var bench: SimulatedBench { simulatedBench ?? SimulatedBench(wiring: [], settings: BenchSettings()) }
        /// The spec's address; checked at config load, so `unreachable` only for an address a
        /// udev match or a simulator failed to give.
        var address: InstrumentAddress { InstrumentAddress.parse(spec.address, serial: spec.serial) ?? Self.unreachable }
        var name: String { spec.name }
        func timeout(default d: Duration) -> Duration { spec.timeoutSeconds.map { .milliseconds(Int64($0 * 1000)) } ?? d }
        func modbusLink(_ link: ModbusLinkSettings) -> ModbusLink {
            ModbusLink(
                name: name, address: address, unitId: link.unitId, timeout: timeout(default: .milliseconds(500)), retries: link.retries)
        }
    }
}
