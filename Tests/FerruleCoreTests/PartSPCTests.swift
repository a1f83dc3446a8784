import Foundation
import Testing

@testable import FerruleCore

/// A part's readings become one chart per position, limits from each chart's baseline, rules
/// named with the units that broke them, and Ppk against the limit of the chart's wavelength.
@Suite struct PartSPCTests {
    static let p3 = ChartPosition(fiber: 3, wavelengthNm: 1310, end: .a)
    static let p4 = ChartPosition(fiber: 4, wavelengthNm: 1310, end: .a)
    static let q3 = ChartPosition(fiber: 3, wavelengthNm: 1550, end: .a)

    /// Sixty units: fiber 3 at 1310 nm alternates 0.20/0.22 for 50 units (center 0.21, MR-bar
    /// 0.02, sigma 0.02/1.128 = 0.01773, UCL 0.2632), then jumps to 0.30 (beyond 3 sigma) at
    /// unit 55; the other positions stay flat.
    static func samples() -> [ChartSample] {
        (0..<60).map { i in
            let il3 = i == 55 ? 0.30 : (i.isMultiple(of: 2) ? 0.20 : 0.22)
            return ChartSample(
                serial: "U\(i)", at: Date(timeIntervalSince1970: Double(i) * 60),
                ilDb: [p3: il3, p4: i.isMultiple(of: 2) ? 0.10 : 0.11, q3: .nan])
        }
    }

    @Test func aJumpOnOnePositionIsNamedWithItsUnit() throws {
        let spc = PartSPC.make(partNumber: "P", ilMaxDb: [1310: 0.35, 1550: 0.40], samples: Self.samples())
        #expect(spc.units == 60 && spc.charts.map(\.position) == [Self.p3, Self.p4], "a position with no reading has no chart")
        let c3 = spc.charts[0]
        #expect(c3.n == 60 && c3.baselineUnits == 50)
        let limits = try #require(c3.limits)
        #expect(abs(limits.center - 0.21) < 1e-9 && abs(limits.sigma - 0.02 / 1.128) < 1e-9 && abs(limits.upper - 0.2632) < 1e-4)
        #expect(c3.breaks["beyondThreeSigma"] == 1)
        let alarm = try #require(c3.alarms.first { $0.rule == .beyondThreeSigma })
        #expect(alarm.serials == ["U55"] && alarm.at == Date(timeIntervalSince1970: 55 * 60))
        #expect(spc.charts[1].breaks.isEmpty, "the flat position breaks no rule")
        let cap = try #require(c3.capability)
        #expect(cap.n == 60 && c3.ilMaxDb == 0.35 && cap.ppkNormal > 0)
    }

    @Test func withoutALimitThereIsNoCapability() {
        let spc = PartSPC.make(partNumber: "P", ilMaxDb: [:], samples: Self.samples())
        #expect(spc.charts.allSatisfy { $0.capability == nil && $0.ilMaxDb == nil })
    }
}
