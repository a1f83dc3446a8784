import FerruleCore
import FerruleProtocol
import Foundation
import FerruleTesting
import Testing

/// The wire stays what docs/control-protocol.md documents while the code reads typed requests:
/// recorded request lines (Tests/Golden) decode to the typed request written out here, and the
/// typed request encodes back to the same line; malformed lines get the errors clients know.
@Suite struct GoldenRequestTests {
    static func lines(_ file: String) throws -> [String] {
        try String(contentsOfFile: Repo.root + "/Tests/Golden/" + file, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static func day(_ text: String) -> Date { ControlProtocol.time(text) ?? .distantPast }

    /// Line by line, what each recorded request is.
    static let expected: [(StationRequest, operator: String?)] = [
        (.status, nil), (.subscribe, nil), (.unsubscribe, nil),
        (.test(UnitToTest(serial: "SN123", partNumber: "FT-MTP12-SMAPC-B-LL")), "op-7"),
        (.test(UnitToTest(serial: "SN124", partNumber: "FT-MTP12-SMAPC-B-LL", fixture: 2)), "op-7"),
        (.abort(fixture: 1), nil),
        (.reference(fixture: 1, cord: nil), "eng1"),
        (.reference(fixture: 2, cord: "RC-B-004"), "eng1"),
        (.cordReset(cord: "TC-L-1"), "sup1"),
        (.recipes, nil),
        (.history(HistoryQuery()), nil),
        (
            .history(
                HistoryQuery(
                    serial: "SN123", partNumber: "FT-MTP12-SMAPC-B-LL", verdict: .fail,
                    window: TimeWindow(since: day("2026-11-21T06:00:00Z"), until: day("2026-11-22")), limit: 20, offset: 40)), nil
        ),
        (.yield(TimeWindow(since: day("2026-11-01"))), nil),
        (.pareto(partNumber: "FT-MTP24-OM4-A", TimeWindow(until: day("2026-12-01"))), nil),
        (.report(serial: "SN123"), nil),
        (.prompts, nil),
        (.sinks(sink: nil), nil),
        (.sinks(sink: "line-mes"), nil),
        (.resend(sink: "line-mes", .report("SN123")), nil),
        (.resend(sink: "line-mes", .parked), nil),
        (.answer(prompt: "p1", answer: "ok"), nil),
        (.fault(FaultToInject(instrument: "ilrl", fault: "noReply")), nil),
        (.fault(FaultToInject(instrument: "ilrl", fault: "garbage", command: "READ:RL?", fiber: 3)), nil),
        (.spc(partNumber: "FT-MTP24-OM4-A", TimeWindow(since: day("2026-11-01"))), nil),
        (.lot(partNumber: "FT-MTP12-SMAPC-B-LL", TimeWindow(since: day("2026-11-01"), until: day("2026-12-01"))), nil),
    ]

    @Test func recordedRequestsReadAsTheirTypedRequestAndWriteBackTheSameLine() throws {
        let lines = try Self.lines("control-requests.jsonl")
        #expect(lines.count == Self.expected.count)
        #expect(Set(Self.expected.map(\.0.kind)) == Set(ControlRequest.Kind.allCases), "every request type is recorded")
        for (line, (request, who)) in zip(lines, Self.expected) {
            let read = try JSONDecoder().decode(ControlRequest.self, from: Data(line.utf8))
            #expect(read.request == request, "\(line)")
            #expect(read.operator == who, "\(line)")
            var written = ControlRequest(request, id: read.id, operator: who)
            written.v = ControlProtocol.version
            let back = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(written))
            #expect(back == (try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))), "\(line)")
        }
    }

    @Test func malformedRequestsAreRefusedNamingTheField() throws {
        struct Case: Decodable {
            var line: JSONValue
            var code: ControlErrorCode
            var message: String
            var fix: String?
        }
        for text in try Self.lines("control-request-errors.jsonl") {
            let c = try JSONDecoder().decode(Case.self, from: Data(text.utf8))
            let line = try JSONEncoder().encode(c.line)
            do {
                _ = try JSONDecoder().decode(ControlRequest.self, from: line)
                Issue.record("accepted: \(text)")
            } catch let e as ControlError {
                #expect(e.code == c.code && e.message == c.message, "\(text): \(e)")
                if let fix = c.fix { #expect(e.fix == fix, "\(text): \(e)") }
            }
            #expect(ControlRequest.id(in: line) != nil, "the error is answered under the request's id")
        }
    }

    @Test func aFieldOfTheWrongTypeIsMalformedJSONNotAMissingField() throws {
        let line = Data(#"{"id":1,"type":"test","serial":5,"partNumber":"X"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ControlRequest.self, from: line) }
    }

    @Test func aRequestOverHTTPTakesItsTypeFromThePath() throws {
        let r = try ControlRequest.decode(.test, fields: Data(#"{"serial":"SN9","partNumber":"FT-X","type":"status"}"#.utf8))
        #expect(r.request == .test(UnitToTest(serial: "SN9", partNumber: "FT-X")))
        #expect(try ControlRequest.decode(.prompts, fields: Data()).request == .prompts)
    }
}
