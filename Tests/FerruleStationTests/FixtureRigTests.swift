import FerruleCore
import FerruleSetup
import Foundation
import Testing

@testable import FerruleConfig
@testable import FerruleStation

/// A fixture's instruments are found by the parts its wiring names, once, before any light: a
/// part that no built instrument can play refuses the unit by name instead of trapping mid-unit.
@Suite(.shutsDownStations) struct FixtureRigTests {
    @Test func aPartNoInstrumentPlaysRefusesTheUnitByName() async throws {
        let built = try await makeBuiltStation()
        defer { Task { await built.station.shutdown() } }
        let wiring = try #require(built.station.config.fixtures.first)
        var set = InstrumentSet(specs: [:])
        #expect(throws: UnitRefused.self) { try FixtureRig(wiring, in: set) }

        // Every part but the power meter: the refusal names the meter and the fixture.
        let full = built.station.instruments
        for (name, sw) in full.switches { set.switches[name] = sw }
        for (name, s) in full.sources { set.sources[name] = s }
        for (name, m) in full.rlMeters { set.rlMeters[name] = m }
        let refusal = #expect(throws: UnitRefused.self) { try FixtureRig(wiring, in: set) }
        #expect(refusal?.message.contains("fixture 1's power meter '\(wiring.powerMeter)'") == true, "\(String(describing: refusal))")
        #expect(refusal?.refusal.reason == .instrumentMissing)

        for (name, m) in full.powerMeters { set.powerMeters[name] = m }
        guard case .stepped = try FixtureRig(wiring, in: set) else {
            Issue.record("a stepped fixture's rig is stepped")
            return
        }
    }
}
