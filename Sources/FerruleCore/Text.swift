import Foundation

/// Text a client supplied (serial, operator, part number), made safe to print on one line of a
/// log or a terminal: control characters (a newline would forge a log line, ESC drives the
/// terminal), bidirectional overrides (U+202E reverses what the operator reads) and line
/// separators become `\u{XXXX}`; a backslash is doubled so that the escape is unambiguous.
public enum Escaped {
    public static func text(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            if u == "\\" {
                out += "\\\\"
            } else if needsEscape(u) {
                out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x00...0x1F, 0x7F...0x9F: return true                       // C0, DEL, C1 controls
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true  // bidi marks and overrides
        case 0x2028, 0x2029: return true                                   // line and paragraph separators
        default: return false
        }
    }
}

extension Duration {
    /// The duration in seconds, fractions included (for `Date` arithmetic and printing).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// The duration in whole nanoseconds (for timers and event-loop deadlines).
    public var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// Durations in the unit that reads well: "300 ms", "45 s", "12 min", "8.0 h".
public enum Durations {
    public static func words(_ seconds: Double) -> String {
        let s = abs(seconds)
        if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
        if s < 120 { return "\(Int(s.rounded())) s" }
        if s < 120 * 60 { return "\(Int((s / 60).rounded())) min" }
        return String(format: "%.1f h", s / 3600)
    }
}

extension StringProtocol {
    /// Without the spaces and tabs around it, as instruments pad their replies. A plain scan:
    /// Foundation's `trimmingCharacters(in:)` goes through NSString and costs microseconds, and
    /// every instrument exchange trims a few times.
    public func trimmingBlanks() -> SubSequence {
        func blank(_ c: Character) -> Bool { c == " " || c == "\t" }
        var start = startIndex
        var end = endIndex
        while start < end, blank(self[start]) { start = index(after: start) }
        while start < end, blank(self[index(before: end)]) { end = index(before: end) }
        return self[start..<end]
    }
}
