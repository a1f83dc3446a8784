import FerruleProtocol
import FerruleConfig
import FerruleStation
import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdWebSocket
import NIOCore

/// What a session keeps between requests: who signed in, the token every state-changing request
/// must echo (CSRF), and the language the user chose.
public struct WebSession: Codable, Sendable {
    public var userId: String
    public var csrf: String
    public var language: String?
    public var signedInAt: Date
}

/// The request context of every web request: its session, the signed-in user once the access
/// middleware has looked them up, and where the request came from.
public struct WebContext: RequestContext, SessionRequestContext, WebSocketRequestContext {
    /// What the session middleware keeps per signed-in browser.
    public typealias Session = WebSession
    public var coreContext: CoreRequestContextStorage
    public let sessions: SessionContext<WebSession>
    public let webSocket: WebSocketHandlerReference<Self>
    /// Set by `SignedInMiddleware` for requests that need a user.
    public var user: StationUser?
    /// The peer's address ("127.0.0.1"), for rate limits and logs.
    public let peer: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.sessions = .init()
        self.webSocket = .init()
        self.peer = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The signed-in user, or a 401 (for handlers behind `SignedInMiddleware`, always set).
    func requireUser() throws -> StationUser {
        guard let user else { throw WebError(.unauthorized, "sign in first", key: "error.signIn") }
        return user
    }
}

/// An error the web API answers as JSON: `{"error": {"code", "message", "fix", "key"}}`, with
/// `key` naming the catalog message the page shows in the user's language.
public struct WebError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var fix: String?
    public var key: String
    /// A refused request's reason and remedy, which the page words in the operator's language.
    public var refusal: Refusal?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, fix: String? = nil, key: String, refusal: Refusal? = nil) {
        self.status = status
        self.message = message
        self.fix = fix
        self.key = key
        self.refusal = refusal
    }

    /// The answer's body: `{"error": {"message", "key", "fix"?, "refusal"?}}`.
    struct Body: Encodable {
        struct Detail: Encodable {
            var message: String
            var key: String
            var fix: String?
            var refusal: Refusal?
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(Body(error: .init(message: message, key: key, fix: fix, refusal: refusal)))
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        h[.cacheControl] = "no-store"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
