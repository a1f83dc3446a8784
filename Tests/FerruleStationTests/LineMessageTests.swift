import FerruleCore
import FerruleRecords
import FerruleStation
import FerruleTesting
import Foundation
import Testing

/// The line hears of the station's moments as they happen, through the store's message outbox
/// (which the cfx-amqp sink delivers; CFXTests carries them to a real RabbitMQ).
@Suite(.shutsDownStations) struct LineMessageTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    static func moments(_ station: Station) async throws -> [LineMessage.Moment] {
        try await station.store.lineMessages(limit: 1000).map(\.moment)
    }

    /// A unit's start is posted with the start, before any light; references as they are taken.
    @Test func aUnitsStartAndEachReferenceArePosted() async throws {
        let (station, bench) = try await makeStation()
        let references = try await Self.moments(station).filter {
            if case .calibrationPerformed = $0 { return true } else { return false }
        }
        let taken = station.config.fixtures.map { f in station.config.referenceCords.filter { !f.cabled($0.map).isEmpty }.count }
        #expect(references.count == taken.reduce(0, +), "one per fixture and reference cord that fits it: \(references.count)")
        guard case .calibrationPerformed(let first)? = references.first else { return }
        #expect(first.fixture == 1 && first.paths > 0, "\(first)")
        #expect(!first.wavelengthsNm.isEmpty && first.wavelengthsNm == first.wavelengthsNm.sorted(), "\(first)")
        let o = try await testUnit(station, bench, serial: "LM-1", part: Self.part)
        let started = try await Self.moments(station).filter { if case .workStarted = $0 { true } else { false } }
        #expect(started == [.workStarted(reportId: o.report.reportId, serial: "LM-1", fixture: 1)])
        await station.shutdown()
    }

    /// An instrument's fault raises FaultOccurred; the unit after it, answered in full, clears it
    /// with the same id.
    @Test func anInstrumentFaultIsRaisedAndClearedWithOneId() async throws {
        let (station, bench) = try await makeStation()
        await bench.injectFault(instrument: "receive-switch", kind: .noReply, afterCalls: 3)
        #expect(try await testUnit(station, bench, serial: "LM-F1", part: Self.part).report.verdict == .error)
        await bench.clearFaults()
        #expect(try await testUnit(station, bench, serial: "LM-F2", part: Self.part).report.verdict != .error)
        var raised: UUID?
        var cleared: UUID?
        try await waitUntil("the fault raised and cleared") {
            for m in try await Self.moments(station) {
                if case .faultOccurred(let id, "receive-switch", let detail, nil) = m, detail.contains("receive-switch") { raised = id }
                if case .faultCleared(let id, "receive-switch") = m { cleared = id }
            }
            return raised != nil && cleared != nil
        }
        #expect(raised == cleared)
        await station.shutdown()
    }

    static func states(_ station: Station) async throws -> [LineMessage.Moment] {
        try await moments(station).filter { if case .stationStateChanged = $0 { true } else { false } }
    }

    /// The station's state for the line (SEMI E10 as CFX codes it) is told as it changes: waiting
    /// after the start, setting up for references, working for a unit, down while an
    /// instrument shows a fault; each change names the state before it.
    @Test func theStationsStateIsToldAsItChanges() async throws {
        let (station, bench) = try await makeStation()
        await bench.injectFault(instrument: "receive-switch", kind: .noReply, afterCalls: 3)
        #expect(try await testUnit(station, bench, serial: "LM-S1", part: Self.part).report.verdict == .error)
        try await waitUntil("the station down for its fault") {
            if case .stationStateChanged(_, .unscheduledDowntime, _)? = try await Self.states(station).last { return true }
            return false
        }
        await bench.clearFaults()
        #expect(try await testUnit(station, bench, serial: "LM-S2", part: Self.part).report.verdict == .pass)
        try await waitUntil("waiting for units again") {
            if case .stationStateChanged(.regularWork, .noProduct, _)? = try await Self.states(station).last { return true }
            return false
        }
        var previous: LineMessage.ResourceState?
        var seen: [LineMessage.ResourceState] = []
        for case .stationStateChanged(let old, let new, let lasted) in try await Self.states(station) {
            #expect(old == previous && old != new && (old == nil) == (lasted == nil), "\(String(describing: old)) -> \(new)")
            previous = new
            seen.append(new)
        }
        #expect(seen.first == .noProduct && Set(seen) == [.noProduct, .setup, .regularWork, .unscheduledDowntime], "\(seen)")
        await station.shutdown()
    }

    @Test func anOperatorSigningInAndOutIsPosted() async throws {
        let (station, _) = try await makeStation(reference: false)
        await station.operatorActivated("op1", via: "web")
        await station.operatorDeactivated("op1", via: "web")
        let operators = try await Self.moments(station).filter {
            switch $0 {
            case .operatorActivated, .operatorDeactivated: true
            default: false
            }
        }
        #expect(operators == [.operatorActivated(operatorId: "op1", via: "web"), .operatorDeactivated(operatorId: "op1", via: "web")])
        await station.shutdown()
    }

    /// Each moment as CFX, with the fields the SDK's message classes name.
    @Test func eachMomentIsItsCFXMessage() throws {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let fault = UUID()
        let cases: [(LineMessage.Moment, String, String)] = [
            (.faultOccurred(fault: fault, instrument: "ilrl", detail: "no reply"), "CFX.ResourcePerformance.FaultOccurred",
             "\"FaultOccurrenceId\":\"\(fault.uuidString.lowercased())\""),
            (.faultCleared(fault: fault, instrument: "ilrl"), "CFX.ResourcePerformance.FaultCleared",
             "\"FaultOccurrenceId\":\"\(fault.uuidString.lowercased())\""),
            (.operatorActivated(operatorId: "op1", via: "web"), "CFX.Production.OperatorActivated", "\"OperatorIdentifier\":\"op1\""),
            (.stationStateChanged(old: .noProduct, new: .regularWork, oldDurationSeconds: 3725),
             "CFX.ResourcePerformance.StationStateChanged", "\"NewState\":1100,\"OldState\":2200,\"OldStateDuration\":\"01:02:05\""),
            (.calibrationPerformed(.init(fixture: 2, cord: "ref-B", method: "1-cord", paths: 12, wavelengthsNm: [1310])),
             "CFX.ResourcePerformance.CalibrationPerformed", "\"CalibrationCode\":\"fixture-2/ref-B\""),
            (.qualityAlarm(partNumber: "P-1", position: 7, wavelengthNm: 1550, detail: "rising"),
             "CFX.ResourcePerformance.LogEntryRecorded",
             "\"Importance\":\"Warning\",\"InformationId\":\"trend-alarm/P-1/7/1550\",\"Message\":\"rising\""),
        ]
        for (moment, name, field) in cases {
            let m = LineMessage(at: at, moment)
            let cfx = try CFXLineMessages.message(m, source: "ferrule.test")
            let json = String(decoding: cfx.json, as: UTF8.self)
            #expect(cfx.name == name && cfx.uniqueID == m.id.uuidString.lowercased())
            #expect(json.contains("\"MessageName\":\"\(name)\"") && json.contains(field), "\(json)")
        }
        let fault1 = String(decoding: try CFXLineMessages.message(LineMessage(at: at, cases[0].0), source: "s").json, as: UTF8.self)
        #expect(fault1.contains("\"Cause\":\"ElectricalFailure\"") && fault1.contains("\"Severity\":\"Error\""))
    }
}
