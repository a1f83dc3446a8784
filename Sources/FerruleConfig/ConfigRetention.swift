import FerruleCore
import FerruleRecords

/// `station.retention`: how long units stay in the store and report files in `reports/`.
struct RetentionEntry: Codable {
    /// Days a unit stays in the store once every sink has it (default 90), or `forever`.
    var storeDays: DaysEntry?
    /// Days a report's files stay in `reports/` once every sink has its unit (default 30), or `forever`.
    var reportFilesDays: DaysEntry?
    /// Move retired units to the month's archive file (default true) or drop them (false).
    var archive: Bool?
    /// How often retention looks (default 1h).
    var every: String?
}

/// A number of days, or `forever`.
enum DaysEntry: Codable {
    case days(Double)
    case forever(String)

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) { self = .days(d) } else { self = .forever(try c.decode(String.self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .days(let d): try c.encode(d)
        case .forever(let s): try c.encode(s)
        }
    }
}

extension StationConfig {
    /// The longest retention that is not `forever`: a century.
    static let retentionDays: ClosedRange<Double> = 0...36_500

    static func retentionSection(_ e: RetentionEntry?, _ p: ConfigPath) throws -> RetentionPolicy {
        var policy = RetentionPolicy()
        guard let e else { return policy }
        if let d = e.storeDays { policy.storeDays = try days(d, p.key("storeDays")) }
        if let d = e.reportFilesDays { policy.reportFilesDays = try days(d, p.key("reportFilesDays")) }
        if let a = e.archive { policy.archive = a }
        if let t = e.every { policy.every = .milliseconds(Int64(try duration(t, p.key("every"), within: 1...86_400) * 1000)) }
        return policy
    }

    /// Days (0 and up: 0 retires a unit as soon as every sink has it) or nil for `forever`.
    static func days(_ d: DaysEntry, _ p: ConfigPath) throws -> Double? {
        switch d {
        case .days(let n):
            guard n.isFinite, retentionDays.contains(n) else {
                throw ConfigIssue(path: p, message: "\(n) days is outside 0...36500", fix: "give a number of days, e.g. 90, or forever")
            }
            return n
        case .forever(let s):
            guard s == "forever" else {
                throw ConfigIssue(
                    path: p, message: "'\(Escaped.text(s))' is not a number of days", fix: "give a number of days, e.g. 90, or forever")
            }
            return nil
        }
    }
}
