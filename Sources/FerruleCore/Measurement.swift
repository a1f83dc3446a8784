import Foundation

/// What one reading means, decided by one rule for the judge, the live events and progress alike.
public enum Light: Sendable, Hashable {
    /// Light arrived: a power that is a measurement.
    case lit(dBm: Double)
    /// No light: below the meter's floor, or so far below the reference that it is the detector's noise.
    case dark
    /// Above the detector's range: not a power; the unit is an `error`, never dark and never a number.
    case overRange
}

/// The one measurement rule: light detection, IL and the rounding of what is reported.
public enum MeasurementRule {
    /// Classifies a reading. `referenceDbm` is P_ref of the path read (or, for a path no reference
    /// covers, of the same launch on another path: good enough to tell light from noise). A reading
    /// whose loss against it is `lightThresholdIlDb` or more is the detector's noise, not light.
    public static func classify(_ reading: PowerReading, referenceDbm: Double?, lightThresholdIlDb: Double) -> Light {
        switch reading {
        case .noLight: return .dark
        case .overRange: return .overRange
        case .dBm(let p):
            if let ref = referenceDbm, ref - p >= lightThresholdIlDb { return .dark }
            return .lit(dBm: p)
        }
    }

    /// IL (dB) = P_ref - P_dut, both read on the same (launch, receive, wavelength) path, to 0.001 dB.
    public static func insertionLoss(referenceDbm: Double, powerDbm: Double) -> Double {
        round(round(referenceDbm, 3) - round(powerDbm, 3), 3)
    }

    /// Powers and IL are reported to 0.001 dB (meter resolution), RL to 0.01 dB.
    public static func round(_ v: Double, _ digits: Int) -> Double {
        let f = pow(10, Double(digits))
        return (v * f).rounded() / f
    }
}

/// One step as the engine took it: a fiber launched at one wavelength and read at one receive position.
public struct RawStep: Sendable, Hashable {
    public var fiber: Int
    public var wavelengthNm: Int
    public var expectedReceivePosition: Int
    /// Where the power was read (where the light was found, or the expected position if nowhere).
    public var receivePosition: Int
    /// P_ref of this exact (launch, receive, wavelength) path; nil when no valid reference covers it.
    public var referenceDbm: Double?
    /// The reference cord whose reference covered the path.
    public var referenceCord: String?
    /// The reading, already classified by `MeasurementRule`: `.dBm` only when light arrived.
    public var power: PowerReading?
    /// RL at end A (the launch end) and at end B, as the meter reports them.
    public var rlDb: Double?
    public var rlBDb: Double?
    /// An instrument fault during this step: the step has no valid result past what was read.
    public var fault: String?
    /// IL as an instrument that references itself computed it against its own reference of this
    /// path (the MAP-300 PCT), which reports no power: `power` is then nil. A path it found dark or
    /// over range has `power` `.noLight` or `.overRange` and no IL, as on a stepped bench.
    public var instrumentIlDb: Double?
    /// The DUT's length as the instrument measured it on this path (m).
    public var lengthM: Double?

    public var referencedPair: Bool { referenceDbm != nil }

    public init(fiber: Int, wavelengthNm: Int, expectedReceivePosition: Int, receivePosition: Int, referenceDbm: Double?,
                referenceCord: String? = nil, power: PowerReading?, rlDb: Double?, rlBDb: Double? = nil, fault: String?) {
        self.fiber = fiber
        self.wavelengthNm = wavelengthNm
        self.expectedReceivePosition = expectedReceivePosition
        self.receivePosition = receivePosition
        self.referenceDbm = referenceDbm
        self.referenceCord = referenceCord
        self.power = power
        self.rlDb = rlDb
        self.rlBDb = rlBDb
        self.fault = fault
    }
}

/// What a judged reading's light was: a measurement (`ok`), none, more than the detector takes,
/// or nothing read (the step ended on a fault first).
public enum PowerStatus: String, Sendable, Hashable, Codable {
    case ok, noLight, overRange, notMeasured
}

/// One judged reading: a fiber at one wavelength, with its limits, margins and verdict.
public struct Measurement: Sendable, Hashable, Codable {
    public var fiber: Int
    public var wavelengthNm: Int
    /// The launch end (RL `rlDb` is measured there; `rlBDb` at the far end).
    public var end: End
    public var expectedReceivePosition: Int
    /// Where the light was read; nil when the fiber is dark at this wavelength.
    public var receivePosition: Int?
    /// P_ref of the exact path read; nil when no valid reference covers it (no IL is computed).
    public var referenceDbm: Double?
    public var referencedPair: Bool
    /// The reference cord that covered the path.
    public var referenceCord: String?
    public var powerDbm: Double?
    public var powerStatus: PowerStatus
    public var ilDb: Double?
    public var ilMaxDb: Double
    public var ilMarginDb: Double?
    /// RL at end A, its limit and margin.
    public var rlDb: Double?
    public var rlMinDb: Double?
    public var rlMarginDb: Double?
    /// RL at end B, its limit and margin.
    public var rlBDb: Double?
    public var rlBMinDb: Double?
    public var rlBMarginDb: Double?
    /// The DUT's length as the instrument measured it (m); nil where nothing measures length.
    public var lengthM: Double?
    public var verdict: MeasurementVerdict
    public var reasons: [String]
    /// A passing reading in the recipe's warning band, said; nil when there is none (and in
    /// reports written before warning bands).
    public var warnings: [String]?
}
