import FerruleCore
import FerruleProtocol
import Foundation
import Testing

/// Events keep the wire form clients read (`{"kind": ..., fields}`, docs/control-protocol.md):
/// recorded event lines read as the typed event written out here and write back the same line.
@Suite struct GoldenEventTests {
    static let id = UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF") ?? UUID()
    static func time(_ text: String) -> Date { ControlProtocol.time(text) ?? .distantPast }

    static let expected: [StationEvent] = [
        .unitStarted(fixture: 1, serial: "SN123", partNumber: "FT-MTP12-SMAPC-B-LL", reportId: id),
        .step(
            fixture: 1, serial: "SN123", fiber: 3, wavelengthNm: 1310, receivePosition: 10, ilDb: 0.21, rlDb: 62.5, rlBDb: 61.2,
            verdict: .pass),
        .step(
            fixture: 1, serial: "SN123", fiber: 7, wavelengthNm: 1550, receivePosition: nil, ilDb: nil, rlDb: nil, rlBDb: nil,
            verdict: .fail),
        .unitFinished(fixture: 1, serial: "SN123", reportId: id, verdict: .fail, reportPath: "/var/lib/ferrule/reports/SN123.json"),
        .unitFinished(
            fixture: 2, serial: "SN127", reportId: id, verdict: .pass, reportPath: "/var/lib/ferrule/reports/SN127.json",
            warnings: ["IL in the warning band at 1310 nm on fibers 3, 5"]),
        .unitHeld(fixture: 2, serial: "SN124", reportId: id, verdict: .pass, reason: "the disk is full"),
        .unitHeld(fixture: 2, serial: "SN125", reportId: id, verdict: nil, reason: "the spill file refused it too"),
        .unitNotStarted(fixture: 1, serial: "SN126", reason: "prompt unanswered"),
        .prompt(
            Prompt(
                id: "p1", fixture: 1, text: "connect reference cord RC-B-004 to fixture 1", choices: ["ok", "cancel"],
                expiresAt: time("2026-12-07T06:05:00Z"))),
        .promptClosed(id: "p1", answer: "ok"),
        .promptClosed(id: "p2", answer: nil),
        .configReloaded(path: "/etc/ferrule/station.yaml", hash: "sha256:00ff", applied: ["recipe FT-X changed", "control.promptTimeout"]),
        .configRejected(path: "/etc/ferrule/station.yaml", reason: "line 12: unknown key 'meanIlMxDb'"),
        .referenceTaken(fixture: 1, takenAt: time("2026-12-07T06:00:00Z")),
        .referenceNeeded(fixture: 2, reason: "the reference expired"),
        .sourceMayBeOn(fixture: 1, detail: "ilrl did not confirm the source off"),
        .sourceMayBeOn(fixture: 1, detail: nil),
        .cordWear(cord: "TC-L-1", matings: 450, maxMatings: 500, state: .warning),
        .instrumentFault(instrument: "ilrl", detail: "no reply within 2 s"),
        .instrumentReconnected(instrument: "ilrl", address: "/dev/ttyUSB1"),
        .storageProblem(detail: "the disk is full"),
        .storageProblem(detail: nil),
        .unitStored(serial: "SN124", reportId: id),
        .scan(
            fixture: 1, scanner: "scanner1", text: "B12-0001", accepted: false, detail: "fixture 1 has no reference",
            refusal: Refusal(.noReference, fixture: 1, remedy: Remedy(.takeReference, fixture: 1, cord: "RC-B-004"))),
        .scan(fixture: 1, scanner: "scanner1", text: "B12-0002", accepted: true, detail: "started B12-0002", refusal: nil),
        .routeChecked(fixture: 1, serial: "SN127", outcome: .refused, detail: "on hold by quality"),
        .trendAlarm(
            partNumber: "FT-MTP12-SMAPC-B-LL", position: 7, wavelengthNm: 1310, detail: "IL of FT-MTP12-SMAPC-B-LL position 7 is rising"),
        .delivery(sink: "line-mes", pending: 4, parked: 1, failing: "503 from the MES"),
        .fixtureYieldAlarm(fixture: 2, detail: "fixture 2 failed 8 of its last 50 units"),
    ]

    @Test func recordedEventsReadAsTheirTypedEventAndWriteBackTheSameLine() throws {
        let lines = try GoldenRequestTests.lines("control-events.jsonl")
        #expect(lines.count == Self.expected.count)
        let kinds = Set(lines.compactMap { (try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)))?["kind"]?.string })
        #expect(kinds.count == 22, "every kind of event is recorded: \(kinds.sorted())")
        for (line, event) in zip(lines, Self.expected) {
            let read = try UnitReport.decoder().decode(StationEvent.self, from: Data(line.utf8))
            #expect(read == event, "\(line)")
            #expect(try event.wireValue() == (try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))), "\(line)")
        }
    }
}
