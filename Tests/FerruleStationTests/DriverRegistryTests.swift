import FerruleCore
import FerruleDevices
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Testing

/// Drivers are registered by name; their roles come from the protocols they conform to.
@Suite(.shutsDownStations) struct DriverRegistryTests {
    /// One instrument of every driver the catalog lists, as a config would give it.
    static let everyDriver = """
          - { name: t-rl1, driver: santec-rl1, address: "tcp://127.0.0.1:1", wavelengthsNm: [1310], noLightFloorDbm: -70 }
          - { name: t-816x, driver: keysight-816x, address: "tcp://127.0.0.1:1", wavelengthsNm: [1310],
              source: { slot: 0 }, powerMeter: { slot: 2, channel: 1 } }
          - { name: t-n774x, driver: keysight-n774x, address: "tcp://127.0.0.1:1", channels: 8 }
          - { name: t-osx, driver: santec-osx, address: "tcp://127.0.0.1:1", channels: 12 }
          - { name: t-dicon, driver: dicon-mems, address: /dev/null, channels: 16 }
          - { name: t-mbsw, driver: modbus-switch, address: "tcp://127.0.0.1:1", channels: 24, unitId: 9, retries: 1,
              registers: { channel: "hr:0", position: "ir:0", busy: "ir:1.0" } }
          - { name: t-mbio, driver: modbus-io, address: "tcp://127.0.0.1:1", unitId: 3, io: { lidClosed: "di:0" } }
          - { name: t-scan, driver: barcode-serial, address: /dev/null }
          - { name: t-pct, driver: viavi-map-pct, address: "tcp://127.0.0.1:8100", slot: 2, channels: 24, wavelengthsNm: [1310] }

        """

    /// Every driver a config may name is built, and built as itself, from exactly its settings.
    @Test func everyDriverAConfigMayNameIsBuiltAsItself() throws {
        let names = DriverCatalog.all.map(\.name)
        #expect(Set(names).count == names.count, "a name registered twice: \(names)")
        let text = try inProcessConfigText().replacingOccurrences(of: "instruments:\n", with: "instruments:\n" + Self.everyDriver)
        let config = try StationConfig.parse(text, file: "every-driver.yaml")
        #expect(Set(config.instruments.map(\.driver.name)) == Set(names), "the test lacks a driver")
        for spec in config.instruments {
            let built = DriverRegistry.driver(for: spec, bench: nil)
            let type = try #require(type(of: built) as? any RegisteredDriver.Type, "\(spec.name) is not a registered driver")
            #expect(type.driverName == spec.driver.name, "\(spec.name): built as \(type.driverName)")
        }
        let settings = Dictionary(uniqueKeysWithValues: config.instruments.map { ($0.name, $0.settings) })
        #expect(settings["t-mbsw"]?.modbusLink == ModbusLinkSettings(unitId: 9, retries: 1))
        #expect(settings["t-816x"]?.keysightSlots?.meterSlot == 2 && settings["t-816x"]?.keysightSlots?.sourceSlot == 0)
        #expect(settings["t-n774x"]?.channels == 8 && settings["t-scan"]?.channels == nil)
        #expect(settings["t-pct"] == .viaviPCT(channels: 24, application: "tcp://127.0.0.1:8302"))
    }

    @Test func rolesAreTheConformances() {
        #expect(SantecRL1.info.roles == [.lightSource, .powerMeter, .rlMeter])
        #expect(Keysight816x.info.roles == [.lightSource, .powerMeter])
        #expect(DiConSwitch.info.roles == [.opticalSwitch] && SantecOSX.info.roles == [.opticalSwitch])
        #expect(ModbusSwitch.info.roles == [.opticalSwitch] && ModbusFixtureIO.info.roles == [.fixtureIO])
        // The in-process simulators' roles are written down for the config; they must be what the types do.
        #expect(SimulatedSwitch.info == SimulatedDriverInfo.opticalSwitch)
        #expect(SimulatedILRLMeter.info == SimulatedDriverInfo.ilrlMeter)
    }

    /// A switch named where a power meter belongs is refused, naming the instrument, its driver and the role.
    @Test func anInstrumentOutsideItsRolesIsAConfigError() throws {
        let text = try inProcessConfigText().replacingOccurrences(of: "powerMeter: ilrl", with: "powerMeter: launch-switch")
        #expect(text.contains("powerMeter: launch-switch"))
        let e = try #require(throws: ConfigError.self) { try StationConfig.parse(text, file: "roles.yaml") }
        #expect(e.message.contains("instrument 'launch-switch' (driver sim-switch) cannot act as power meter"), "\(e)")
    }

    @Test func anUnknownDriverListsTheKnownOnes() throws {
        let text = try inProcessConfigText().replacingOccurrences(of: "driver: sim-ilrl", with: "driver: santec-rl9")
        let e = try #require(throws: ConfigError.self) { try StationConfig.parse(text, file: "driver.yaml") }
        #expect(e.message.contains("'santec-rl9' is not a known driver"), "\(e)")
        #expect(e.fix.contains("santec-rl1") && e.fix.contains("modbus-io") && e.fix.contains("sim-ilrl"), "\(e)")
    }
}
