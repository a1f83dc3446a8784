import FerruleCore
import FerruleRecords
import Foundation

/// The MES's route check over IPC-CFX (`mes.routeCheck.cfx`): a `ValidateUnitsRequest` sent
/// through the line's broker to the MES's address, with a reply-to naming this station's
/// answers queue, and the `ValidateUnitsResponse` with the same RequestID awaited for `timeout`.
/// Anything but a Passed or Failed answer in time (no broker, TLS or credentials refused, no
/// answer, an answer that decides nothing) is `unavailable`, which `onUnavailable` settles.
public final class CFXRouteCheck: RouteCheck {
    public let broker: BrokerAccount
    public let address: String
    public let handle: String
    public let timeout: Duration
    let requester: AMQPRequester

    public var destination: String { "the MES at \(broker.url)\(address)" }

    public init(broker: BrokerAccount, address: String, replyAddress: String?, handle: String, timeout: Duration) {
        self.broker = broker
        self.address = address
        self.handle = handle
        self.timeout = timeout
        requester = AMQPRequester(replyAddress: replyAddress ?? Self.defaultReplyAddress(handle: handle)) {
            CFXValidation.requestID(ofAnswer: $0)
        }
    }

    /// `/queue/<handle>.route-answers`, the handle kept to the characters a queue name takes.
    public static func defaultReplyAddress(handle: String) -> String {
        let safe = String(handle.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "-" })
        return "/queue/\(safe).route-answers"
    }

    public func check(_ query: RouteQuery) async -> RouteDecision {
        let endpoint: AMQPEndpoint
        switch broker.endpoint(address: address, containerId: "\(handle)/route-check") {
        case .success(let e): endpoint = e
        case .failure(let why): return .unavailable(why: why.description)
        }
        let requestID = "REQUEST-\(UUID().uuidString.lowercased())"
        let uniqueID = UUID().uuidString.lowercased()
        let body: Data
        do { body = try CFXValidation.request(query, source: handle, requestID: requestID, uniqueID: uniqueID, at: Date()) } catch {
            return .unavailable(why: "cannot write the ValidateUnitsRequest: \(error)")
        }
        let message = AMQPMessage(body: Array(body), subject: CFXValidation.requestName, messageId: uniqueID)
        switch await requester.request(message, key: requestID, to: endpoint, timeout: timeout) {
        case .answered(let answer): return CFXValidation.decision(fromAnswer: answer)
        case .noAnswer: return .unavailable(why: "no answer within \(timeout)")
        case .notSent(let why): return .unavailable(why: "the request did not reach the broker: \(why)")
        }
    }

    public func shutdown() async { requester.close() }
}
