import FerruleCore
import FerruleDevices

/// How a Modbus instrument is addressed on its bus.
public struct ModbusLinkSettings: Sendable, Hashable {
    /// The module's Modbus address, 1...247.
    public var unitId = 1
    /// Tries after the first before a request fails.
    public var retries = 2

    public init(unitId: Int = 1, retries: Int = 2) {
        self.unitId = unitId
        self.retries = retries
    }
}

/// Exactly what one driver takes beyond a name, an address and a timeout: one case per driver a
/// config may name, each with its own checked settings and nothing else, so the code that builds
/// the driver has nothing to unwrap and a new driver cannot be forgotten there (the switch over
/// these cases is exhaustive).
public enum DriverSettings: Sendable, Hashable {
    /// `santec-rl1`: source, power meter and RL meter in one.
    case santecRL1(noLightFloorDbm: Double?)
    /// `keysight-816x`: where its laser and power-meter modules sit.
    case keysight816x(Keysight816x.Slots, noLightFloorDbm: Double?)
    /// `keysight-n774x`: a multi-port power meter of `ports` heads.
    case keysightN774x(ports: Int, averagingTime: Double, noLightFloorDbm: Double?)
    /// `santec-osx`: a 1xN switch.
    case santecOSX(channels: Int)
    /// `dicon-mems`: a 1xN switch.
    case diconSwitch(channels: Int)
    /// `modbus-switch`: a 1xN switch with its register map.
    case modbusSwitch(channels: Int, map: ModbusSwitchMap, link: ModbusLinkSettings)
    /// `modbus-io`: a fixture's I/O module with its signal map.
    case modbusIO(map: ModbusIOMap, link: ModbusLinkSettings)
    /// `barcode-serial`.
    case barcodeScanner
    /// `viavi-map-pct`: the PCT application's port (the instrument's address is the chassis);
    /// empty until a simulated one is started.
    case viaviPCT(channels: Int, application: String)
    /// `sim-switch`, in-process.
    case simulatedSwitch(channels: Int)
    /// `sim-ilrl`, in-process.
    case simulatedILRL

    /// The channel (or port) count of a switch, a multi-port meter or a PCT; nil for the others.
    public var channels: Int? {
        switch self {
        case .santecOSX(let n), .diconSwitch(let n), .simulatedSwitch(let n): n
        case .modbusSwitch(let n, _, _), .viaviPCT(let n, _): n
        case .keysightN774x(let n, _, _): n
        case .santecRL1, .keysight816x, .modbusIO, .barcodeScanner, .simulatedILRL: nil
        }
    }

    /// The Modbus link of a Modbus instrument.
    public var modbusLink: ModbusLinkSettings? {
        switch self {
        case .modbusSwitch(_, _, let link), .modbusIO(_, let link): link
        default: nil
        }
    }

    /// A Keysight 816x's module slots.
    public var keysightSlots: Keysight816x.Slots? {
        if case .keysight816x(let slots, _) = self { return slots }
        return nil
    }
}
