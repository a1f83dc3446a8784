import FerruleCore
import FerruleDevices
import Foundation

// The value checks every config section shares: names from a fixed set, durations, channel
// lists, Modbus points and ranges. Each throws a `ConfigIssue` naming the key and the fix.
extension StationConfig {
    static func oneOf<T: RawRepresentable & CaseIterable>(
        _ value: String, _ type: T.Type, _ path: ConfigPath,
        what: String
    ) throws -> T where T.RawValue == String {
        if let v = T(rawValue: value) ?? T.allCases.first(where: { $0.rawValue.lowercased() == value.lowercased() }) { return v }
        throw ConfigIssue(
            path: path, message: "'\(value)' is not a known \(what)",
            fix: "use one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    /// What a waiting duration (a timeout, a prompt, a back-off) may be: 1 ms to 24 h. Anything
    /// outside is a typo, and a huge one would trap when turned into a `Duration`.
    static let waiting: ClosedRange<Double> = 0.001...86_400

    /// "8h", "30m", "90s", "1d", "300ms" or a number of seconds, within `range` (seconds).
    static func duration(_ text: String, _ path: ConfigPath, within range: ClosedRange<Double> = waiting) throws -> Double {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        let (number, unit) =
            units.first { t.hasSuffix($0.0) && Double(t.dropLast($0.0.count)) != nil }
            .map { (Double(t.dropLast($0.0.count)), $0.1) } ?? (Double(t), 1)
        guard let n = number, n.isFinite, n > 0 else {
            throw ConfigIssue(
                path: path, message: "'\(Escaped.text(text))' is not a duration",
                fix: "write a positive duration such as 8h, 30m, 90s or 300ms")
        }
        let seconds = n * unit
        guard range.contains(seconds) else {
            throw ConfigIssue(
                path: path,
                message: "'\(Escaped.text(text))' is outside \(Durations.words(range.lowerBound))...\(Durations.words(range.upperBound))",
                fix: "give a duration from \(Durations.words(range.lowerBound)) to \(Durations.words(range.upperBound))")
        }
        return seconds
    }

    /// The largest switch and channel number this station takes (real 1xN switches stop well below).
    static let maxChannels = 1024

    static func channels(_ list: ChannelList, _ path: ConfigPath) throws -> [Int] {
        switch list {
        case .list(let l):
            guard !l.isEmpty else {
                throw ConfigIssue(path: path, message: "the channel list is empty", fix: "list one channel per position")
            }
            return l
        case .range(let s):
            let parts = s.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo >= 1, hi >= lo else {
                throw ConfigIssue(
                    path: path, message: "'\(s)' is not a channel range",
                    fix: "write a range such as \"1-24\" or a list such as [1, 2, 3]")
            }
            guard hi <= maxChannels else {
                throw ConfigIssue(
                    path: path, message: "channel range '\(s)' goes past channel \(maxChannels)",
                    fix: "check the range: a fixture has one channel per MPO position (up to 72)")
            }
            return Array(lo...hi)
        }
    }

    static func point(_ text: String?, _ path: ConfigPath, output: Bool = false, word: Bool = false) throws -> ModbusPoint? {
        guard let text else { return nil }
        return try requiredPoint(text, path, output: output, word: word)
    }

    /// A point the config must give (a required key), checked as above.
    static func requiredPoint(_ text: String, _ path: ConfigPath, output: Bool = false, word: Bool = false) throws -> ModbusPoint {
        switch ModbusPoint.parse(text) {
        case .failure(let e):
            throw ConfigIssue(
                path: path, message: "'\(text)' is not a Modbus point: \(e.reason)",
                fix: "write TABLE:ADDRESS[.BIT] with TABLE coil, di, hr or ir, e.g. di:0, coil:2, ir:5.3, !di:1 (active low)")
        case .success(let p):
            if output && !p.table.writable {
                throw ConfigIssue(
                    path: path, message: "'\(text)' is a \(p.table.title), which is read-only",
                    fix: "map an output to a coil or a holding register")
            }
            if word && p.isSignal {
                throw ConfigIssue(path: path, message: "'\(text)' names a bit, a whole register is needed here", fix: "write hr:N or ir:N")
            }
            if word && output && p.table != .hr {
                throw ConfigIssue(
                    path: path, message: "'\(text)' is not a holding register", fix: "the channel is written to a holding register: hr:N")
            }
            return p
        }
    }

    /// A number within its range, or an error that gives the range.
    static func within(_ v: Double, _ range: ClosedRange<Double>, _ p: ConfigPath, _ unit: String) throws -> Double {
        guard v.isFinite, range.contains(v) else {
            throw ConfigIssue(
                path: p, message: "\(v) \(unit) is outside \(range.lowerBound)...\(range.upperBound) \(unit)",
                fix: "give a value from \(range.lowerBound) to \(range.upperBound) \(unit)")
        }
        return v
    }
}
