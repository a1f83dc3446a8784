import FerruleCore
import FerruleDevices
import FerruleRecords
import FerruleSimSpec
import Foundation

/// The drivers a config may name in `instruments[].driver`, each with the roles it can play.
/// Their constructors are registered under the same names where stations are built (FerruleSetup).
public enum DriverCatalog {
    public static let all: [DriverInfo] = [
        SantecRL1.info, SantecOSX.info, Keysight816x.info, DiConSwitch.info, ModbusSwitch.info, ModbusFixtureIO.info,
        SerialBarcodeScanner.info, ViaviMapPCT.info, KeysightN774x.info,
        SimulatedDriverInfo.opticalSwitch, SimulatedDriverInfo.ilrlMeter
    ]

    /// The driver of that name (letter case ignored), or nil.
    public static func named(_ name: String) -> DriverInfo? {
        all.first { $0.name == name } ?? all.first { $0.name.lowercased() == name.lowercased() }
    }
}

/// One configured instrument: its driver, where it is, and the settings its driver takes.
public struct InstrumentSpec: Sendable, Hashable {
    public var name: String
    public var driver: DriverInfo
    /// For a real driver: where it is. For `simulate`, assigned when the simulator starts.
    public var address: String
    /// What its driver takes, and nothing another driver takes.
    public var settings: DriverSettings
    public var simulate: WireTransport?
    public var fault: WireFault = .none
    public var faultScope = FaultScope()
    public var serial = SerialSettings()
    public var timeoutSeconds: Double?
    public var wavelengthsNm: [Int]
    /// `yyyy-MM-dd`, validated.
    public var calibrationDue: String?
    /// Added to the date an instrument reports it was calibrated on (`calibrationIntervalMonths`).
    public var calibrationIntervalMonths = 12
    /// udev properties that find the instrument's port (resolved at start, followed on hot-plug).
    public var match: [String: String]?

    public init(name: String, driver: DriverInfo, address: String, settings: DriverSettings, wavelengthsNm: [Int] = []) {
        self.name = name
        self.driver = driver
        self.address = address
        self.settings = settings
        self.wavelengthsNm = wavelengthsNm
    }

    /// A switch's channels, a multi-port meter's ports, a PCT's; nil for the others.
    public var channels: Int? { settings.channels }

    /// Whether it can be a fixture's light source: a Keysight mainframe only with a laser module's
    /// slot configured.
    public var canBeSource: Bool {
        if case .keysight816x(let slots, _) = settings { return slots.sourceSlot != nil }
        return driver.can(.lightSource)
    }
}

/// One unit of the simulated demo lot, with the faults built into it.
public struct DemoUnit: Sendable {
    public var serial: String
    /// Its part number's recipe, found when the config was read.
    public var recipe: Recipe
    public var partNumber: String { recipe.partNumber }
    public var fixture: Int?
    public var faults: [AssemblyFault]
}

/// The `simulation:` section: the seed, the bench's settings and the demo lot.
public struct SimulationSpec: Sendable {
    public var bench: BenchSettings
    public var demoLot: [DemoUnit]
    public var operatorPrompts = false
}

/// The `control:` section: the socket, its group and the time limits for clients and prompts.
public struct ControlSpec: Sendable, Hashable {
    /// Status socket path; nil: the default (see `ferruled --help`).
    public var socket: String?
    public var group: String?
    public var promptTimeoutSeconds: Double = 600
    /// A socket client that is not subscribed and sends no complete request for this long is closed.
    public var idleTimeoutSeconds: Double = 60
}

enum TLSMode: String, CaseIterable { case disable, require }

/// What the station does with an instrument past its calibration (`station.calibration`).
public enum CalibrationPolicy: String, Sendable, CaseIterable {
    /// Units run, and every screen, status and report says the instrument is overdue.
    case warn
    /// Units on a fixture with an overdue instrument are refused until it is calibrated.
    case refuse
}

/// How fixtures that share instruments take turns with them (`station.schedule`).
public enum InstrumentSchedule: String, Sendable, CaseIterable {
    /// A started unit keeps the instruments its fixture uses until it ends: the other fixture's
    /// unit waits, and its operator's loading time is hidden behind this unit's measuring.
    case unit
    /// Fixtures take turns fiber by fiber: both units progress at once, each about half as fast.
    /// Fixtures with switches of their own move them while the other fixture reads.
    case fiber
}

/// A validated station configuration.
public struct StationConfig: Sendable {
    public var sourcePath: String
    public var stationId: String
    public var dataDir: String?
    /// `station.spillFile` as written (relative to the data directory); nil: the default.
    public var spillFile: String?
    public var instruments: [InstrumentSpec]
    public var fixtures: [FixtureWiring]
    public var recipes: [String: Recipe]
    public var recipeOrder: [String]
    /// The reference cords; a config without any has one straight cord, `straight-A` (see docs/configuration.md).
    public var referenceCords: [ReferenceCord]
    public var rules: DiagnosisRules
    public var control: ControlSpec
    public var sinks: [SinkSpec]
    public var simulation: SimulationSpec?
    /// The operator web app (`http:`); nil: none.
    public var http: HTTPSpec?
    /// Who may sign in to the web app, and as what.
    public var users: [StationUser] = []
    /// The certificate's layout: the built-in one, or `station.certificateTemplate`.
    public var certificate: CertificateTemplate = .standard
    public var schedule: InstrumentSchedule = .unit
    /// The MES's route check before any light (`mes.routeCheck`); nil: none.
    public var routeCheck: RouteCheckSpec?
    /// What an instrument past its calibration does to units (`station.calibration`).
    public var calibration: CalibrationPolicy = .warn
    /// A new reference whose power on some path falls further than this below the last one's is
    /// refused (`station.referenceMaxDropDb`, dB): light lost in a dirty or damaged cord.
    public var referenceMaxDropDb = 0.3
    /// Where the line keeps its recipes (nil: the YAML's alone).
    public var centralRecipes: CentralRecipesSpec?
    /// How long units stay in the store and report files in `reports/` (`station.retention`).
    public var retention = RetentionPolicy()
    /// The fixed barcode scanners, one per fixture at most (`fixtures[].scanner`).
    public var scanners: [FixtureScanner] = []
    /// SHA-256 of the file's bytes (`sha256:<hex>`): identifies the config a report was made with.
    public var hash: String

    public static func load(path: String) throws(ConfigError) -> StationConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(
                file: path, line: nil, column: nil, path: ConfigPath(),
                message: "cannot read the file (\(error.localizedDescription))",
                fix: "give the path of a readable YAML file")
        }
        return try parse(text, file: path)
    }

    /// The meaning of a decoded file, section by section; each check throws a `ConfigIssue`
    /// naming the key and the fix (located in the file by `parse`).
    static func validate(_ f: ConfigFile, file: String) throws -> StationConfig {
        let root = ConfigPath()
        guard !f.station.id.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigIssue(path: root.key("station").key("id"), message: "the station id is empty", fix: "name the station, e.g. ST-01")
        }
        let instruments = try instrumentsSection(f.instruments, root.key("instruments"))
        let fixtures = try fixturesSection(f.fixtures, instruments: instruments, root.key("fixtures"))
        let (recipes, order) = try recipesSection(f.recipes, instruments: instruments, fixtures: fixtures, root.key("recipes"))
        let rules = try diagnosisSection(f.diagnosis, root.key("diagnosis"))
        var simulation = try f.simulation.map {
            try simulationSection($0, recipes: recipes, order: order, fixtures: fixtures, root.key("simulation"))
        }
        if instruments.contains(where: { $0.driver.isSimulated || $0.simulate != nil }) && simulation == nil {
            simulation = SimulationSpec(bench: BenchSettings(), demoLot: [])
        }
        let control = try controlSection(f.control, root.key("control"))
        let sinks = try sinksSection(f.sinks ?? [], configFile: file, root.key("sinks"))
        let cords = try referenceCords(f.referenceCords, fixtures: fixtures, root.key("referenceCords"))
        try checkCoverage(recipes: order.compactMap { recipes[$0] }, cords: cords, fixtures: fixtures, root.key("recipes"))
        var config = StationConfig(
            sourcePath: file, stationId: f.station.id, dataDir: f.station.dataDir, instruments: instruments,
            fixtures: fixtures, recipes: recipes, recipeOrder: order, referenceCords: cords, rules: rules,
            control: control, sinks: sinks, simulation: simulation, hash: "")
        config.spillFile = f.station.spillFile
        config.scanners = try scannersSection(f.fixtures, instruments: instruments, recipes: recipes, root.key("fixtures"))
        config.users = try usersSection(f.users, file: f.usersFile, configFile: file, root)
        config.http = try f.http.map { try httpSection($0, users: config.users, configFile: file, root.key("http")) }
        if let s = f.station.schedule {
            guard let schedule = InstrumentSchedule(rawValue: s) else {
                throw ConfigIssue(path: root.key("station").key("schedule"), message: "'\(Escaped.text(s))' is not a schedule",
                                  fix: "use unit (a unit keeps shared instruments until it ends) or fiber (fixtures alternate per fiber)")
            }
            config.schedule = schedule
        }
        config.routeCheck = try routeCheckSection(f.mes?.routeCheck, configFile: file, root.key("mes").key("routeCheck"))
        if let d = f.station.referenceMaxDropDb {
            guard d.isFinite, (0.05...3).contains(d) else {
                throw ConfigIssue(path: root.key("station").key("referenceMaxDropDb"), message: "\(d) dB is outside 0.05...3 dB",
                                  fix: "give the largest fall of a path's reference power that is not dirt, e.g. 0.3")
            }
            config.referenceMaxDropDb = d
        }
        config.centralRecipes = try f.centralRecipes.map { try centralRecipesSection($0, configFile: file, root.key("centralRecipes")) }
        config.retention = try retentionSection(f.station.retention, root.key("station").key("retention"))
        if let c = f.station.calibration {
            config.calibration = try oneOf(c, CalibrationPolicy.self, root.key("station").key("calibration"), what: "calibration policy")
        }
        if let t = f.station.certificateTemplate {
            config.certificate = try certificateTemplate(t, configFile: file, root.key("station").key("certificateTemplate"))
        }
        return config
    }

    /// `station.certificateTemplate`: a Mustache file, relative to the config file's folder,
    /// read and checked now so that a broken template stops the start, not the first unit.
    static func certificateTemplate(_ value: String, configFile file: String, _ path: ConfigPath) throws -> CertificateTemplate {
        let full = resolvedPath(value, from: parentDirectory(of: file))
        do {
            return try CertificateTemplate(path: full)
        } catch {
            throw ConfigIssue(path: path, message: "certificate template \(error.source)\(error.place): \(error.message)", fix: error.fix)
        }
    }
}
