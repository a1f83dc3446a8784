import FerruleCore
import FerruleProtocol
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

/// The recipe's warning band (#28 item 3): a unit whose readings pass but lie beyond
/// `limits.ilWarnDb` passes with a warning that the finished event and the report carry (valid
/// against the report schema), and the yield counts such first passes apart.
@Suite(.shutsDownStations) struct WarningBandTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    /// The simulated bench with the part's warning band starting at `ilWarnDb`.
    func station(ilWarnDb: String) async throws -> (Station, SimulatedBench) {
        let text = try inProcessConfigText().replacingOccurrences(
            of: "      ilMaxDb: 0.35\n      meanIlMaxDb: 0.20\n",
            with: "      ilMaxDb: 0.35\n      ilWarnDb: \(ilWarnDb)\n      meanIlMaxDb: 0.20\n")
        return try await makeStation(config: try StationConfig.parse(text, file: "warn.yaml"))
    }

    @Test func aPassInTheBandIsSaidAndCountedApart() async throws {
        // Every simulated fiber loses well over 0.01 dB and under the 0.35 dB limit: all in the band.
        let (station, bench) = try await station(ilWarnDb: "0.01")
        let events = await station.events.subscribe()
        let o = try await testUnit(station, bench, serial: "WB-1", part: Self.part)
        #expect(o.report.verdict == .pass)
        let warnings = try #require(o.report.warnings)
        #expect(warnings.contains { $0.hasPrefix("IL in the warning band at 1310 nm on fibers 1") }, "\(warnings)")
        #expect(o.report.measurements.allSatisfy { $0.warnings?.first?.contains("warning band (above 0.010 dB") == true })
        #expect(o.report.limits.il.allSatisfy { $0.ilWarnDb == 0.01 })
        var said: [String]?
        for await e in events { if case .unitFinished(_, "WB-1", _, .pass, _, let w) = e { said = w; break } }
        #expect(said == warnings, "the finished event says what the report says")
        let (status, out) = try validateReports([o.reportPath])
        #expect(status == 0, "the report with warnings is valid against docs/report.schema.json: \(out)")
        _ = try await testUnit(station, bench, serial: "WB-2", part: Self.part)
        let row = try #require(try await station.store.yield().first { $0.partNumber == Self.part })
        #expect(row.firstPass == 2 && row.firstPassWithWarning == 2)
        await station.shutdown()
    }

    @Test func aPassOutsideTheBandHasNoWarning() async throws {
        let (station, bench) = try await station(ilWarnDb: "0.34")
        let o = try await testUnit(station, bench, serial: "WB-3", part: Self.part)
        #expect(o.report.verdict == .pass && o.report.warnings == nil)
        #expect(try await station.store.yield().first { $0.partNumber == Self.part }?.firstPassWithWarning == 0)
        await station.shutdown()
    }

    @Test func aBandOutsideItsLimitIsRefusedByTheConfig() throws {
        for (band, key) in [("      ilWarnDb: 0.40\n", "limits.ilWarnDb"), ("      rlWarnDb: 55\n", "limits.rlWarnDb")] {
            let text = try inProcessConfigText().replacingOccurrences(
                of: "      ilMaxDb: 0.35\n      meanIlMaxDb: 0.20\n", with: "      ilMaxDb: 0.35\n" + band + "      meanIlMaxDb: 0.20\n")
            do {
                _ = try StationConfig.parse(text, file: "warn.yaml")
                Issue.record("\(band) was accepted")
            } catch {
                #expect(error.path.description.hasSuffix(key) && error.fix.contains("warning band"), "\(error)")
            }
        }
    }
}
