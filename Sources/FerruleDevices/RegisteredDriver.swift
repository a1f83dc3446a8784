import FerruleCore

/// A driver a config can name. Its roles are not listed by hand: they are read from the
/// capability protocols the type conforms to (see `InstrumentRole.played(by:)`).
public protocol RegisteredDriver: Instrument {
    /// The name used in `instruments[].driver`.
    static var driverName: String { get }
    static var summary: String { get }
    static var bus: DriverBus { get }
}

extension RegisteredDriver {
    public static var info: DriverInfo { DriverInfo(name: driverName, summary: summary, roles: .played(by: Self.self), bus: bus) }
}

extension Set where Element == InstrumentRole {
    /// The roles an instrument type can play, from its conformances.
    public static func played(by type: any Instrument.Type) -> Set<InstrumentRole> {
        var roles: Set<InstrumentRole> = []
        if type is any OpticalSwitch.Type { roles.insert(.opticalSwitch) }
        if type is any LightSource.Type { roles.insert(.lightSource) }
        if type is any PowerMeter.Type { roles.insert(.powerMeter) }
        if type is any ReturnLossMeter.Type { roles.insert(.rlMeter) }
        if type is any FixtureIO.Type { roles.insert(.fixtureIO) }
        if type is any BarcodeScanner.Type { roles.insert(.barcodeScanner) }
        if type is any PathSetMeter.Type { roles.insert(.pathSetMeter) }
        return roles
    }
}

extension SantecRL1: RegisteredDriver {
    public static let driverName = "santec-rl1"
    public static let summary = "Santec RL1/RLM IL-RL meter (SCPI): source, power meter and RL meter"
    public static let bus = DriverBus.scpi
}

extension SerialBarcodeScanner: RegisteredDriver {
    public static let driverName = "barcode-serial"
    public static let summary = "barcode scanner in USB-serial (CDC) mode: one line per scan, CR or LF"
    public static let bus = DriverBus.serialLine
}

extension ViaviMapPCT: RegisteredDriver {
    public static let driverName = "viavi-map-pct"
    public static let summary = "VIAVI MAP-300 PCT (mORL + mOSW, SCPI over TCP): measures a fixture's paths itself, IL, RL A/B, length"
    public static let bus = DriverBus.scpi
}

extension SantecOSX: RegisteredDriver {
    public static let driverName = "santec-osx"
    public static let summary = "Santec OSX optical switch (SCPI over TCP 5025)"
    public static let bus = DriverBus.scpi
}

extension Keysight816x: RegisteredDriver {
    public static let driverName = "keysight-816x"
    public static let summary = "Keysight 816x mainframe (SCPI): power meter, and source with a laser module's slot"
    public static let bus = DriverBus.scpi
}

extension DiConSwitch: RegisteredDriver {
    public static let driverName = "dicon-mems"
    public static let summary = "DiCon MEMS 1xN switch (serial line protocol)"
    public static let bus = DriverBus.serialLine
}

extension ModbusSwitch: RegisteredDriver {
    public static let driverName = "modbus-switch"
    public static let summary = "a 1xN optical switch over Modbus RTU/TCP, register map from the config"
    public static let bus = DriverBus.modbus
}

extension ModbusFixtureIO: RegisteredDriver {
    public static let driverName = "modbus-io"
    public static let summary = "a fixture I/O module over Modbus RTU/TCP (lid interlock, part sensor, start, stack light)"
    public static let bus = DriverBus.modbus
}
