import FerruleCore
import FerruleDevices
import FerruleSimSpec

/// An instrument while its entry is being checked: every setting any driver may take, filled in
/// key by key. Only `spec` leaves this module: the settings of exactly its driver.
struct InstrumentDraft {
    var name: String
    var driver: DriverInfo
    var address: String
    var simulate: WireTransport?
    var fault: WireFault = .none
    var faultScope = FaultScope()
    var noLightFloorDbm: Double?
    var keysight: Keysight816x.Slots?
    var serial = SerialSettings()
    var timeoutSeconds: Double?
    var channels: Int?
    var wavelengthsNm: [Int]
    var calibrationDue: String?
    var calibrationIntervalMonths = 12
    var link = ModbusLinkSettings()
    var switchMap: ModbusSwitchMap?
    var ioMap: ModbusIOMap?
    var match: [String: String]?
    var pctAddress: String?

    /// As `InstrumentSpec.canBeSource`, while the slots are still being read.
    var canBeSource: Bool {
        driver.can(.lightSource) && (driver.name != Keysight816x.driverName || keysight?.sourceSlot != nil)
    }

    /// The checked instrument, with the settings of its driver alone.
    func spec(_ p: ConfigPath) throws -> InstrumentSpec {
        var s = InstrumentSpec(name: name, driver: driver, address: address, settings: try settings(p), wavelengthsNm: wavelengthsNm)
        s.simulate = simulate
        s.fault = fault
        s.faultScope = faultScope
        s.serial = serial
        s.timeoutSeconds = timeoutSeconds
        s.calibrationDue = calibrationDue
        s.calibrationIntervalMonths = calibrationIntervalMonths
        s.match = match
        return s
    }

    private func settings(_ p: ConfigPath) throws -> DriverSettings {
        /// Switches and multi-port meters were refused without a channel count already.
        func counted() throws -> Int {
            guard let channels else {
                throw ConfigIssue(path: p.key("channels"), message: "\(driver.name) needs its channel count", fix: "add 'channels: N'")
            }
            return channels
        }
        switch driver.name {
        case SantecRL1.driverName: return .santecRL1(noLightFloorDbm: noLightFloorDbm)
        case Keysight816x.driverName: return .keysight816x(keysight ?? .init(), noLightFloorDbm: noLightFloorDbm)
        case KeysightN774x.driverName:
            return .keysightN774x(ports: try counted(), averagingTime: keysight?.averagingTime ?? 0.1, noLightFloorDbm: noLightFloorDbm)
        case SantecOSX.driverName: return .santecOSX(channels: try counted())
        case DiConSwitch.driverName: return .diconSwitch(channels: try counted())
        case ModbusSwitch.driverName: return .modbusSwitch(channels: try counted(), map: switchMap ?? ModbusSwitchMap(), link: link)
        case ModbusFixtureIO.driverName: return .modbusIO(map: ioMap ?? ModbusIOMap(), link: link)
        case SerialBarcodeScanner.driverName: return .barcodeScanner
        case ViaviMapPCT.driverName: return .viaviPCT(channels: try counted(), application: pctAddress ?? "")
        case SimulatedDriverInfo.opticalSwitch.name: return .simulatedSwitch(channels: try counted())
        case SimulatedDriverInfo.ilrlMeter.name: return .simulatedILRL
        default:
            throw ConfigIssue(
                path: p.key("driver"), message: "driver \(driver.name) is in the catalog but has no settings here",
                fix: "use another driver; this is a bug in Ferrule (DriverSettings lacks the driver)")
        }
    }
}
