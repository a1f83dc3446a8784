import FerruleCore
import Foundation

/// What a fixture is doing.
public enum FixtureState: String, Sendable, Codable, Hashable {
    case idle
    /// Waiting for the unit to be put in (the operator's prompt).
    case loading
    /// Waiting for the fixture's start button.
    case waitingStart
    case testing
    case referencing
}

/// How an instrument is: answering, failing, unplugged, or not asked yet.
public enum InstrumentState: String, Sendable, Codable, Hashable {
    case ok, fault, missing, unknown
}

/// Whether a fixture's reference may be used.
public enum ReferenceValidity: String, Sendable, Codable, Hashable {
    case valid, expired, suspect, missing
}

/// A unit on a fixture, as `status` shows it while it runs.
public struct UnitProgress: Sendable, Codable, Hashable {
    public var serial: String
    public var partNumber: String
    /// `loading`, `waitingStart` or `testing`.
    public var state: FixtureState
    public var startedAt: Date
    public var fibersDone: Int
    public var fibersTotal: Int
    public var worstIlDb: Double?

    public init(
        serial: String, partNumber: String, state: FixtureState, startedAt: Date, fibersDone: Int, fibersTotal: Int,
        worstIlDb: Double? = nil
    ) {
        self.serial = serial
        self.partNumber = partNumber
        self.state = state
        self.startedAt = startedAt
        self.fibersDone = fibersDone
        self.fibersTotal = fibersTotal
        self.worstIlDb = worstIlDb
    }
}

/// The whole station at one moment: fixtures, instruments, storage and sinks (`ferrulectl status`).
public struct StationStatus: Sendable, Codable {
    /// A reference of a fixture: valid, expired, suspect or missing, with its cord.
    public struct ReferenceState: Sendable, Codable {
        public var state: ReferenceValidity
        public var takenAt: Date?
        public var validUntil: Date?
        public var suspect: String?
        /// The reference cord it was taken with, and the cord's polarity.
        public var cord: String?
        public var polarity: String?

        public init(
            state: ReferenceValidity, takenAt: Date? = nil, validUntil: Date? = nil, suspect: String? = nil, cord: String? = nil,
            polarity: String? = nil
        ) {
            self.state = state
            self.takenAt = takenAt
            self.validUntil = validUntil
            self.suspect = suspect
            self.cord = cord
            self.polarity = polarity
        }
    }
    /// One fixture: what it is doing, its unit's progress, its references, cords and light warning.
    public struct Fixture: Sendable, Codable {
        public var id: Int
        public var state: FixtureState
        public var unit: UnitProgress?
        /// The newest reference (`missing` when there is none); every reference by cord below.
        public var reference: ReferenceState
        public var references: [ReferenceState]
        /// The fixture's test cords and the reference cords that fit it, with their matings.
        public var cords: [UnitReport.CordUse]
        /// Set when the fixture's light source did not confirm off: "source may be ON: why".
        public var sourceMayBeOn: String?
        /// The fixture's instruments past their calibration (nil: none).
        public var calibrationOverdue: [OverdueCalibration]?
        /// The latest unit this fixture finished since the daemon started.
        public var lastUnit: LastUnit?

        public init(
            id: Int, state: FixtureState, unit: UnitProgress? = nil, reference: ReferenceState, references: [ReferenceState],
            cords: [UnitReport.CordUse], sourceMayBeOn: String? = nil
        ) {
            self.id = id
            self.state = state
            self.unit = unit
            self.reference = reference
            self.references = references
            self.cords = cords
            self.sourceMayBeOn = sourceMayBeOn
        }
    }
    /// A finished unit's verdict, as a screen shows it until the next unit.
    public struct LastUnit: Sendable, Codable, Hashable {
        public var serial: String
        public var partNumber: String
        public var reportId: UUID
        public var verdict: Verdict
        public var finishedAt: Date
        /// False while the record waits in memory for the store (`unitHeld`).
        public var stored: Bool

        public init(serial: String, partNumber: String, reportId: UUID, verdict: Verdict, finishedAt: Date, stored: Bool) {
            self.serial = serial
            self.partNumber = partNumber
            self.reportId = reportId
            self.verdict = verdict
            self.finishedAt = finishedAt
            self.stored = stored
        }
    }
    /// An instrument past its calibration: due on `due`, or never calibrated (nil).
    public struct OverdueCalibration: Sendable, Codable, Hashable {
        public var instrument: String
        public var due: String?

        public init(instrument: String, due: String?) {
            self.instrument = instrument
            self.due = due
        }
    }
    /// One instrument: where it is, whether it answers, who it is and its last error.
    public struct Instrument: Sendable, Codable {
        public var name: String
        public var driver: String
        public var address: String
        public var state: InstrumentState
        public var identity: InstrumentIdentity?
        public var lastError: String?
        /// `yyyy-MM-dd`: the instrument's own calibration date plus its interval, or the config's `calibrationDue`.
        public var calibrationDue: String?
        /// What says when it is due, in words ("calibration due 2027-03-02 (from the instrument)").
        public var calibration: String?
        /// True when today is past it (or the instrument says it is not calibrated).
        public var calibrationOverdue: Bool?

        public init(
            name: String, driver: String, address: String, state: InstrumentState, identity: InstrumentIdentity? = nil,
            lastError: String? = nil
        ) {
            self.name = name
            self.driver = driver
            self.address = address
            self.state = state
            self.identity = identity
            self.lastError = lastError
        }
    }
    public var stationId: String
    public var softwareVersion: String
    public var configPath: String
    public var configHash: String
    public var dataDir: String
    public var startedAt: Date
    public var accepting: Bool
    public var fixtures: [Fixture]
    public var instruments: [Instrument]
    public var storage: Storage
    /// Each sink's backlog and health.
    public var sinks: [SinkStatus]
    /// Where the operator web app listens (`http:`), once it does.
    public var webAddress: String?
    /// The line's recipes (`centralRecipes`); nil when the station has only its YAML's.
    public var centralRecipes: CentralRecipes?

    /// Which revisions of the line's recipes the station tests with, and where they came from.
    public struct CentralRecipes: Sendable, Codable, Hashable {
        /// The line database (host, port and database; never its password).
        public var source: String
        /// When the revisions in use were read from the database.
        public var fetchedAt: Date?
        /// True when the database was not read and the revisions cached at the last read are used.
        public var fromCache: Bool
        /// Why the database was not read, or which revisions this station refused, with the fix.
        public var problems: [String]
        /// The revision in use per part number.
        public var revisions: [String: Int]

        public init(source: String, fetchedAt: Date?, fromCache: Bool, problems: [String], revisions: [String: Int]) {
            self.source = source
            self.fetchedAt = fetchedAt
            self.fromCache = fromCache
            self.problems = problems
            self.revisions = revisions
        }
    }

    /// The results store: its size, the free space, and any trouble storing units or writing files.
    /// SQLite's `quick_check` over the whole store, run in the background after a start (which
    /// looks only at the schema and the pages written last, so that it answers in bounded time).
    public struct IntegrityCheck: Sendable, Codable, Hashable {
        public enum State: String, Sendable, Codable, Hashable {
            case running, ok, damaged
        }
        public var state: State
        /// When it began (running) or ended.
        public var at: Date
        /// SQLite's words on the damage, and what to do.
        public var detail: String?

        public init(state: State, at: Date, detail: String? = nil) {
            self.state = state
            self.at = at
            self.detail = detail
        }
    }

    /// The last retention pass (`station.retention`): units out of the store, units kept past the cut.
    public struct RetentionPass: Sendable, Codable, Hashable {
        public var at: Date
        /// Units taken out of the store by that pass.
        public var retired: Int
        /// Whether they went to an archive month (false: dropped, as configured).
        public var archived: Bool
        /// Units past the cut still in the store: owed to a sink, without their files, or running.
        public var kept: Int

        public init(at: Date, retired: Int, archived: Bool, kept: Int) {
            self.at = at
            self.retired = retired
            self.archived = archived
            self.kept = kept
        }
    }

    public struct Storage: Sendable, Codable {
        public var path: String
        public var sizeBytes: Int
        public var freeBytes: Int64?
        /// Why results cannot be stored right now; nil when they can.
        public var problem: String?
        /// Measured units waiting in memory for the store to take them.
        public var unstoredUnits: Int
        /// Of those, the ones kept in the spill file, which a stop does not lose.
        public var spilledUnits: Int = 0
        public var spillFile: String?
        /// Why the spill file could not take a unit; nil when it could.
        public var spillProblem: String?
        /// Why stored units' report files cannot be written right now (retried every 5 s).
        public var reportFilesProblem: String?
        public var reportFilesUnwritten: Int = 0
        /// The full integrity check that follows a start in the background; nil before it began.
        public var integrity: IntegrityCheck?
        /// The last retention pass; nil before the first.
        public var retention: RetentionPass?

        public init(
            path: String, sizeBytes: Int, freeBytes: Int64? = nil, problem: String? = nil, unstoredUnits: Int,
            spilledUnits: Int = 0, spillFile: String? = nil, spillProblem: String? = nil,
            reportFilesProblem: String? = nil, reportFilesUnwritten: Int = 0, integrity: IntegrityCheck? = nil
        ) {
            self.integrity = integrity
            self.spilledUnits = spilledUnits
            self.spillFile = spillFile
            self.spillProblem = spillProblem
            self.path = path
            self.sizeBytes = sizeBytes
            self.freeBytes = freeBytes
            self.problem = problem
            self.unstoredUnits = unstoredUnits
            self.reportFilesProblem = reportFilesProblem
            self.reportFilesUnwritten = reportFilesUnwritten
        }
    }

    public init(
        stationId: String, softwareVersion: String, configPath: String, configHash: String, dataDir: String, startedAt: Date,
        accepting: Bool, fixtures: [Fixture], instruments: [Instrument], storage: Storage, sinks: [SinkStatus]
    ) {
        self.stationId = stationId
        self.softwareVersion = softwareVersion
        self.configPath = configPath
        self.configHash = configHash
        self.dataDir = dataDir
        self.startedAt = startedAt
        self.accepting = accepting
        self.fixtures = fixtures
        self.instruments = instruments
        self.storage = storage
        self.sinks = sinks
    }
}
