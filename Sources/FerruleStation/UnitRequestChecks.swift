import FerruleConfig
import FerruleCore
import Foundation

extension UnitRequest {
    /// Longest serial, part number or operator id a station takes: labels and badges are far
    /// shorter; a longer one is a scanner fault or an attack, and it would be printed everywhere.
    public static let maxFieldLength = 64

    /// Refuses a field that is too long or holds a control character (NUL, escape, newline).
    static func checkField(_ name: String, _ value: String, fix: String) throws(UnitRefused) {
        let count = value.unicodeScalars.count
        guard count <= maxFieldLength else {
            throw UnitRefused(message: "'\(name)' is \(count) characters long; at most \(maxFieldLength)", fix: fix)
        }
        if let (offset, c) = value.unicodeScalars.enumerated().first(where: { $0.element.properties.generalCategory == .control }) {
            let code = "U+" + String(format: "%04X", c.value)
            throw UnitRefused(message: "'\(name)' holds the control character \(code) at position \(offset + 1)",
                              fix: "\(fix) (only printable characters)")
        }
    }
}
