import AsyncHTTPClient
import FerruleCore
import Foundation
import NIOCore

/// The MES's route check over HTTP: `POST url` with `{"serial", "partNumber", "station",
/// "fixture", "operator"}`, answered `200 {"allowed": true}` or `200 {"allowed": false, "reason":
/// "..."}`. Anything else (another status, a body that is not that, a timeout, no connection) is
/// `unavailable`, never a decision. The MES's reason is a client's string: bounded here, escaped
/// wherever it is shown.
public final class HTTPRouteCheck: RouteCheck {
    public let url: String
    public let timeout: Duration
    public let tokenFile: String?
    /// The process's shared client: it is never shut down, so a station that is dropped without
    /// `shutdown()` (a failed start, a test) cannot trap on a client left running.
    var client: HTTPClient { .shared }
    public var destination: String { "the MES at \(url)" }
    /// Longest MES reason kept: a screen line, not a document.
    public static let maxReason = 200

    public init(url: String, timeout: Duration = .seconds(3), tokenFile: String? = nil) {
        self.url = url
        self.timeout = timeout
        self.tokenFile = tokenFile
    }

    struct Answer: Decodable {
        var allowed: Bool
        var reason: String?
    }

    public func check(_ query: RouteQuery) async -> RouteDecision {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let tokenFile {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                  !token.isEmpty else { return .unavailable(why: "cannot read the bearer token from \(tokenFile)") }
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        do {
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(query)))
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.nanoseconds)))
            let body = try await response.body.collect(upTo: 64 * 1024)
            guard response.status == .ok else { return .unavailable(why: "the MES answered HTTP \(response.status.code)") }
            guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(buffer: body)) else {
                return .unavailable(why: "the MES's answer is not {\"allowed\": true|false, \"reason\": ...}")
            }
            if answer.allowed { return .allowed }
            let reason = (answer.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return .refused(reason: reason.isEmpty ? "no reason given" : String(reason.prefix(Self.maxReason)))
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            return .unavailable(why: "no answer within \(timeout)")
        } catch {
            return .unavailable(why: "\(error)".prefix(200).description)
        }
    }

    public func shutdown() async {}
}
