import FerruleControl
import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleConfig
import FerruleStation
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The socket's requests over HTTP: `POST /api/<type>` with the request's fields as a JSON body
/// (and `GET /api/<type>?field=value` for the read-only ones), answered by the very handlers the
/// socket uses. The role is checked first; the operator is always the signed-in user.
struct APIRoutes {
    let station: Station
    let routes: ControlRoutes
    let reload: @Sendable () async -> ReloadOutcome

    func post(_ request: Request, context: WebContext) async throws -> Response {
        let kind = try kind(context)
        let user = try authorize(kind, context)
        return try await answer(try await fields(request, kind: kind), kind: kind, by: user, context: context)
    }

    /// `POST /api/scan`: the station page's scan, a `test` whose refusal is an answer (200,
    /// `{"started": false, "error": {...}}` as an error body) instead of an HTTP error: a refused
    /// scan is an everyday outcome at a fixture, and a browser logs every HTTP error answer in
    /// its console. `POST /api/test` answers a refusal with 409, as before.
    func scan(_ request: Request, context: WebContext) async throws -> Response {
        struct Answer: Encodable {
            var started: Bool
            var error: WebError.Body.Detail?
        }
        var answer = Answer(started: true)
        do {
            let user = try authorize(.test, context)
            _ = try await self.answer(try await fields(request, kind: .test), kind: .test, by: user, context: context)
        } catch let e as WebError where e.status == .conflict {
            answer = Answer(started: false, error: .init(message: e.message, key: e.key, fix: e.fix, refusal: e.refusal))
        }
        let data = try JSONEncoder().encode(answer)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A POST's body: the request's fields as a JSON object (none: the request with no field).
    /// Read after `authorize`: a request the user may not send is refused as such, whatever its fields.
    private func fields(_ request: Request, kind: ControlRequest.Kind) async throws -> ControlRequest {
        let body = try await request.body.collect(upTo: 64 * 1024)
        return try decode(kind, Data(body.readableBytesView))
    }

    /// The request of `kind` from a JSON object of its fields: a missing or malformed field is a
    /// 400 naming it, as on the socket.
    private func decode(_ kind: ControlRequest.Kind, _ data: Data) throws -> ControlRequest {
        do { return try ControlRequest.decode(kind, fields: data) } catch let e as ControlError {
            throw WebError(Self.status(e.code), e.message, fix: e.fix, key: "error." + e.code.rawValue, refusal: e.refusal)
        } catch {
            throw WebError(
                .badRequest, "the body is not a JSON object of request fields: \(error)",
                fix: "send e.g. {\"serial\": \"SN1\", \"partNumber\": \"FT-X\"}", key: "error.badRequest")
        }
    }

    func get(_ request: Request, context: WebContext) async throws -> Response {
        let kind = try kind(context)
        guard WebAccess.readOnly.contains(kind) else {
            throw WebError(.methodNotAllowed, "'\(kind.rawValue)' changes the station", fix: "send it as a POST", key: "error.badRequest")
        }
        var fields: [String: JSONValue] = [:]
        for (k, v) in request.uri.queryParameters {
            let key = String(k)
            let value = String(v)
            fields[key] =
                ["limit", "offset", "fixture", "fiber"].contains(key)
                ? (Double(value).map(JSONValue.number) ?? .string(value))
                : .string(value)
        }
        let user = try authorize(kind, context)
        let r = try decode(kind, try ControlProtocol.encoder().encode(JSONValue.object(fields)))
        return try await answer(r, kind: kind, by: user, context: context)
    }

    /// `POST /api/reload`: SIGHUP's twin, for an engineer.
    func reloadConfig(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        try WebAccess.check(user, needs: WebAccess.reloadRole, to: "reloading the config")
        context.logger.info("config reload asked by \(user.id) from \(context.peer)")
        switch await reload() {
        case .applied(let what):
            return try json(.object(["applied": .array(what.map(JSONValue.string))]))
        case .refused(let why):
            throw WebError(.conflict, why, fix: "correct the config file and reload again", key: "error.reloadRefused")
        }
    }

    /// `GET /api/delivery`: each sink's backlog, how long the oldest report has waited, since when
    /// it fails, and the reports it parked (refused for good) with why.
    func delivery(_ request: Request, context: WebContext) async throws -> Response {
        _ = try context.requireUser()
        do { return try json(try JSONValue.from(try await station.delivery.queues())) } catch let e as ResendProblem {
            throw WebError(.serviceUnavailable, "\(e)", fix: "see 'ferrulectl status'", key: "error.internal")
        }
    }

    private func kind(_ context: WebContext) throws -> ControlRequest.Kind {
        let name = context.parameters.get("type") ?? ""
        guard let kind = ControlRequest.Kind(rawValue: name), WebAccess.role(for: kind) != nil else {
            let known = ControlRequest.Kind.allCases.filter { WebAccess.role(for: $0) != nil }.map(\.rawValue)
            throw WebError(
                .notFound, "'\(Escaped.text(name))' is not a request type", fix: "use one of: \(known.joined(separator: ", "))",
                key: "error.badRequest")
        }
        return kind
    }

    private func answer(
        _ request: ControlRequest, kind: ControlRequest.Kind, by user: StationUser, context: WebContext
    ) async throws -> Response {
        var r = request
        r.operator = user.id  // never a free-form field: who is signed in is who did it
        r.via = "web user \(user.id) from \(context.peer)"
        guard let handler = routes.handler(for: kind) else {
            throw WebError(
                .notFound, "this station does not serve '\(kind.rawValue)'",
                fix: kind == .fault ? "fault injection needs simulated instruments" : "check the request type",
                key: "error.badRequest")
        }
        if !WebAccess.readOnly.contains(kind) {
            context.logger.info("\(kind.rawValue) by \(user.id) from \(context.peer)")
        }
        do {
            return try json(try await handler(r))
        } catch let e as ControlError {
            throw WebError(Self.status(e.code), e.message, fix: e.fix, key: "error." + e.code.rawValue, refusal: e.refusal)
        } catch let e as UnitRefused {
            throw WebError(.conflict, e.message, fix: e.fix, key: "error.refused", refusal: e.refusal)
        }
    }

    /// The signed-in user, if their role may send `kind`.
    private func authorize(_ kind: ControlRequest.Kind, _ context: WebContext) throws -> StationUser {
        let user = try context.requireUser()
        if let role = WebAccess.role(for: kind) { try WebAccess.check(user, needs: role, to: "'\(kind.rawValue)'") }
        return user
    }

    static func status(_ code: ControlErrorCode) -> HTTPResponse.Status {
        switch code {
        case .badJSON, .badRequest, .unknownType, .unsupportedVersion, .lineTooLong: return .badRequest
        case .refused: return .conflict
        case .notFound: return .notFound
        case .tooManyClients: return .serviceUnavailable
        case .internalError: return .internalServerError
        }
    }
}

/// A JSON answer, never cached (it is the station's state at this moment).
func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try ControlProtocol.encoder().encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
        body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
