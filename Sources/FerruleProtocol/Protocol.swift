import FerruleCore
import Foundation

/// The status-socket protocol: one JSON object per line, both ways. See docs/control-protocol.md.
public enum ControlProtocol {
    public static let version = 1
    /// A request line longer than this is refused and the client closed.
    public static let maxLineBytes = 1 << 20
    /// Most units one `history` reply lists; further pages with `offset`.
    public static let maxHistoryPage = 500

    /// An ISO 8601 time as requests give it: with or without fractional seconds, or a day (UTC).
    public static func time(_ text: String) -> Date? {
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return d }
        if let d = try? Date.ISO8601FormatStyle().parse(text) { return d }
        return try? Date.ISO8601FormatStyle().year().month().day().parse(text)
    }

    /// The time a request's `field` gives (nil when absent), or the error a client gets for it.
    public static func time(_ text: String?, field: String) throws(ControlError) -> Date? {
        guard let text else { return nil }
        guard let d = time(text) else {
            throw ControlError(
                .badRequest, "'\(field)' is '\(Escaped.text(text))', not an ISO 8601 time",
                fix: "use e.g. \"2026-11-21T06:00:00Z\" or \"2026-11-21\"")
        }
        return d
    }

    public static func encoder() -> JSONEncoder {
        let e = UnitReport.encoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]  // one line
        return e
    }
}

/// A request id: whatever JSON string or number the client sent, echoed back unchanged.
/// Integers are kept exactly up to 64 bits (a Double would change ids above 2^53).
public enum RequestID: Codable, Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case unsigned(UInt64)
    case number(Double)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            self = .string(s)
            return
        }
        if let i = try? c.decode(Int64.self) {
            self = .integer(i)
            return
        }
        if let u = try? c.decode(UInt64.self) {
            self = .unsigned(u)
            return
        }
        self = .number(try c.decode(Double.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .integer(let i): try c.encode(i)
        case .unsigned(let u): try c.encode(u)
        case .number(let n): try c.encode(n)
        }
    }

    public var description: String {
        switch self {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .unsigned(let u): return String(u)
        case .number(let n): return String(n)
        }
    }
}

/// A request as sent on the socket (or over HTTP): the envelope and the typed request. Its
/// wire form is one flat JSON object (`RequestCoding.swift`).
public struct ControlRequest: Codable, Sendable {
    public var v: Int
    public var id: RequestID?
    /// Who asks, as the client says (an operator's id); the web app sets the signed-in user.
    public var `operator`: String?
    /// Who sent the request as the server saw it (the socket peer's OS user, the web app's
    /// signed-in user). Set by the server, which overwrites anything a client sends here.
    public var via: String?
    public var request: StationRequest

    public var kind: Kind { request.kind }

    public init(_ request: StationRequest, id: RequestID? = nil, operator: String? = nil) {
        self.v = ControlProtocol.version
        self.id = id
        self.operator = `operator`
        self.request = request
    }

    /// The request types the station answers.
    public enum Kind: String, CaseIterable, Sendable {
        case status, subscribe, unsubscribe, test, abort, reference, recipes, history, prompts, answer, fault, yield, pareto, report
        case cordReset, sinks, resend, spc, lot
    }
}

/// Why a request failed, for a client to act on without parsing the message.
public enum ControlErrorCode: String, Codable, Sendable {
    /// The line is not a JSON object.
    case badJSON = "bad_json"
    /// A field is missing or has the wrong value; the message names it.
    case badRequest = "bad_request"
    case unknownType = "unknown_type"
    case unsupportedVersion = "unsupported_version"
    case lineTooLong = "line_too_long"
    /// The station will not do it now (no reference, fixture busy, ...); `fix` says what to do.
    case refused
    case notFound = "not_found"
    case tooManyClients = "too_many_clients"
    case internalError = "internal"
}

/// A refused request: the code, what was wrong (naming the field and the value) and the fix.
public struct ControlError: Codable, Sendable, Error, CustomStringConvertible {
    public var code: ControlErrorCode
    public var message: String
    public var fix: String?
    /// A refused request's reason and remedy in typed terms (see `Refusal`).
    public var refusal: Refusal?

    public init(_ code: ControlErrorCode, _ message: String, fix: String? = nil, refusal: Refusal? = nil) {
        self.code = code
        self.message = message
        self.fix = fix
        self.refusal = refusal
    }

    public var description: String { "\(code.rawValue): \(message)\(fix.map { ". Fix: \($0)" } ?? "")" }
}

/// A line from the server: a result or an error for a request, an event, or a last word.
public struct ControlMessage: Codable, Sendable {
    /// What a line from the server is.
    public enum Kind: String, Codable, Sendable { case result, error, event, bye }
    public var v: Int
    public var type: Kind
    public var id: RequestID?
    public var result: JSONValue?
    public var error: ControlError?
    public var event: JSONValue?
    public var reason: String?

    public init(
        type: Kind, id: RequestID? = nil, result: JSONValue? = nil, error: ControlError? = nil,
        event: JSONValue? = nil, reason: String? = nil
    ) {
        self.v = ControlProtocol.version
        self.type = type
        self.id = id
        self.result = result
        self.error = error
        self.event = event
        self.reason = reason
    }
}

/// Any JSON value, for results and events carried inside a message.
public enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Any Encodable as a JSONValue (through its JSON form).
    public static func from<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: ControlProtocol.encoder().encode(value))
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var number: Double? {
        if case .number(let n) = self { return n }
        return nil
    }
    public var int: Int? { number.map { Int($0) } }
    public var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
}
