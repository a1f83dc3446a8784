/// A part an instrument can play at a fixture.
public enum InstrumentRole: String, Sendable, CaseIterable, Codable {
    case opticalSwitch = "switch"
    case lightSource = "light source"
    case powerMeter = "power meter"
    case rlMeter = "RL meter"
    case fixtureIO = "fixture I/O module"
    case barcodeScanner = "barcode scanner"
    /// An instrument that sequences a set of paths itself (switches, source and meter in one
    /// measurement it runs): the VIAVI MAP-300 PCT. A fixture names it in place of the others.
    case pathSetMeter = "self-sequencing IL/RL meter"
}

/// How a driver reaches its instrument, which decides the settings a config may give it.
public enum DriverBus: String, Sendable, Codable {
    /// SCPI / IEEE 488.2 over TCP or a serial line.
    case scpi
    /// A vendor's own line protocol over a serial line.
    case serialLine
    /// Modbus RTU or TCP (unit id, retries, a register map).
    case modbus
    /// Simulated in the process: no wire, no address.
    case inProcess
}

/// A driver as a config names it (`instruments[].driver`), with the roles it can play.
public struct DriverInfo: Sendable, Hashable {
    public var name: String
    public var summary: String
    public var roles: Set<InstrumentRole>
    public var bus: DriverBus

    public init(name: String, summary: String, roles: Set<InstrumentRole>, bus: DriverBus) {
        self.name = name
        self.summary = summary
        self.roles = roles
        self.bus = bus
    }

    public func can(_ role: InstrumentRole) -> Bool { roles.contains(role) }
    public var isSimulated: Bool { bus == .inProcess }
}
