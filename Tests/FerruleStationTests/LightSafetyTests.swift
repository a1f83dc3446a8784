import FerruleCore
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

/// Light off, always, and said: after any fault at any moment the simulated meter's last acted-on
/// laser command switched it off, or the fixture says "source may be ON" and refuses units until
/// the station has switched it off.
@Suite(.serialized, .shutsDownStations) struct LightSafetyTests {
    func wireStation() async throws -> (Station, SimulatedBench, BuiltStation) {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "    simulate: tcp\n", with: "    simulate: tcp\n    timeout: 2s\n")
            .replacingOccurrences(
                of:
                    "    simulate: pty             # on a real bench: address: /dev/ferrule/ilrl "
                        + "(see systemd/99-ferrule-instruments.rules)",
                with: "    simulate: pty\n    timeout: 2s")
        let built = try await makeBuiltStation(config: try StationConfig.parse(text, file: "light.yaml"))
        return (built.station, try #require(built.simulation?.bench), built)
    }

    enum Phase: CustomStringConvertible {
        case reference
        case fiber(Int)
        var description: String {
            if case .fiber(let n) = self { return "fiber \(n)" }
            return "reference"
        }
    }

    @Test(arguments: [WireFault.noReply, .garbage, .queueError, .disconnect, .unplug])
    func sourceIsOffOrSaidAfterEveryFault(kind: WireFault) async throws {
        let (station, bench, built) = try await wireStation()
        defer { built.simulation?.close() }
        var saidOn = 0  // cells where the source could not confirm off and the fixture said so
        for target in ["ilrl", "launch-switch", "receive-switch"] {
            for phase in [Phase.reference, .fiber(1), .fiber(6), .fiber(12)] {
                let cell = "\(kind) on \(target) at \(phase)"
                switch phase {
                case .reference:
                    try await built.faults.inject(kind, into: target)
                    await bench.mount(.cord(station.config.referenceCords.first { $0.id == "RC-B-012" }!.map), fixture: 1)
                    await #expect(throws: (any Error).self, "\(cell)") { _ = try await station.takeReference(fixture: 1, cord: "RC-B-012") }
                case .fiber(let n):
                    try await built.faults.inject(kind, into: target, scope: FaultScope(fiber: n))
                    let o = try await testUnit(station, bench, serial: "L-\(kind)-\(target)-\(n)", part: "FT-MTP12-SMAPC-B-LL")
                    #expect(o.report.verdict == .error, "\(cell): \(o.report.reasons)")
                }
                let said = await station.status().fixtures.first { $0.id == 1 }?.sourceMayBeOn
                let lit = await bench.lightOn(source: "ilrl")
                #expect(!lit || said != nil, "\(cell): the laser is on and nothing says so")
                if said != nil {
                    saidOn += 1
                    let refused = await #expect(throws: UnitRefused.self, "\(cell)") {
                        try await testUnit(station, bench, serial: "L-refused", part: "FT-MTP12-SMAPC-B-LL")
                    }
                    #expect(refused?.message.contains("may be ON") == true, "\(cell)")
                }
                // The fault cleared, the station's own retry switches the source off and says so.
                try await built.faults.inject(.none, into: target)
                var attempts = 0
                while await station.light.retrySourcesOff(), attempts < 10 { attempts += 1 }
                let stillSaid = await station.status().fixtures.contains { $0.sourceMayBeOn != nil }
                #expect(await !bench.lightOn(source: "ilrl") && !stillSaid, "\(cell)")
            }
        }
        // A meter that stops answering cannot confirm its laser off: the fixtures say so (a
        // one-shot disconnect is reconnected and confirmed at once).
        if kind != .disconnect { #expect(saidOn >= 3, "\(kind): said 'source may be ON' in \(saidOn) cells") }
        // And the fixture measures again.
        try await referenceEveryCord(station, bench, fixtures: [1])
        #expect(try await testUnit(station, bench, serial: "L-after", part: "FT-MTP12-SMAPC-B-LL").report.verdict == .pass)
    }

    /// Stopping the station (SIGTERM) during a reference stops it at its next path with the source off.
    @Test func shutdownDuringAReferenceLeavesTheSourceOff() async throws {
        let (station, bench) = try await makeStation(reference: false, config: try slowBenchConfig(switchMs: 20, readMs: 20))
        await bench.mount(.referenceCord, fixture: 1)
        let events = await station.events.subscribe()
        let reference = Task { try await station.takeReference(fixture: 1, cord: "RC-A-024") }
        try await waitUntil("the reference to light the fixture") { await bench.lightOn(source: "ilrl") }
        await station.shutdown()
        await #expect(throws: (any Error).self) { _ = try await reference.value }
        #expect(await !bench.lightOn(source: "ilrl"))
        await station.events.finish()
        for await e in events { if case .referenceTaken = e { Issue.record("a reference cut short must not be kept") } }
    }
}
