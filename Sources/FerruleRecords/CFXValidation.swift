import FerruleCore
import Foundation

/// The route check's CFX messages, after the CFX SDK's classes (IPCConnectedFactoryExchange/CFX
/// at 880255d): `CFX.InformationSystem.UnitValidation.ValidateUnitsRequest` (InformationSystem/
/// UnitValidation/ValidateUnitsRequest.cs: Validations, PrimaryIdentifier, Units as
/// Structures/UnitPosition.cs) and its `ValidateUnitsResponse` (ValidateUnitsResponse.cs: Result
/// as Structures/RequestResult.cs, PrimaryResult and ValidationResults as
/// Structures/ValidationResult.cs with Structures/ValidationStatus.cs). The answer is matched to
/// its request by the envelope's RequestID, as the SDK's AmqpRequestProcessor answers.
public enum CFXValidation {
    public static let requestName = "CFX.InformationSystem.UnitValidation.ValidateUnitsRequest"
    public static let responseName = "CFX.InformationSystem.UnitValidation.ValidateUnitsResponse"
    /// Longest MES reason kept: a screen line, not a document.
    public static let maxReason = 200

    /// The request for one unit at one fixture: is it routed here (UnitRouteValidation), and is
    /// it not on hold, scrapped or shipped (UnitStatusValidation)?
    public static func request(_ q: RouteQuery, source: String, requestID: String, uniqueID: String, at: Date) throws -> Data {
        let unit = CFXWorkUnit(unitIdentifier: q.serial, positionNumber: q.fixture, positionName: "fixture \(q.fixture)")
        var envelope = CFXEnvelope(
            messageName: requestName, timeStamp: iso(at), uniqueID: uniqueID, source: source,
            messageBody: ValidateUnitsRequestBody(primaryIdentifier: q.serial, units: [unit]))
        envelope.requestID = requestID
        return try CFXKey.encoder(pretty: false).encode(envelope)
    }

    /// The RequestID an answer carries, to match it with its request.
    public static func requestID(ofAnswer body: [UInt8]) -> String? {
        (try? decoder.decode(AnswerEnvelope.self, from: Data(body)))?.requestID
    }

    /// What the MES decided: `Passed` allows the unit; `Failed` refuses it with the MES's
    /// message (and failure code); an answer that decides nothing (the request failed, the
    /// validation was skipped, another message, not CFX) is `unavailable`, never a decision.
    public static func decision(fromAnswer body: [UInt8]) -> RouteDecision {
        guard let answer = try? decoder.decode(AnswerEnvelope.self, from: Data(body)) else {
            return .unavailable(why: "the MES's answer is not a CFX envelope")
        }
        guard answer.messageName == responseName else {
            // CFX.NotSupportedResponse says why in RequestResult (NotSupportedResponse.cs).
            let said = (answer.messageBody?.requestResult ?? answer.messageBody?.result)?.message.map { ": \(bounded($0))" } ?? ""
            return .unavailable(why: "the MES answered \(bounded(answer.messageName ?? "nothing")), not a ValidateUnitsResponse\(said)")
        }
        guard let body = answer.messageBody, let primary = body.primaryResult else {
            return .unavailable(why: "the MES's ValidateUnitsResponse has no PrimaryResult")
        }
        if body.result?.result == "Failed" {
            let why = body.result?.message.map(bounded) ?? "no reason given"
            return .unavailable(why: "the MES could not validate the unit: \(why) (result code \(body.result?.resultCode ?? 0))")
        }
        switch primary.result {
        case "Passed":
            return .allowed
        case "Failed":
            let messages = ([primary] + (body.validationResults ?? []).filter { $0.result == "Failed" })
                .compactMap { $0.message?.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty && $0 != "OK" }
            var reason = messages.first ?? "no reason given"
            if let code = primary.failureCode, code != 0 { reason += " (failure code \(code))" }
            return .refused(reason: bounded(reason))
        case "Skipped":
            return .unavailable(why: "the MES skipped the validation")
        default:
            return .unavailable(why: "the MES's PrimaryResult is '\(bounded(primary.result ?? ""))', not Passed or Failed")
        }
    }

    static func bounded(_ s: String) -> String { String(s.prefix(maxReason)) }

    /// CFX's PascalCase names read into the structs' camelCase ones.
    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .custom { path in
            let key = path.last?.stringValue ?? ""
            return CFXKey(key.prefix(1).lowercased() + key.dropFirst())
        }
        return d
    }
}

struct ValidateUnitsRequestBody: Encodable {
    var type = "CFX.InformationSystem.UnitValidation.ValidateUnitsRequest, CFX"
    var validations = ["UnitRouteValidation", "UnitStatusValidation"]
    var primaryIdentifier: String
    var units: [CFXWorkUnit]
}

/// The parts of an answer the station reads; everything optional, so that what is missing is said.
struct AnswerEnvelope: Decodable {
    var messageName: String?
    var requestID: String?
    var messageBody: Body?

    struct Body: Decodable {
        var result: RequestResult?
        var requestResult: RequestResult?
        var primaryResult: ValidationResult?
        var validationResults: [ValidationResult]?
    }

    struct RequestResult: Decodable {
        var result: String?
        var resultCode: Int?
        var message: String?
    }

    struct ValidationResult: Decodable {
        var uniqueIdentifier: String?
        var result: String?
        var failureCode: Int?
        var message: String?
    }
}
