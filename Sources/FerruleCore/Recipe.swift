import Foundation

/// Reference method, recorded with every result (TIA/OFSTP-14).
public enum ReferenceMethod: String, Codable, Sendable, CaseIterable {
    case oneCord = "1-cord"
    case twoCord = "2-cord"
    case threeCord = "3-cord"
}

/// A recipe's pass limits: IL per wavelength and mean, RL at each end.
public struct Limits: Sendable, Hashable, Codable {
    /// IL max per fiber, per wavelength (nm -> dB).
    public var ilMaxDb: [Int: Double]
    /// Optional limit on the mean IL of all fibers at one wavelength.
    public var meanIlMaxDb: Double?
    /// RL min (dB) at end A (the launch end); nil when RL is not judged there.
    public var rlMinDb: Double?
    /// RL min (dB) at end B; nil when RL is not judged there. A fan-out's LC UPC legs differ from its MPO APC end.
    public var rlMinDbB: Double?
    /// The warning band (`limits.ilWarnDb`, `rlWarnDb`): a reading that passes but lies beyond
    /// these passes with a warning (IL above ilWarnDb at its wavelength, RL below rlWarnDb at
    /// that end). nil: no band.
    public var ilWarnDb: [Int: Double]?
    public var rlWarnDb: Double?
    public var rlWarnDbB: Double?

    public init(ilMaxDb: [Int: Double], meanIlMaxDb: Double? = nil, rlMinDb: Double? = nil, rlMinDbB: Double? = nil) {
        self.ilMaxDb = ilMaxDb
        self.meanIlMaxDb = meanIlMaxDb
        self.rlMinDb = rlMinDb
        self.rlMinDbB = rlMinDbB
    }

    /// Whether the recipe judges RL at either end (and so needs an RL meter).
    public var judgesReturnLoss: Bool { rlMinDb != nil || rlMinDbB != nil }
}

/// How old a reference may be and how far below zero an IL may read before the reference is suspect.
public struct ReferencePolicy: Sendable, Hashable, Codable {
    /// How long a reference stays valid (seconds). A shift is the usual choice.
    public var validitySeconds: Double
    /// An IL below -tolerance means the reference is suspect (meter uncertainty is +/-0.02 dB SM,
    /// +/-0.05 dB MM; a switch adds +/-0.01 dB).
    public var negativeIlToleranceDb: Double
    public var method: ReferenceMethod

    public init(validitySeconds: Double, negativeIlToleranceDb: Double, method: ReferenceMethod = .oneCord) {
        self.validitySeconds = validitySeconds
        self.negativeIlToleranceDb = negativeIlToleranceDb
        self.method = method
    }
}

/// Heuristics behind the diagnoses; station-wide, overridable.
public struct DiagnosisRules: Sendable, Hashable, Codable {
    /// How many adjacent high-IL fibers make a contaminated-end-face cluster.
    public var contaminationClusterMin: Int = 3
    /// A fiber whose light does not reach its expected receive position with less than this
    /// loss is looked for at the other receive positions.
    public var lightThresholdIlDb: Double = 20
    /// RL this far below the median of the unit counts as degraded at that end.
    public var rlDegradedDb: Double = 6
    /// After this many fibers dark at every receive position, with none lit before them, the unit
    /// is stopped and diagnosed all dark (a gender mismatch, an unmated end) instead of scanning
    /// every position for every fiber. 0: every fiber is scanned.
    public var allDarkAfterFibers: Int = 2

    public init() {}

    private enum CodingKeys: String, CodingKey { case contaminationClusterMin, lightThresholdIlDb, rlDegradedDb, allDarkAfterFibers }

    // Records written before a rule existed read with its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        contaminationClusterMin = try c.decodeIfPresent(Int.self, forKey: .contaminationClusterMin) ?? 3
        lightThresholdIlDb = try c.decodeIfPresent(Double.self, forKey: .lightThresholdIlDb) ?? 20
        rlDegradedDb = try c.decodeIfPresent(Double.self, forKey: .rlDegradedDb) ?? 6
        allDarkAfterFibers = try c.decodeIfPresent(Int.self, forKey: .allDarkAfterFibers) ?? 2
    }
}

/// Where an OTDR-style IL/RL meter gates each connector's reflection: a window between two
/// markers placed around the connector (VIAVI MAP-PCT Programming Guide 22112369-346, 5-20
/// `:MEASure:ORL:SETup`: zone 1 anchored at the DUT start gives RL at end A, zone 2 anchored at
/// the DUT end gives RL at end B).
public struct ReturnLossWindow: Sendable, Hashable, Codable {
    public enum Method: String, Sendable, Hashable, Codable, CaseIterable {
        /// The reflectance integrated between the markers.
        case integration
        /// The largest discrete reflection between the markers (APC connectors).
        case discrete
    }
    public var method: Method
    /// Marker A's and marker B's distance from the connector (m, negative: before it).
    public var aOffsetM: Double
    public var bOffsetM: Double

    public init(method: Method, aOffsetM: Double = -0.5, bOffsetM: Double = 0.5) {
        self.method = method
        self.aOffsetM = aOffsetM
        self.bOffsetM = bOffsetM
    }
}

/// A recipe kept in the line's database: its revision, who changed it and who approved it
/// (`centralRecipes`); a report names it, so a certificate says exactly which limits judged it.
public struct RecipeRevision: Sendable, Hashable, Codable {
    public var number: Int
    public var changedBy: String
    public var approvedBy: String
    public var approvedAt: Date

    public init(number: Int, changedBy: String, approvedBy: String, approvedAt: Date) {
        self.number = number
        self.changedBy = changedBy
        self.approvedBy = approvedBy
        self.approvedAt = approvedAt
    }
}

/// What a part number must meet.
public struct Recipe: Sendable, Hashable, Codable {
    public var partNumber: String
    public var description: String
    public var assembly: AssemblySpec
    public var wavelengthsNm: [Int]
    public var limits: Limits
    public var reference: ReferencePolicy
    /// How RL is gated where the instrument gates it (nil: the instrument's own setting).
    public var rlWindow: ReturnLossWindow?
    /// The line database's revision of a central recipe; nil for one from the station's YAML.
    public var revision: RecipeRevision?
    /// The grade a lot of this part is sold to (lot reports say whether it meets it).
    public var grade: GradeSpec?

    public init(partNumber: String, description: String, assembly: AssemblySpec, wavelengthsNm: [Int],
                limits: Limits, reference: ReferencePolicy, rlWindow: ReturnLossWindow? = nil) {
        self.rlWindow = rlWindow
        self.partNumber = partNumber
        self.description = description
        self.assembly = assembly
        self.wavelengthsNm = wavelengthsNm
        self.limits = limits
        self.reference = reference
    }
}
