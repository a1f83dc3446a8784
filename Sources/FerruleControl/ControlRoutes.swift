import FerruleCore
import FerruleProtocol
import Foundation

/// Answers one request with its result; throws `ControlError` (or a refusal) to answer an error.
public typealias ControlHandler = @Sendable (ControlRequest) async throws -> JSONValue

/// The table of request handlers a `ControlServer` serves, by request type. The server itself
/// answers `subscribe` and `unsubscribe` (they concern the connection, not the station).
public struct ControlRoutes: Sendable {
    private var handlers: [ControlRequest.Kind: ControlHandler] = [:]

    public init() {}

    /// Serves `kind` with `handler` (replacing any earlier one).
    public mutating func on(_ kind: ControlRequest.Kind, _ handler: @escaping ControlHandler) {
        handlers[kind] = handler
    }

    public func handler(for kind: ControlRequest.Kind) -> ControlHandler? { handlers[kind] }
}

extension ControlRequest {
    /// A parameter the request must have, or an error naming it with an example.
    public func require<T>(_ value: T?, _ field: String, example: String) throws -> T {
        guard let value else {
            throw ControlError(.badRequest, "'\(field)' is missing", fix: "add \"\(field)\": \(example) to the '\(type ?? "any")' request")
        }
        return value
    }

    /// An ISO 8601 time from a request field, or a clear error naming it.
    public func time(_ text: String?, _ field: String) throws -> Date? {
        guard let text else { return nil }
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return d }
        if let d = try? Date.ISO8601FormatStyle().parse(text) { return d }
        if let d = try? Date.ISO8601FormatStyle().year().month().day().parse(text) { return d }
        throw ControlError(.badRequest, "'\(field)' is '\(Escaped.text(text))', not an ISO 8601 time",
                           fix: "use e.g. \"2026-11-21T06:00:00Z\" or \"2026-11-21\"")
    }
}
