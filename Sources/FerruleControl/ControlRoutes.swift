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

/// A handler was given a request of another kind: a routing mistake in the code, not the client's.
public func misrouted(_ r: ControlRequest, to expected: ControlRequest.Kind) -> ControlError {
    ControlError(.internalError, "a '\(r.kind.rawValue)' request reached the '\(expected.rawValue)' handler")
}
