import FerruleCore
import FerruleProtocol
import FerruleConfig
import FerruleStation
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth

/// Who may do what on the web API: the least role for each request type. Enforced here, on the
/// server, for every request; the page only hides what the role cannot use.
public enum WebAccess {
    /// The least role a socket request type needs over HTTP; nil: not served over HTTP
    /// (`subscribe`/`unsubscribe` belong to a socket connection; the page has its WebSocket).
    public static func role(for kind: ControlRequest.Kind) -> StationRole? {
        switch kind {
        case .status, .recipes, .history, .yield, .pareto, .spc, .lot, .report, .prompts, .sinks: return .operator
        // Taking a reference is an operator's start-of-shift task; resetting a cord a supervisor's.
        case .test, .abort, .answer, .reference: return .operator
        case .cordReset, .resend: return .supervisor
        case .fault: return .engineer
        case .subscribe, .unsubscribe: return nil
        }
    }

    /// Requests that change nothing; served over GET too.
    public static let readOnly: Set<ControlRequest.Kind> = [
        .status, .recipes, .history, .yield, .pareto, .spc, .lot, .report, .prompts, .sinks,
    ]

    /// Reloading the config (the web app's own request, SIGHUP's twin).
    public static let reloadRole = StationRole.engineer

    static func check(_ user: StationUser, needs role: StationRole, to what: String) throws {
        guard user.role >= role else {
            throw WebError(
                .forbidden, "\(user.id) is signed in as \(user.role.rawValue); \(what) needs a \(role.rawValue)",
                fix: "ask a \(role.rawValue) to sign in and do it", key: "error.forbidden")
        }
    }
}

/// Requests behind this need a signed-in user: it looks the session's user up in the running
/// config (a user removed by a reload is signed out at once), slides the idle sign-out, and
/// checks the CSRF token and the Origin of every state-changing request.
struct SignedInMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let station: Station
    let idle: Duration

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        guard let session = context.sessions.session else {
            throw WebError(.unauthorized, "not signed in (or signed out after being idle)", fix: "sign in again", key: "error.signIn")
        }
        guard let user = await station.currentConfig.users.first(where: { $0.id == session.userId }) else {
            context.sessions.clearSession()
            throw WebError(
                .unauthorized, "user '\(Escaped.text(session.userId))' is no longer in the config", fix: "sign in as a listed user",
                key: "error.signIn")
        }
        if request.method != .get && request.method != .head {
            try SameOrigin.check(request)
            let sent = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? ""
            guard constantTimeEqual(sent, session.csrf) else {
                throw WebError(
                    .forbidden, "the request has no valid CSRF token (header X-CSRF-Token)",
                    fix: "send the token /api/me gives with every POST", key: "error.csrf")
            }
        }
        context.sessions.withLockedSession { $0?.expiresIn = idle }  // idle sign-out slides with each request
        var context = context
        context.user = user
        return try await next(request, context)
    }
}

/// A state-changing request must come from the station's own pages: its Origin (when the browser
/// sends one) must name the host it was sent to. Together with SameSite=Strict and the token.
enum SameOrigin {
    static func check(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        let host = request.head.authority ?? ""
        guard let url = URL(string: origin), let h = url.host, host == h + (url.port.map { ":\($0)" } ?? "") || host == h else {
            throw WebError(
                .forbidden, "the request comes from another site (Origin \(Escaped.text(origin)))",
                fix: "use the station's own page", key: "error.csrf")
        }
    }
}

/// Compares secrets in time that does not depend on where they differ.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count, !x.isEmpty else { return false }
    return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
}
