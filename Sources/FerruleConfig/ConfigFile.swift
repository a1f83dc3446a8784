import FerruleSimSpec

// The shape of the YAML file, decoded as written. Enumerations stay strings here so that a
// wrong value is reported with the allowed ones; `StationConfig.load` validates and converts.

struct ConfigFile: Codable {
    var station: StationSection
    var instruments: [InstrumentEntry]
    var fixtures: [FixtureEntry]
    var recipes: [RecipeEntry]
    /// The jumpers used only to take references, each of a known polarity.
    var referenceCords: [ReferenceCordEntry]?
    var diagnosis: DiagnosisEntry?
    var control: ControlEntry?
    var sinks: [SinkEntry]?
    var simulation: SimulationEntry?
    /// The operator web app; absent: none.
    var http: HTTPEntry?
    /// Who may sign in to the web app, here or in a YAML file of the same entries.
    var users: [UserEntry]?
    var usersFile: String?
    /// What the MES decides before a unit is tested (`mes.routeCheck`).
    var mes: MESEntry?
    /// The line's recipes in its PostgreSQL database, over the YAML's (`centralRecipes`).
    var centralRecipes: CentralRecipesEntry?
}

struct MESEntry: Codable {
    var routeCheck: RouteCheckEntry?
}

/// Where results go besides the station's own store (see `SinkSpec`).
struct SinkEntry: Codable {
    var name: String
    var kind: String
    var path: String?
    var formats: [String]?
    var url: String?
    var format: String?
    var tokenFile: String?
    var passwordFile: String?
    var tls: String?
    var timeout: String?
    var maxBackoff: String?
    var address: String?
    var handle: String?
    var user: String?
    var caFile: String?
    var certFile: String?
    var keyFile: String?
    var printer: String?
    var print: [String]?
    var templates: [String: String]?
}

struct ControlEntry: Codable {
    var socket: String?
    var group: String?
    var promptTimeout: String?
    var idleTimeout: String?
}

struct StationSection: Codable {
    var id: String
    var dataDir: String?
    var certificateTemplate: String?
    /// Where measured units wait while the store refuses them (default: spill.ferrule in the data
    /// directory; a path on another disk keeps them even when the data directory's disk is full).
    var spillFile: String?
    /// How fixtures that share instruments take turns: `unit` (default) or `fiber`.
    var schedule: String?
    /// An instrument past its calibration: `warn` (default) or `refuse` units.
    var calibration: String?
    /// How far a path's reference power may fall below the last reference's before the new
    /// reference is refused as taken through a dirty cord (dB, default 0.3).
    var referenceMaxDropDb: Double?
    var retention: RetentionEntry?
}

struct InstrumentEntry: Codable {
    var name: String
    var driver: String
    /// `tcp://host:port` or a serial device path.
    var address: String?
    /// `tcp` or `pty`: ferruled serves this instrument from the simulated bench on that transport
    /// and connects the real driver to it (instead of `address`).
    var simulate: String?
    /// With `simulate`: a fault the simulated instrument starts with, e.g. `noReply`, or scoped as
    /// `{ kind: noReply, command: "READ:RL?", fiber: 9 }`.
    var fault: FaultEntry?
    /// Readings below this power are no light (default per driver: see its documentation).
    var noLightFloorDbm: Double?
    /// Keysight 816x: the laser module's slot (makes the instrument a light source).
    var source: SourceSlotEntry?
    /// Keysight 816x: the power meter module's slot, channel and averaging time.
    var powerMeter: MeterSlotEntry?
    var serial: SerialEntry?
    /// Reply timeout, e.g. `2s`.
    var timeout: String?
    var channels: Int?
    var wavelengthsNm: [Int]?
    var calibrationDue: String?
    /// For an instrument that reports the day it was calibrated: months until it is due again (default 12).
    var calibrationIntervalMonths: Int?
    /// Modbus: the slave (unit) id, 1...247.
    var unitId: Int?
    /// Modbus: extra tries after a timeout or a corrupt reply.
    var retries: Int?
    /// `modbus-switch`: where the switch keeps its channel.
    var registers: SwitchRegistersEntry?
    /// `modbus-io`: the fixture's signals.
    var io: IOPointsEntry?
    /// Instead of `address`: udev properties that pick the instrument's port, e.g.
    /// `{ ID_VENDOR_ID: "0403", ID_MODEL_ID: "6001", ID_SERIAL_SHORT: "FT12AB" }`.
    var match: [String: String]?
    /// `viavi-map-pct`: the mORL's slot in the chassis (the PCT port is 8300 + slot), or the
    /// PCT's port given outright.
    var slot: Int?
    var pctAddress: String?
}

/// Points are written `TABLE:ADDRESS[.BIT]`, `!` in front for active low (see ModbusPoint).
struct SwitchRegistersEntry: Codable {
    var channel: String
    var position: String?
    var busy: String?
}

struct IOPointsEntry: Codable {
    var lidClosed: String
    var partPresent: String?
    var startButton: String?
    var red: String?
    var amber: String?
    var green: String?
}

struct SerialEntry: Codable {
    var baud: Int?
    var dataBits: Int?
    var parity: String?
    var stopBits: Int?
    var rtsCts: Bool?
}

struct PortEntry: Codable {
    /// The switch (absent on a fixture with a `sequencer`, whose own switches these channels are).
    var `switch`: String?
    /// `"1-24"`: positions 1, 2, ... on channels 1, 2, ...; or an explicit list of channels, one per position.
    var channels: ChannelList
}

enum ChannelList: Codable {
    case range(String)
    case list([Int])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let list = try? c.decode([Int].self) {
            self = .list(list)
            return
        }
        self = .range(try c.decode(String.self))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .range(let s): try c.encode(s)
        case .list(let l): try c.encode(l)
        }
    }
}

struct SourceSlotEntry: Codable {
    var slot: Int
}

struct MeterSlotEntry: Codable {
    var slot: Int?
    var channel: Int?
    var averagingTime: String?
}

/// A simulated fault: its kind alone, or a mapping that scopes it to a command and a fiber.
enum FaultEntry: Codable {
    case kind(String)
    case scoped(ScopedFaultEntry)

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let k = try? c.decode(String.self) {
            self = .kind(k)
            return
        }
        self = .scoped(try c.decode(ScopedFaultEntry.self))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .kind(let k): try c.encode(k)
        case .scoped(let f): try c.encode(f)
        }
    }
}

struct ScopedFaultEntry: Codable {
    var kind: String
    var command: String?
    var fiber: Int?
}

struct ReferenceCordEntry: Codable {
    var id: String
    var polarity: String?
    var polarityMap: [String: Int]?
    var fibers: Int
    var maxMatings: Int?
    var warnMatings: Int?
}

struct TestCordEntry: Codable {
    var id: String
    var maxMatings: Int?
    var warnMatings: Int?
}

struct TestCordsEntry: Codable {
    var launch: TestCordEntry?
    var receive: TestCordEntry?
}

struct FixtureEntry: Codable {
    var id: Int
    var launch: PortEntry
    var receive: PortEntry
    var source: String?
    var powerMeter: String?
    var rlMeter: String?
    /// An instrument that measures the fixture's paths itself (`viavi-map-pct`), in place of the
    /// switches, source, power meter and RL meter; `launch`/`receive` then give its SW1/SW2 channels.
    var sequencer: String?
    /// The sequencer's source output (the PCT's J1 = 1 or J2 = 2); default 1.
    var launchPort: Int?
    /// A `modbus-io` instrument: the fixture's lid interlock, part sensor, start button and stack light.
    var io: String?
    /// The launch and receive test cords, counted for matings.
    var testCords: TestCordsEntry?
    /// A fixed barcode scanner whose scans start units on this fixture.
    var scanner: ScannerEntry?
}

struct ScannerEntry: Codable {
    var instrument: String
    var `operator`: String
    var partPrefixes: [String: String]?
    var badgePrefix: String?
}

struct EndEntry: Codable {
    var connector: String
    var polish: String
    var gender: String?
}

struct AssemblyEntry: Codable {
    var fibers: Int
    var kind: String?
    var fiberType: String
    var polarity: String?
    /// Explicit map, end-A position -> receive position (keys as written in YAML).
    var polarityMap: [String: Int]?
    var lengthM: Double?
    /// Judged where an instrument measures length: the cable fails outside `lengthM` ± this.
    var lengthToleranceM: Double?
    var endA: EndEntry
    var endB: EndEntry
}

/// One number for all, or a map: `ilMaxDb: 0.35` for every wavelength or `{1310: 0.35, 1550: 0.30}`;
/// `rlMinDb: 60` at both ends or `{ A: 60, B: 45 }`.
enum PerKeyLimit: Codable {
    case all(Double)
    case each([String: Double])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Double.self) {
            self = .all(v)
            return
        }
        self = .each(try c.decode([String: Double].self))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .all(let v): try c.encode(v)
        case .each(let m): try c.encode(m)
        }
    }
}

struct LimitsEntry: Codable {
    var ilMaxDb: PerKeyLimit
    var meanIlMaxDb: Double?
    var rlMinDb: PerKeyLimit?
    /// RL min at one end (win over `rlMinDb` for that end).
    var rlMinDbA: Double?
    var rlMinDbB: Double?
    /// The warning band: IL above this (per wavelength or for all) passes with a warning.
    var ilWarnDb: PerKeyLimit?
    /// RL below this (`60` or `{ A: 62, B: 50 }`) passes with a warning.
    var rlWarnDb: PerKeyLimit?
}

/// `rl: { method: discrete, aOffsetM: -0.5, bOffsetM: 0.5 }`: the RL window around each connector.
struct ReturnLossWindowEntry: Codable {
    var method: String
    var aOffsetM: Double?
    var bOffsetM: Double?
}

struct ReferenceEntry: Codable {
    var validity: String?
    var negativeIlToleranceDb: Double?
    var method: String?
}

struct RecipeEntry: Codable {
    var partNumber: String
    var description: String?
    var assembly: AssemblyEntry
    var wavelengthsNm: [Int]?
    var limits: LimitsEntry
    var reference: ReferenceEntry?
    var rl: ReturnLossWindowEntry?
    var grade: GradeEntry?
}

struct GradeEntry: Codable {
    var meanIlMaxDb: Double
    var p97IlMaxDb: Double
}

struct DiagnosisEntry: Codable {
    var contaminationClusterMin: Int?
    var lightThresholdIlDb: Double?
    var rlDegradedDb: Double?
    var allDarkAfterFibers: Int?
}

/// `simulation.timing:` a preset's name (`instant`, `realistic`) or a mapping that starts from
/// `preset` (default instant) and changes what it names.
struct TimingEntry: Codable {
    var preset: String?
    var switchSettleMs: [String: Double]?
    var meterAveragingMs: Double?
    var rlMeasurementMs: Double?
    var answerMs: Double?
    var serialBaud: Double?

    init(from decoder: any Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            preset = name
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        preset = try c.decodeIfPresent(String.self, forKey: .preset)
        switchSettleMs = try c.decodeIfPresent([String: Double].self, forKey: .switchSettleMs)
        meterAveragingMs = try c.decodeIfPresent(Double.self, forKey: .meterAveragingMs)
        rlMeasurementMs = try c.decodeIfPresent(Double.self, forKey: .rlMeasurementMs)
        answerMs = try c.decodeIfPresent(Double.self, forKey: .answerMs)
        serialBaud = try c.decodeIfPresent(Double.self, forKey: .serialBaud)
    }
}

struct DemoUnitEntry: Codable {
    var serial: String
    var partNumber: String
    var fixture: Int?
    var faults: [AssemblyFault]?
}

struct SimulationEntry: Codable {
    /// Ask the operator (status socket prompt) before loading a unit or the reference cord.
    var operatorPrompts: Bool?
    var seed: UInt64?
    var bench: BenchEntry?
    var timing: TimingEntry?
    var demoLot: [DemoUnitEntry]?
}
