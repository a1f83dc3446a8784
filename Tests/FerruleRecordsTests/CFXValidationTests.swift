import FerruleCore
import Foundation
import Testing

@testable import FerruleRecords

/// ValidateUnitsRequest as the CFX SDK's class has it, and every kind of answer read as the
/// station must: Passed allows, Failed refuses with the MES's words, anything else decides nothing.
@Suite struct CFXValidationTests {
    static func answer(_ body: [String: Any], name: String = CFXValidation.responseName, requestID: String = "REQUEST-1") -> [UInt8] {
        let envelope: [String: Any] = ["MessageName": name, "Version": "1.7", "RequestID": requestID, "MessageBody": body]
        return Array(try! JSONSerialization.data(withJSONObject: envelope))
    }

    static func primary(_ result: String, message: String = "OK", code: Int = 0) -> [String: Any] {
        [
            "Result": ["Result": "Success", "ResultCode": 0],
            "PrimaryResult": ["UniqueIdentifier": "SN-1", "Result": result, "FailureCode": code, "Message": message],
        ]
    }

    @Test func theRequestCarriesTheUnitAndTheRequestID() throws {
        let q = RouteQuery(serial: "SN-1", partNumber: "P", station: "ST-1", fixture: 2, operator: "op")
        let data = try CFXValidation.request(
            q, source: "ferrule.ST-1", requestID: "REQUEST-9", uniqueID: "u-1", at: Date(timeIntervalSince1970: 0))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["MessageName"] as? String == CFXValidation.requestName && json["RequestID"] as? String == "REQUEST-9")
        #expect(json["Source"] as? String == "ferrule.ST-1" && json["UniqueID"] as? String == "u-1")
        let body = try #require(json["MessageBody"] as? [String: Any])
        #expect(body["$type"] as? String == "CFX.InformationSystem.UnitValidation.ValidateUnitsRequest, CFX")
        #expect(body["PrimaryIdentifier"] as? String == "SN-1")
        let unit = try #require((body["Units"] as? [[String: Any]])?.first)
        #expect(unit["UnitIdentifier"] as? String == "SN-1" && unit["PositionNumber"] as? Int == 2)
        #expect(CFXValidation.requestID(ofAnswer: Self.answer(Self.primary("Passed"), requestID: "REQUEST-9")) == "REQUEST-9")
    }

    @Test func passedAllowsAndFailedRefusesWithTheMESWords() {
        #expect(CFXValidation.decision(fromAnswer: Self.answer(Self.primary("Passed"))) == .allowed)
        #expect(CFXValidation.decision(fromAnswer: Self.answer(Self.primary("Failed", message: "on hold", code: 17)))
                == .refused(reason: "on hold (failure code 17)"))
        // A Failed primary result without words of its own takes the first failed unit's.
        var body = Self.primary("Failed", message: "")
        body["ValidationResults"] = [["Result": "Passed", "Message": "OK"], ["Result": "Failed", "Message": "scrapped"]]
        #expect(CFXValidation.decision(fromAnswer: Self.answer(body)) == .refused(reason: "scrapped"))
        let long = String(repeating: "x", count: 5000)
        guard case .refused(let reason) = CFXValidation.decision(fromAnswer: Self.answer(Self.primary("Failed", message: long))) else {
            Issue.record("not refused")
            return
        }
        #expect(reason.count == CFXValidation.maxReason, "the MES's words are bounded")
    }

    @Test func answersThatDecideNothingAreUnavailable() {
        func unavailable(_ bytes: [UInt8]) -> String? {
            if case .unavailable(let why) = CFXValidation.decision(fromAnswer: bytes) { return why }
            return nil
        }
        #expect(unavailable(Array("not json".utf8))?.contains("not a CFX envelope") == true)
        #expect(unavailable(Self.answer(Self.primary("Skipped")))?.contains("skipped") == true)
        #expect(unavailable(Self.answer(["Result": ["Result": "Failed", "ResultCode": 5, "Message": "db down"],
                                         "PrimaryResult": ["Result": "Failed"]]))
                == "the MES could not validate the unit: db down (result code 5)")
        #expect(unavailable(Self.answer(["RequestResult": ["Result": "Failed", "Message": "no"]], name: "CFX.NotSupportedResponse"))
                == "the MES answered CFX.NotSupportedResponse, not a ValidateUnitsResponse: no")
        #expect(unavailable(Self.answer(["Result": ["Result": "Success"]]))?.contains("no PrimaryResult") == true)
    }
}
