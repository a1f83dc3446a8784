import FerruleCore
import Foundation

/// Every field a request line may carry, flat beside `type` (see docs/control-protocol.md).
enum RequestKey: String, CodingKey {
    case v, id, type, `operator`, via
    case serial, partNumber, fixture, verdict, limit, offset, since, until, prompt, answer
    case instrument, fault, command, fiber, cord, sink, report, parked
}

/// Reads one request's fields, naming a missing or malformed one in the error a client gets.
struct RequestFields {
    let container: KeyedDecodingContainer<RequestKey>
    let kind: String

    func optional<T: Decodable>(_ key: RequestKey) throws -> T? { try container.decodeIfPresent(T.self, forKey: key) }

    func required<T: Decodable>(_ key: RequestKey, example: String) throws -> T {
        guard let value: T = try optional(key) else {
            throw ControlError(
                .badRequest, "'\(key.stringValue)' is missing", fix: "add \"\(key.stringValue)\": \(example) to the '\(kind)' request")
        }
        return value
    }

    /// An ISO 8601 time (with or without fractional seconds, or a day).
    func time(_ key: RequestKey) throws -> Date? { try ControlProtocol.time(try optional(key), field: key.stringValue) }

    func window() throws -> TimeWindow { TimeWindow(since: try time(.since), until: try time(.until)) }

    func verdict() throws -> Verdict? {
        guard let text: String = try optional(.verdict) else { return nil }
        guard let v = Verdict(rawValue: text) else {
            throw ControlError(
                .badRequest, "'verdict' is '\(Escaped.text(text))'",
                fix: "use one of: \(Verdict.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    func history() throws -> HistoryQuery {
        let limit: Int = try optional(.limit) ?? 50
        let offset: Int = try optional(.offset) ?? 0
        guard (1...ControlProtocol.maxHistoryPage).contains(limit) else {
            throw ControlError(
                .badRequest, "'limit' is \(limit)",
                fix: "ask for 1 to \(ControlProtocol.maxHistoryPage) units a page and page on with 'offset'")
        }
        guard offset >= 0 else {
            throw ControlError(.badRequest, "'offset' is \(offset)", fix: "use 0 or more (rows to skip, newest first)")
        }
        return HistoryQuery(
            serial: try optional(.serial), partNumber: try optional(.partNumber), verdict: try verdict(), window: try window(),
            limit: limit, offset: offset)
    }

    func resendTarget() throws -> ResendTarget {
        switch (try optional(.report) as String?, try optional(.parked) ?? false) {
        case (let report?, false): return .report(report)
        case (nil, true): return .parked
        case (let report, _):
            throw ControlError(
                .badRequest, report == nil ? "neither 'report' nor 'parked' is given" : "both 'report' and 'parked' are given",
                fix: "send \"report\": a report id or serial, or \"parked\": true for every parked report of the sink")
        }
    }
}

extension StationRequest {
    /// The request of `kind` from its flat fields.
    init(kind: ControlRequest.Kind, fields f: RequestFields) throws {
        switch kind {
        case .status: self = .status
        case .subscribe: self = .subscribe
        case .unsubscribe: self = .unsubscribe
        case .recipes: self = .recipes
        case .prompts: self = .prompts
        case .test:
            self = .test(
                UnitToTest(
                    serial: try f.required(.serial, example: "\"SN123\""),
                    partNumber: try f.required(.partNumber, example: "\"FT-MTP12-SMAPC-B-LL\""), fixture: try f.optional(.fixture)))
        case .abort: self = .abort(fixture: try f.required(.fixture, example: "1"))
        case .reference: self = .reference(fixture: try f.required(.fixture, example: "1"), cord: try f.optional(.cord))
        case .cordReset: self = .cordReset(cord: try f.required(.cord, example: "\"TC-L-1\""))
        case .history: self = .history(try f.history())
        case .yield: self = .yield(try f.window())
        case .pareto: self = .pareto(partNumber: try f.optional(.partNumber), try f.window())
        case .spc: self = .spc(partNumber: try f.required(.partNumber, example: "\"FT-MTP12-SMAPC-B-LL\""), try f.window())
        case .lot: self = .lot(partNumber: try f.required(.partNumber, example: "\"FT-MTP12-SMAPC-B-LL\""), try f.window())
        case .report: self = .report(serial: try f.required(.serial, example: "\"SN123\""))
        case .sinks: self = .sinks(sink: try f.optional(.sink))
        case .resend: self = .resend(sink: try f.required(.sink, example: "\"line-mes\""), try f.resendTarget())
        case .answer:
            self = .answer(prompt: try f.required(.prompt, example: "\"p1\""), answer: try f.required(.answer, example: "\"ok\""))
        case .fault:
            self = .fault(
                FaultToInject(
                    instrument: try f.required(.instrument, example: "\"ilrl\""), fault: try f.required(.fault, example: "\"noReply\""),
                    command: try f.optional(.command), fiber: try f.optional(.fiber)))
        }
    }

    /// The request's own fields, flat (`type` and the envelope are written by `ControlRequest`).
    func encodeFields(into c: inout KeyedEncodingContainer<RequestKey>) throws {
        switch self {
        case .status, .subscribe, .unsubscribe, .recipes, .prompts: break
        case .test(let u):
            try c.encode(u.serial, forKey: .serial)
            try c.encode(u.partNumber, forKey: .partNumber)
            try c.encodeIfPresent(u.fixture, forKey: .fixture)
        case .abort(let fixture): try c.encode(fixture, forKey: .fixture)
        case .reference(let fixture, let cord):
            try c.encode(fixture, forKey: .fixture)
            try c.encodeIfPresent(cord, forKey: .cord)
        case .cordReset(let cord): try c.encode(cord, forKey: .cord)
        case .history(let q):
            try c.encodeIfPresent(q.serial, forKey: .serial)
            try c.encodeIfPresent(q.partNumber, forKey: .partNumber)
            try c.encodeIfPresent(q.verdict?.rawValue, forKey: .verdict)
            try Self.encode(q.window, into: &c)
            try c.encode(q.limit, forKey: .limit)
            try c.encode(q.offset, forKey: .offset)
        case .yield(let w): try Self.encode(w, into: &c)
        case .pareto(let part, let w):
            try c.encodeIfPresent(part, forKey: .partNumber)
            try Self.encode(w, into: &c)
        case .spc(let part, let w), .lot(let part, let w):
            try c.encode(part, forKey: .partNumber)
            try Self.encode(w, into: &c)
        case .report(let serial): try c.encode(serial, forKey: .serial)
        case .sinks(let sink): try c.encodeIfPresent(sink, forKey: .sink)
        case .resend(let sink, let target):
            try c.encode(sink, forKey: .sink)
            switch target {
            case .report(let r): try c.encode(r, forKey: .report)
            case .parked: try c.encode(true, forKey: .parked)
            }
        case .answer(let prompt, let answer):
            try c.encode(prompt, forKey: .prompt)
            try c.encode(answer, forKey: .answer)
        case .fault(let f):
            try c.encode(f.instrument, forKey: .instrument)
            try c.encode(f.fault, forKey: .fault)
            try c.encodeIfPresent(f.command, forKey: .command)
            try c.encodeIfPresent(f.fiber, forKey: .fiber)
        }
    }

    private static func encode(_ w: TimeWindow, into c: inout KeyedEncodingContainer<RequestKey>) throws {
        let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        try c.encodeIfPresent(w.since.map { $0.formatted(format) }, forKey: .since)
        try c.encodeIfPresent(w.until.map { $0.formatted(format) }, forKey: .until)
    }
}

extension ControlRequest {
    /// The envelope, then `type`, then the request's own fields; a wrong version, a missing or
    /// unknown type or a missing field is a `ControlError` naming it.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: RequestKey.self)
        id = try c.decodeIfPresent(RequestID.self, forKey: .id)
        v = try c.decodeIfPresent(Int.self, forKey: .v) ?? ControlProtocol.version
        guard v == ControlProtocol.version else {
            throw ControlError(.unsupportedVersion, "protocol version \(v) is not supported", fix: "send \"v\": \(ControlProtocol.version)")
        }
        self.operator = try c.decodeIfPresent(String.self, forKey: .operator)
        via = try c.decodeIfPresent(String.self, forKey: .via)
        let kind = try decoder.userInfo[Self.kindKey] as? Kind ?? Self.kind(in: c)
        request = try StationRequest(kind: kind, fields: RequestFields(container: c, kind: kind.rawValue))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: RequestKey.self)
        try c.encode(v, forKey: .v)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encode(kind.rawValue, forKey: .type)
        try c.encodeIfPresent(self.operator, forKey: .operator)
        try c.encodeIfPresent(via, forKey: .via)
        try request.encodeFields(into: &c)
    }

    private static func kind(in c: KeyedDecodingContainer<RequestKey>) throws -> Kind {
        guard let name = try c.decodeIfPresent(String.self, forKey: .type) else {
            throw ControlError(.badRequest, "'type' is missing", fix: "add \"type\": \"status\" to the 'any' request")
        }
        guard let kind = Kind(rawValue: name) else {
            throw ControlError(
                .unknownType, "unknown request type '\(Escaped.text(name))'",
                fix: "use one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return kind
    }

    /// Set in a decoder's `userInfo` where the type comes from elsewhere (the web app's path).
    static let kindKey = CodingUserInfoKey(rawValue: "ferrule.requestKind")!

    /// A request whose type is known already (`POST /api/<type>`), its fields in `data` (a JSON
    /// object, or nothing).
    public static func decode(_ kind: Kind, fields data: Data) throws -> ControlRequest {
        let decoder = JSONDecoder()
        decoder.userInfo[kindKey] = kind
        return try decoder.decode(ControlRequest.self, from: data.isEmpty ? Data("{}".utf8) : data)
    }

    /// The request's id alone, so that a line refused as a whole is still answered under its id.
    public static func id(in data: Data) -> RequestID? {
        struct Identity: Decodable { var id: RequestID? }
        return (try? JSONDecoder().decode(Identity.self, from: data))?.id
    }
}
