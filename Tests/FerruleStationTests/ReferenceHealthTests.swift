import FerruleCore
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing

@testable import FerruleStation

/// A reference taken through a dirty cord (#28 item 5): one path 0.5 dB low against the last
/// reference is refused before any unit uses it; the fixture keeps the reference it had; a clean
/// cord is taken again; a replaced reference cord starts a new baseline.
@Suite(.shutsDownStations) struct ReferenceHealthTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    @Test func aReferenceThroughADirtyCordIsRefusedBeforeAnyUnitUsesIt() async throws {
        let (station, bench) = try await makeStation(reference: false)
        let cord = try #require(station.config.referenceCords.first { $0.id == "RC-B-012" })
        await bench.mount(.cord(cord.map), fixture: 1)
        let clean = try await station.takeReference(fixture: 1, cord: cord.id)

        await bench.mount(.cord(cord.map, dirtDb: [5: 0.5]), fixture: 1)
        do {
            _ = try await station.takeReference(fixture: 1, cord: cord.id)
            Issue.record("a reference 0.5 dB low on position 5 was kept")
        } catch let e as ReferenceFailed {
            let landing = try #require(cord.map[5])
            #expect(e.message.contains("position 5 -> \(landing) at 1310 nm fell 0.5"), "\(e.message)")
            #expect(!e.message.contains("position 6 "), "only the dirty fiber's paths: \(e.message)")
            #expect(e.message.contains("clean reference cord RC-B-012"), "\(e.message)")
        }
        #expect(await station.referenceKeeper.reference(fixture: 1)?.takenAt == clean.takenAt, "the clean reference stays in use")
        // A unit now is measured against the clean reference, so its IL is honest.
        #expect(try await testUnit(station, bench, serial: "RH-1", part: Self.part).report.verdict == .pass)

        // Cleaned: taken again.
        await bench.mount(.cord(cord.map), fixture: 1)
        let again = try await station.takeReference(fixture: 1, cord: cord.id)
        #expect(await station.referenceKeeper.reference(fixture: 1)?.takenAt == again.takenAt)

        // A replaced reference cord has no earlier reference to be held to.
        try await station.referenceKeeper.resetCord(cord.id, operatorId: "sup")
        await bench.mount(.cord(cord.map, dirtDb: [5: 0.5]), fixture: 1)
        _ = try await station.takeReference(fixture: 1, cord: cord.id)
        await station.shutdown()
    }

    @Test func theDropsAreWorstFirstAndOnlyBeyondTheStep() {
        func ref(_ powers: [Int: Double]) -> Reference {
            Reference(
                fixture: 1, cord: .init(id: "R", polarity: "A"), method: .oneCord, takenAt: Date(), operatorId: nil, pairs: "",
                values: powers.map { .init(position: $0.key, receivePosition: $0.key, launchChannel: $0.key, receiveChannel: $0.key,
                                           wavelengthNm: 1310, powerDbm: $0.value) })
        }
        let before = ref([1: -3.0, 2: -3.1, 3: -2.9, 4: -3.0])
        let after = ref([1: -3.05, 2: -3.5, 3: -3.8, 4: -2.5])
        let drops = ReferenceHealth.drops(after, since: before, maxDropDb: 0.3)
        #expect(drops.map(\.position) == [3, 2], "0.9 then 0.4 dB; 0.05 dB is noise and a rise is no drop")
        #expect(abs(drops[0].dropDb - 0.9) < 1e-9)
    }
}
