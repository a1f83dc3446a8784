import FerruleCore
import FerruleRecords
import Foundation

/// The MES's route check over IPC-CFX (`mes.routeCheck.cfx`): a `ValidateUnitsRequest` sent
/// through the line's broker to the MES's address, with a reply-to naming this station's
/// answers queue, and the `ValidateUnitsResponse` with the same RequestID awaited for `timeout`.
/// Anything but a Passed or Failed answer in time (no broker, TLS or credentials refused, no
/// answer, an answer that decides nothing) is `unavailable`, which `onUnavailable` settles.
public final class CFXRouteCheck: RouteCheck {
    public let host: String
    public let port: Int
    public let address: String
    public let handle: String
    public let user: String?
    public let passwordFile: String?
    public let tls: AMQPTLS?
    public let timeout: Duration
    let requester: AMQPRequester

    public var destination: String { "the MES at \(tls == nil ? "amqp" : "amqps")://\(host):\(port)\(address)" }

    public init(
        host: String, port: Int, address: String, replyAddress: String?, handle: String, user: String?, passwordFile: String?,
        tls: AMQPTLS?, timeout: Duration
    ) {
        self.host = host
        self.port = port
        self.address = address
        self.handle = handle
        self.user = user
        self.passwordFile = passwordFile
        self.tls = tls
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
        let password: String?
        switch AMQPEndpoint.password(in: passwordFile) {
        case .success(let p): password = p
        case .failure(let why): return .unavailable(why: why.description)
        }
        let endpoint = AMQPEndpoint(
            host: host, port: port, address: address, user: user, password: password, containerId: "\(handle)/route-check", tls: tls)
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
