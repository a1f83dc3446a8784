import FerruleCore
import FerruleRecords
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

/// Every fault that stops the station reaches the line (#30 item 2): an instrument's, a light
/// source that may be on, a test cord at its rated matings, a store that refuses writes; each
/// FaultOccurred is cleared by a FaultCleared with the same id, and CFX says each kind's cause.
@Suite(.shutsDownStations) struct StationFaultTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    /// The faults of `cause` posted so far: (id, subject) raised, and the ids cleared.
    static func faults(_ station: Station, _ cause: LineMessage.FaultCause?) async throws -> (raised: [(UUID, String)], cleared: [UUID]) {
        var raised: [(UUID, String)] = []
        var cleared: [UUID] = []
        for m in try await station.store.lineMessages(limit: 1000).map(\.moment) {
            if case .faultOccurred(let id, let subject, _, let c) = m, c == cause { raised.append((id, subject)) }
            if case .faultCleared(let id, _) = m { cleared.append(id) }
        }
        return (raised, cleared)
    }

    @Test func aWornTestCordIsAFaultUntilItIsReset() async throws {
        let text = try inProcessConfigText().replacingOccurrences(
            of: "testCords: { launch: { id: TC-L-1, maxMatings: 1000 }, receive: { id: TC-R-1, maxMatings: 1000 } }",
            with: "testCords: { launch: { id: TC-L-1, maxMatings: 3, warnMatings: 2 }, receive: { id: TC-R-1 } }")
        let config = try StationConfig.parse(text, file: "cords.yaml")
        let data = temporaryDirectory()
        let (first, bench) = try await makeStation(data: data, config: config)
        for i in 1...3 { _ = try? await testUnit(first, bench, serial: "W-\(i)", part: Self.part) }  // the reference mated once
        var worn: [(UUID, String)] = []
        try await waitUntil("the worn cord told to the line") {
            worn = try await Self.faults(first, .cordWorn).raised
            return !worn.isEmpty
        }
        #expect(worn.map(\.1) == ["TC-L-1"])
        await first.shutdown()
        // Restarted with the cord still worn: the same fault again, under the same id.
        let (station, _) = try await makeStation(data: data, reference: false, config: config)
        try await waitUntil("the worn cord told again after the restart") { try await Self.faults(station, .cordWorn).raised.count == 2 }
        #expect(Set(try await Self.faults(station, .cordWorn).raised.map(\.0)) == [worn[0].0])
        try await station.referenceKeeper.resetCord("TC-L-1", operatorId: "sup")
        try await waitUntil("the reset told to the line") { try await Self.faults(station, .cordWorn).cleared.contains(worn[0].0) }
        await station.shutdown()
    }

    @Test func aSourceThatMayBeOnIsAFaultUntilItConfirmsOff() async throws {
        let (station, bench) = try await makeStation()
        await bench.injectFault(instrument: "ilrl", kind: .noReply, afterCalls: 3)
        #expect(try await testUnit(station, bench, serial: "SRC-1", part: Self.part).report.verdict == .error)
        #expect(await station.status().fixtures.first { $0.id == 1 }?.sourceMayBeOn != nil)
        var raised: [(UUID, String)] = []
        try await waitUntil("the source told to the line") {
            raised = try await Self.faults(station, .sourceMayBeOn).raised
            return !raised.isEmpty
        }
        #expect(raised.map(\.1) == ["ilrl"])
        await bench.clearFaults()
        #expect(await station.light.retrySourcesOff() == false)
        try await waitUntil("the source's all-clear told to the line") {
            try await Self.faults(station, .sourceMayBeOn).cleared.contains(raised[0].0)
        }
        await station.shutdown()
    }

    /// A store that refuses writes cannot keep the line's messages either: its fault is told once
    /// it takes writes again, FaultOccurred (stamped when it happened) before FaultCleared.
    @Test func aStoreThatRefusesWritesIsAFault() async throws {
        let (station, _) = try await makeStation(reference: false)
        struct Refused: Error, CustomStringConvertible { var description: String { "disk I/O error" } }
        await station.records.storageFailed(Refused())
        await station.records.storageRecovered()
        var found: (raised: [(UUID, String)], cleared: [UUID]) = ([], [])
        try await waitUntil("the store's fault raised and cleared") {
            found = try await Self.faults(station, .storeRefuses)
            return !found.raised.isEmpty && !found.cleared.isEmpty
        }
        #expect(found.raised.map(\.1) == ["results store"] && found.cleared.contains(found.raised[0].0))
        await station.shutdown()
    }

    @Test func theLedgerRaisesOnceAndClearsWithTheSameId() {
        var ledger = FaultLedger()
        let at = Date()
        let first = ledger.reconcile(["ilrl": "no reply"], cause: .instrument, at: at)
        #expect(ledger.reconcile(["ilrl": "no reply again"], cause: .instrument, at: at).isEmpty, "an open fault is not raised twice")
        #expect(ledger.raise("ilrl", detail: "may be on", cause: .sourceMayBeOn, at: at) != nil, "another cause is another fault")
        let cleared = ledger.reconcile([:], cause: .instrument, at: at)
        guard case .faultOccurred(let id, "ilrl", _, nil)? = first.first?.moment,
              case .faultCleared(let clearedId, "ilrl")? = cleared.first?.moment
        else {
            Issue.record("\(first) then \(cleared)")
            return
        }
        #expect(id == clearedId && ledger.open.count == 1)
    }

    @Test func eachCauseIsSaidAsCFXSaysIt() throws {
        let expected: [LineMessage.FaultCause: (String, String)] = [
            .instrument: ("ElectricalFailure", "ilrl"), .sourceMayBeOn: ("AutoSafetyStop", "source-may-be-on/ilrl"),
            .cordWorn: ("MaterialExpired", "cord-worn/ilrl"), .storeRefuses: ("SoftwareFailure", "store-refuses-writes"),
        ]
        for cause in LineMessage.FaultCause.allCases {
            let m = LineMessage(at: Date(), .faultOccurred(fault: UUID(), instrument: "ilrl", detail: "d", cause: cause))
            let json = String(decoding: try CFXLineMessages.message(m, source: "s").json, as: UTF8.self)
            let (name, code) = try #require(expected[cause])
            #expect(json.contains("\"Cause\":\"\(name)\"") && json.contains("\"FaultCode\":\"\(code)\""), "\(json)")
        }
    }
}
