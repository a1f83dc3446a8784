import FerruleCore
import FerruleConfig
import FerruleStation
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdBcrypt
import NIOPosix

/// What a signed-in page learns about its user (`/api/me`, and the sign-in's answer).
struct Me: Codable, ResponseEncodable {
    var id: String
    var name: String
    var role: StationRole
    var language: String?
    var csrf: String
    var idleSignOutSeconds: Double
    var stationId: String
}

/// `/api/session`: the signed-in user, or none.
struct PageSession: Encodable, ResponseEncodable {
    var me: Me?
}

struct SignInRequest: Decodable {
    var id: String
    var pin: String
}

/// Sign-in by id (typed, or scanned from a badge) and PIN; sign-out; the user's language.
struct SignInRoutes {
    let station: Station
    let limiter: SignInGuard
    let idleSeconds: Double

    /// Checked when the id is unknown, so that an unknown id takes as long as a wrong PIN.
    static let decoy = Bcrypt.hash("not a pin", cost: PINHash.cost)

    func signIn(_ request: Request, context: WebContext) async throws -> Response {
        try SameOrigin.check(request)
        let body = try await request.body.collect(upTo: 4096)
        guard let form = try? JSONDecoder().decode(SignInRequest.self, from: body) else {
            throw WebError(
                .badRequest, "the sign-in needs a JSON body {\"id\": ..., \"pin\": ...}", fix: "send the id and PIN",
                key: "error.badRequest")
        }
        let id = form.id.trimmingCharacters(in: .whitespacesAndNewlines)
        if let wait = await limiter.waitBeforeTrying(user: id, address: context.peer) {
            var e = WebError(
                .tooManyRequests, "too many wrong PINs for '\(Escaped.text(id))' or from this panel",
                fix: "wait \(wait) s, or ask a supervisor", key: "error.tooMany")
            e.headers[.retryAfter] = String(wait)
            throw e
        }
        let user = await station.currentConfig.users.first { $0.id == id }
        let hash = user?.pinHash ?? Self.decoy
        let pin = form.pin
        // bcrypt is slow on purpose: off the event loops and the cooperative pool.
        let good = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(pin, hash: hash) }
        guard let user, good else {
            await limiter.failed(user: id, address: context.peer)
            context.logger.notice("sign-in refused for '\(Escaped.text(id))' from \(context.peer)")
            throw WebError(.unauthorized, "wrong id or PIN", fix: "scan your badge or type your id, then your PIN", key: "error.wrongPin")
        }
        await limiter.succeeded(user: id)
        let session = WebSession(userId: user.id, csrf: Self.token(), language: user.language, signedInAt: Date())
        context.sessions.createSession(session, expiresIn: .seconds(idleSeconds))
        context.logger.info("\(user.id) (\(user.role.rawValue)) signed in from \(context.peer)")
        await station.operatorActivated(user.id, via: "web")
        return try await me(user, session).response(from: request, context: context)
    }

    func signOut(_ request: Request, context: WebContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        context.sessions.clearSession()
        context.logger.info("\(user.id) signed out")
        await station.operatorDeactivated(user.id, via: "web")
        return .noContent
    }

    /// The page's first question: who is signed in here, if anyone. Always 200, so that a page
    /// opened signed out has no failed request in its console; `/api/me` stays 401 for API clients.
    func session(_ request: Request, context: WebContext) async throws -> PageSession {
        guard let session = context.sessions.session,
            let user = await station.currentConfig.users.first(where: { $0.id == session.userId })
        else { return PageSession(me: nil) }
        return PageSession(me: await me(user, session))
    }

    func current(_ request: Request, context: WebContext) async throws -> Me {
        let user = try context.requireUser()
        guard let session = context.sessions.session else { throw WebError(.unauthorized, "sign in first", key: "error.signIn") }
        return await me(user, session)
    }

    /// The user's language for this session (the operator switched it on the page).
    func setLanguage(_ request: Request, context: WebContext) async throws -> Me {
        let user = try context.requireUser()
        let body = try await request.body.collect(upTo: 1024)
        let lang = (try? JSONDecoder().decode([String: String].self, from: body))?["language"] ?? ""
        guard operatorLanguages.contains(lang) else {
            throw WebError(
                .badRequest, "'language' is '\(Escaped.text(lang))'",
                fix: "use one of: \(operatorLanguages.joined(separator: ", "))", key: "error.badRequest")
        }
        context.sessions.withLockedSession { $0?.language = lang }
        guard let session = context.sessions.session else { throw WebError(.unauthorized, "sign in first", key: "error.signIn") }
        return await me(user, session)
    }

    private func me(_ user: StationUser, _ session: WebSession) async -> Me {
        Me(
            id: user.id, name: user.name, role: user.role, language: session.language ?? user.language, csrf: session.csrf,
            idleSignOutSeconds: idleSeconds, stationId: await station.currentConfig.stationId)
    }

    /// 32 random bytes, URL-safe base64.
    static func token() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// PIN hashes for the config (`ferruled hash-pin`).
public enum PINHash {
    /// bcrypt's cost: 2^10 rounds, about 50-100 ms a check on a panel PC.
    public static let cost: UInt8 = 10

    public static func make(_ pin: String) -> String { Bcrypt.hash(pin, cost: cost) }
    public static func verify(_ pin: String, hash: String) -> Bool { Bcrypt.verify(pin, hash: hash) }
}
