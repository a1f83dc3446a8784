import Foundation
import Testing

@testable import FerruleCore

/// A lot's statistics against values worked by hand, and the grade decided per wavelength.
@Suite struct LotTests {
    static let a1310 = ChartPosition(fiber: 1, wavelengthNm: 1310, end: .a)
    static let b1310 = ChartPosition(fiber: 2, wavelengthNm: 1310, end: .a)
    static let a1550 = ChartPosition(fiber: 1, wavelengthNm: 1550, end: .a)

    /// Five units: fiber 1 at 1310 nm reads 0.1 to 0.5 dB, fiber 2 always 0.05, fiber 1 at 1550 always 0.20.
    static let units: [[ChartPosition: Double]] = (1...5).map { i in [a1310: 0.1 * Double(i), b1310: 0.05, a1550: 0.20] }

    @Test func meanAndNinetySeventhPercentileByHand() throws {
        let lot = LotReport.make(
            partNumber: "P", since: nil, until: nil, grade: GradeSpec(meanIlMaxDb: 0.20, p97IlMaxDb: 0.45), units: Self.units)
        #expect(lot.units == 5 && lot.wavelengths.map(\.wavelengthNm) == [1310, 1550])
        // 1310 nm, ten readings sorted: 0.05 x5, 0.1, 0.2, 0.3, 0.4, 0.5. Mean (0.25 + 1.5) / 10 =
        // 0.175; the 97th percentile sits at h = 9 x 0.97 = 8.73: 0.4 + 0.73 x (0.5 - 0.4) = 0.473.
        let w1310 = lot.wavelengths[0]
        #expect(w1310.il.n == 10 && abs(w1310.il.meanDb - 0.175) < 1e-12 && abs(w1310.il.p97Db - 0.473) < 1e-12 && w1310.il.maxDb == 0.5)
        #expect(w1310.meetsGrade == false, "its 97th percentile 0.473 is above 0.45")
        #expect(lot.wavelengths[1].meetsGrade == true, "0.20 and 0.20 meet 0.20 and 0.45: the limits are inclusive")
        #expect(lot.meetsGrade == false, "a lot meets the grade only at every wavelength")
        // Fiber 1 at 1310 nm alone: 0.1 ... 0.5, mean 0.3, h = 4 x 0.97 = 3.88: 0.4 + 0.88 x 0.1 = 0.488.
        let p = try #require(lot.positions.first { $0.position == Self.a1310 })
        #expect(abs(p.il.meanDb - 0.3) < 1e-12 && abs(p.il.p97Db - 0.488) < 1e-12)
        #expect(lot.method.contains("type 7") && lot.method.contains("latest test passed"))
    }

    @Test func withoutAGradeNothingIsJudged() {
        let lot = LotReport.make(partNumber: "P", since: nil, until: nil, grade: nil, units: Self.units)
        #expect(lot.meetsGrade == nil && lot.wavelengths.allSatisfy { $0.meetsGrade == nil })
        let empty = LotReport.make(partNumber: "P", since: nil, until: nil, grade: GradeSpec(meanIlMaxDb: 1, p97IlMaxDb: 2), units: [])
        #expect(empty.meetsGrade == nil)
    }
}
