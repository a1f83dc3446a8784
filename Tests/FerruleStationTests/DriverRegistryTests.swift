import FerruleCore
import FerruleDevices
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Testing

/// Drivers are registered by name; their roles come from the protocols they conform to.
@Suite struct DriverRegistryTests {
    @Test func everyDriverAConfigMayNameHasAConstructor() {
        let names = DriverCatalog.all.map(\.name)
        #expect(Set(names).count == names.count, "a name registered twice: \(names)")
        #expect(Set(names) == Set(DriverRegistry.constructors.keys))
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
