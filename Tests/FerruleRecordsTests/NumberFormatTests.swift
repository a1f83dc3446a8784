import Foundation
import Testing

@testable import FerruleRecords

/// Every number on a certificate, in a CSV or a report is written by one formatter.
@Suite struct NumberFormatTests {
    /// Report numbers come from the C library's `%.*f`, as `String(format:)` writes them.
    @Test func numbersAreWhatStringFormatWrites() {
        var values: [Double] = [0, -0.0, 0.0005, 0.125, 2.675, 1.005, -1.115, 9.9e37, 1e59, 1e60, 1e300, -73.21549]
        var x = -80.0
        while x < 80 { values.append(x); x += 0.0123457 }
        for v in values {
            for digits in 0...3 { #expect(num(v, digits) == String(format: "%.\(digits)f", v), "\(v) to \(digits)") }
        }
        #expect(num(nil) == "" && num(.infinity) == "" && num(.nan) == "")
    }
}
