import Foundation

/// What a power meter saw. Sentinels (under-range, over-range, invalid) never become numbers.
public enum PowerReading: Sendable, Hashable, Codable, CustomStringConvertible {
    case dBm(Double)
    /// Below the detector's range: no light arrived.
    case noLight
    /// Above the detector's range: the reading is not a power.
    case overRange

    /// Convert watts (as many meters answer) to a reading. Zero, negative or non-finite is no light.
    public static func watts(_ w: Double) -> PowerReading {
        guard w.isFinite, w > 0 else { return .noLight }
        return .dBm(10 * log10(w * 1000))
    }

    public var dBmValue: Double? {
        if case .dBm(let v) = self { return v }
        return nil
    }

    /// The reading's kind in the one vocabulary the store and the report share (a power is `ok`).
    public var status: PowerStatus {
        switch self {
        case .dBm: .ok
        case .noLight: .noLight
        case .overRange: .overRange
        }
    }

    /// A reading back from its status and power; nil for `notMeasured`, or `ok` without a power.
    public init?(status: PowerStatus, dBm: Double?) {
        switch status {
        case .ok:
            guard let dBm else { return nil }
            self = .dBm(dBm)
        case .noLight: self = .noLight
        case .overRange: self = .overRange
        case .notMeasured: return nil
        }
    }

    public var description: String {
        switch self {
        case .dBm(let v): return String(format: "%.3f dBm", v)
        case .noLight: return "no light"
        case .overRange: return "over range"
        }
    }
}

/// dB and watt arithmetic used by the simulator and the tests.
public enum Optics {
    /// RL (dB) = 10*log10(P_incident / P_reflected), positive. Nil when either power is not positive.
    public static func returnLoss(incidentWatts: Double, reflectedWatts: Double) -> Double? {
        guard incidentWatts > 0, reflectedWatts > 0, incidentWatts.isFinite, reflectedWatts.isFinite else { return nil }
        return 10 * log10(incidentWatts / reflectedWatts)
    }

    public static func dBmToWatts(_ dbm: Double) -> Double { pow(10, dbm / 10) / 1000 }
}
