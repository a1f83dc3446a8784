import Foundation

/// The identity an instrument gives for `*IDN?`.
public struct InstrumentIdentity: Sendable, Hashable, Codable {
    public var manufacturer: String
    public var model: String
    public var serial: String
    public var firmware: String

    public init(manufacturer: String, model: String, serial: String, firmware: String) {
        self.manufacturer = manufacturer
        self.model = model
        self.serial = serial
        self.firmware = firmware
    }
}

/// How worn a cord is: `warning` from its warning count, `limit` at its rated matings.
public enum CordState: String, Sendable, Codable, Hashable { case ok, warning, limit }

/// The per-unit test report: what ships with the product and what the MES collects.
/// Its JSON form is described by `docs/report.schema.json`.
public struct UnitReport: Sendable, Codable {
    public static let schemaId = "https://ferrule.dev/schema/report/v1"

    /// The assembly tested: serial, part number and the recipe's description.
    public struct Unit: Sendable, Codable {
        public var serial: String
        public var partNumber: String
        public var description: String

        public init(serial: String, partNumber: String, description: String) {
            self.serial = serial
            self.partNumber = partNumber
            self.description = description
        }
    }
    /// The assembly's build as the recipe gives it: fiber count, layout, polarity, ends.
    public struct Assembly: Sendable, Codable {
        public var fiberCount: Int
        public var rows: Int
        public var positionsPerRow: Int
        public var usedPositions: [Int]
        public var unusedPositions: [Int]
        public var kind: AssemblyKind
        public var fiberType: FiberType
        public var polarity: String
        public var endA: ConnectorEnd
        public var endB: ConnectorEnd
        public var lengthM: Double?
        public var lengthToleranceM: Double?

        public init(_ spec: AssemblySpec) {
            fiberCount = spec.fiberCount
            rows = spec.layout.rows
            positionsPerRow = spec.layout.positionsPerRow
            usedPositions = spec.layout.usedPositions
            unusedPositions = spec.layout.unusedPositions
            kind = spec.kind
            fiberType = spec.fiberType
            polarity = spec.polarity.standardType?.rawValue ?? "explicit"
            endA = spec.endA
            endB = spec.endB
            lengthM = spec.lengthM
            lengthToleranceM = spec.lengthToleranceM
        }
    }
    /// The station that tested the unit: its id, software version and config hash.
    public struct Station: Sendable, Codable {
        public var id: String
        public var softwareVersion: String
        public var configHash: String

        public init(id: String, softwareVersion: String, configHash: String) {
            self.id = id
            self.softwareVersion = softwareVersion
            self.configHash = configHash
        }
    }
    /// An instrument used for the unit, in its role, with its identity and calibration date.
    public struct Instrument: Sendable, Codable {
        /// The part an instrument plays at a fixture, as the report names it.
        public enum Role: String, Sendable, Codable, Hashable, CaseIterable {
            case sequencer, launchSwitch, receiveSwitch, source, powerMeter, rlMeter, fixtureIO
        }
        public var role: Role
        public var name: String
        public var driver: String
        public var address: String
        public var identity: InstrumentIdentity?
        public var calibrationDue: String?
        /// True when the unit was tested with the instrument past its calibration (`station.calibration: warn`).
        public var calibrationOverdue: Bool?

        public init(
            role: Role, name: String, driver: String, address: String, identity: InstrumentIdentity?,
            calibrationDue: String?
        ) {
            self.role = role
            self.name = name
            self.driver = driver
            self.address = address
            self.identity = identity
            self.calibrationDue = calibrationDue
        }
    }
    /// What the MES said before the unit was tested (`mes.routeCheck`).
    public struct RouteCheck: Sendable, Codable, Hashable {
        public enum Result: String, Sendable, Codable, Hashable {
            /// The MES allowed the serial.
            case allowed
            /// The MES could not be asked and `onUnavailable: allow` let the unit run.
            case notChecked
        }
        public var result: Result
        /// Why it was not checked, where it was not.
        public var detail: String?

        public init(result: Result, detail: String? = nil) {
            self.result = result
            self.detail = detail
        }
    }
    /// A reference a unit's IL was computed against: the cord it was taken with and the values used.
    public struct ReferenceUsed: Sendable, Codable {
        public var cord: Reference.Cord
        public var method: ReferenceMethod
        public var takenAt: Date
        public var validUntil: Date
        public var pairs: String
        public var values: [Reference.Value]

        public init(
            cord: Reference.Cord, method: ReferenceMethod, takenAt: Date, validUntil: Date, pairs: String,
            values: [Reference.Value]
        ) {
            self.cord = cord
            self.method = method
            self.takenAt = takenAt
            self.validUntil = validUntil
            self.pairs = pairs
            self.values = values
        }
    }
    /// A cord in the light path and how many matings it had when the unit was tested.
    public struct CordUse: Sendable, Codable, Hashable {
        /// The launch or receive test cord, or a reference cord.
        public enum Role: String, Sendable, Codable, Hashable { case launch, receive, reference }

        public var role: Role
        public var id: String
        public var matings: Int
        public var maxMatings: Int
        public var state: CordState

        public init(role: Role, id: String, matings: Int, maxMatings: Int, state: CordState) {
            self.role = role
            self.id = id
            self.matings = matings
            self.maxMatings = maxMatings
            self.state = state
        }
    }
    /// The limits the unit was judged against, as the report states them.
    public struct Limits: Sendable, Codable {
        /// The IL limit at one wavelength.
        public struct PerWavelength: Sendable, Codable {
            public var wavelengthNm: Int
            public var ilMaxDb: Double
            /// Where the warning band starts, if the recipe has one.
            public var ilWarnDb: Double?
        }
        public var il: [PerWavelength]
        public var meanIlMaxDb: Double?
        /// RL min at end A and at end B.
        public var rlMinDb: Double?
        public var rlMinDbB: Double?
        /// How the instrument gated RL around each connector, where the recipe says.
        public var rlWindow: ReturnLossWindow?
        /// Where the RL warning band starts at end A and end B, if the recipe has one.
        public var rlWarnDb: Double?
        public var rlWarnDbB: Double?
    }
    /// Worst and mean values over the unit, for the certificate's summary.
    public struct Summary: Sendable, Codable {
        /// Worst and mean IL and worst RL at one wavelength.
        public struct PerWavelength: Sendable, Codable {
            public var wavelengthNm: Int
            public var maxIlDb: Double?
            public var meanIlDb: Double?
            public var minRlDb: Double?
            public var minRlBDb: Double?
        }
        public var worstIlDb: Double?
        public var worstIlFiber: Int?
        public var perWavelength: [PerWavelength]
    }

    public var schema: String = UnitReport.schemaId
    public var reportId: UUID
    public var unit: Unit
    public var assembly: Assembly
    public var station: Station
    public var fixture: Int
    public var `operator`: String
    /// Who started the unit as the daemon saw it: "web user op1 from 10.3.0.7", or the socket
    /// peer's OS user ("os user alice (uid 1000) on the socket"). Absent for older reports.
    public var requestedBy: String?
    /// The MES's route check, where the station has one.
    public var routeCheck: RouteCheck?
    public var startedAt: Date
    public var finishedAt: Date
    public var wavelengthsNm: [Int]
    public var limits: Limits
    public var instruments: [Instrument]
    /// Every reference the unit's IL was computed against (one per cord used).
    public var references: [ReferenceUsed]
    /// The cords in the light path, with their matings.
    public var cords: [CordUse]
    public var measurements: [Measurement]
    public var fibers: [FiberResult]
    public var polarity: PolarityResult
    public var verdict: Verdict
    public var reasons: [String]
    /// A passing unit with readings in the recipe's warning band, said per kind of reading;
    /// absent when there are none.
    public var warnings: [String]?
    /// The central recipe's revision that judged the unit; absent for a recipe from the station's YAML.
    public var recipeRevision: RecipeRevision?
    public var diagnoses: [Diagnosis]
    public var summary: Summary

    public init(
        reportId: UUID, unit: Unit, recipe: Recipe, station: Station, fixture: Int, operatorId: String,
        startedAt: Date, finishedAt: Date, instruments: [Instrument], references: [ReferenceUsed],
        cords: [CordUse], judgement: Judgement
    ) {
        self.reportId = reportId
        self.unit = unit
        self.assembly = Assembly(recipe.assembly)
        self.station = station
        self.fixture = fixture
        self.operator = operatorId
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.wavelengthsNm = recipe.wavelengthsNm
        self.recipeRevision = recipe.revision
        self.limits = Limits(
            il: recipe.wavelengthsNm.map {
                .init(wavelengthNm: $0, ilMaxDb: recipe.limits.ilMaxDb[$0] ?? .infinity, ilWarnDb: recipe.limits.ilWarnDb?[$0])
            },
            meanIlMaxDb: recipe.limits.meanIlMaxDb, rlMinDb: recipe.limits.rlMinDb,
            rlMinDbB: recipe.limits.rlMinDbB, rlWindow: recipe.rlWindow, rlWarnDb: recipe.limits.rlWarnDb,
            rlWarnDbB: recipe.limits.rlWarnDbB)
        self.instruments = instruments
        self.references = references
        self.cords = cords
        self.measurements = judgement.measurements
        self.fibers = judgement.fibers
        self.polarity = judgement.polarity
        self.verdict = judgement.verdict
        self.reasons = judgement.reasons
        self.warnings = judgement.warnings.isEmpty ? nil : judgement.warnings
        self.diagnoses = judgement.diagnoses

        let ms = judgement.measurements
        let worst = ms.filter { $0.ilDb != nil }.max { $0.ilDb! < $1.ilDb! }
        self.summary = Summary(
            worstIlDb: worst?.ilDb, worstIlFiber: worst?.fiber,
            perWavelength: recipe.wavelengthsNm.map { wl in
                let ils = ms.filter { $0.wavelengthNm == wl }.compactMap(\.ilDb)
                let rls = ms.filter { $0.wavelengthNm == wl }.compactMap(\.rlDb)
                let rlbs = ms.filter { $0.wavelengthNm == wl }.compactMap(\.rlBDb)
                return .init(
                    wavelengthNm: wl, maxIlDb: ils.max(),
                    meanIlDb: ils.isEmpty ? nil : Judge.round(ils.reduce(0, +) / Double(ils.count), 3),
                    minRlDb: rls.min(), minRlBDb: rlbs.min())
            })
    }

    /// JSON as written to disk: sorted keys, ISO 8601 UTC times with milliseconds.
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(isoMilliseconds(date))
        }
        e.nonConformingFloatEncodingStrategy = .throw
        return e
    }

    /// The report as its record holds it: every time rounded to the millisecond, as its JSON
    /// writes them. Files rendered from it are the stored record's, without reading it back
    /// (the finish time names the files, and x.9996 s carries into the next second).
    public func atMilliseconds() -> UnitReport {
        func ms(_ d: Date) -> Date { Date(timeIntervalSince1970: (d.timeIntervalSince1970 * 1000).rounded() / 1000) }
        var r = self
        r.startedAt = ms(startedAt)
        r.finishedAt = ms(finishedAt)
        for i in r.references.indices {
            r.references[i].takenAt = ms(r.references[i].takenAt)
            r.references[i].validUntil = ms(r.references[i].validUntil)
        }
        return r
    }

    /// ISO 8601 UTC with milliseconds, rounded to the nearest millisecond, so that a time read
    /// back from a report is written again as the same text (the formatter truncates, and a
    /// parsed .301 is 0.30099... s: a report re-rendered from the store would differ by 1 ms).
    public static func isoMilliseconds(_ date: Date) -> String {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        let whole = (ms / 1000).rounded(.down)
        let text = Date(timeIntervalSince1970: whole).formatted(Date.ISO8601FormatStyle(timeZone: .gmt))  // ...T03:47:20Z
        return String(text.dropLast()) + String(format: ".%03dZ", Int(ms - whole * 1000))
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(s) {
                return date
            }
            if let date = try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(s) { return date }
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 time: \(s)")
        }
        return d
    }
}
