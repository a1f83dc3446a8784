import FerruleCore
import FerruleProtocol
import FerruleSetup
import FerruleSimulator
@testable import FerruleConfig
@testable import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// Calibration that binds (#29 item 6): the date comes from the instrument where it reports one
/// (the simulated MAP-300 answers `:FACT:CAL:DAT?` with 2026.03.02) plus its interval; past it,
/// `station.calibration: refuse` refuses units and `warn` runs them, said on status and in the report.
@Suite(.serialized, .shutsDownStations) struct CalibrationTests {
    static func day(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso + "T08:00:00Z")! }

    func station(policy: String, clock: TestClock) async throws -> BuiltStation {
        let text = try String(contentsOfFile: Repo.root + "/Config/viavi-pct.yaml", encoding: .utf8)
            .replacingOccurrences(of: "    calibrationDue: \"2027-03-02\"", with: "    calibrationIntervalMonths: 6")
            .replacingOccurrences(of: "  id: PCT-01\n", with: "  id: PCT-01\n  calibration: \(policy)\n")
        return try await makeBuiltStation(clock: clock, config: try StationConfig.parse(text, file: "calibration-\(policy).yaml"))
    }

    @Test func anInstrumentPastItsOwnCalibrationRefusesUnits() async throws {
        let clock = TestClock(Self.day("2026-08-01"))
        let built = try await station(policy: "refuse", clock: clock)
        defer { built.simulation?.close() }
        let (station, bench) = (built.station, try #require(built.simulation?.bench))
        let pct = try #require(await station.status().instruments.first { $0.name == "pct" })
        #expect(pct.calibrationDue == "2026-09-02" && pct.calibrationOverdue == nil, "2026.03.02 from the PCT plus 6 months")
        #expect(pct.calibration?.contains("from the instrument") == true)
        let before = try await testUnit(station, bench, serial: "CAL-1", part: ViaviPCTTests.typeB)
        #expect(before.report.verdict == .pass && before.report.instruments[0].calibrationDue == "2026-09-02")
        #expect(before.report.instruments[0].calibrationOverdue == nil)

        clock.advance(61 * 86400)  // 2026-10-01
        try await referenceEveryCord(station, bench)
        do {
            _ = try await testUnit(station, bench, serial: "CAL-2", part: ViaviPCTTests.typeB)
            Issue.record("a unit ran on an instrument past its calibration under station.calibration: refuse")
        } catch let e as UnitRefused {
            #expect(e.refusal.reason == .calibrationOverdue && e.refusal.fixture == 1)
            #expect(e.message.contains("pct") && e.message.contains("2026-09-02"), "\(e.message)")
        }
        let status = await station.status()
        #expect(status.fixtures[0].calibrationOverdue == [.init(instrument: "pct", due: "2026-09-02")])
        #expect(status.instruments.first { $0.name == "pct" }?.calibrationOverdue == true)
    }

    @Test func warnRunsTheUnitAndTheReportSaysSo() async throws {
        let clock = TestClock(Self.day("2026-10-01"))
        let built = try await station(policy: "warn", clock: clock)
        defer { built.simulation?.close() }
        let o = try await testUnit(built.station, try #require(built.simulation?.bench), serial: "CAL-W", part: ViaviPCTTests.typeB)
        #expect(o.report.verdict == .pass)
        #expect(o.report.instruments[0].calibrationOverdue == true)
        #expect(await built.station.status().fixtures[0].calibrationOverdue?.first?.instrument == "pct")
    }

    /// A config's calibration date must be a day; an instrument's interval within reason.
    @Test(arguments: [("calibrationDue: \"2027-02-30\"", "is not a day"), ("calibrationDue: \"next year\"", "is not a day"),
                      ("calibrationIntervalMonths: 0", "not in 1...120")])
    func badCalibrationSettingsNameTheKey(line: String, says: String) throws {
        let text = try String(contentsOfFile: Repo.root + "/Config/viavi-pct.yaml", encoding: .utf8)
            .replacingOccurrences(of: "calibrationDue: \"2027-03-02\"", with: line)
        do {
            _ = try StationConfig.parse(text, file: "bad.yaml")
            Issue.record("\(line) was accepted")
        } catch {
            #expect(error.message.contains(says) && error.path.description.hasPrefix("instruments[0]."), "\(error.message)")
        }
    }
}
