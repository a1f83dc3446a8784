import FerruleProtocol
import Foundation
import Synchronization

/// A request line as a client may write it, valid or not: every field flat and optional, as on
/// the wire. Tests build their requests this way so that the server's own reading of a line
/// (the typed `ControlRequest`) is what they exercise, and so that they can send what no typed
/// request can express (a missing field, a wrong type, an unknown type).
struct RequestDraft: Encodable {
    var v: Int? = ControlProtocol.version
    var id: RequestID?
    var type: String?
    var serial: String?
    var partNumber: String?
    var fixture: Int?
    var `operator`: String?
    var verdict: String?
    var limit: Int?
    var offset: Int?
    var since: String?
    var until: String?
    var prompt: String?
    var answer: String?
    var instrument: String?
    var fault: String?
    var command: String?
    var fiber: Int?
    var cord: String?
    var sink: String?
    var report: String?
    var parked: Bool?
    var via: String?

    init(id: RequestID? = nil, type: String?) {
        self.id = id
        self.type = type
    }
}

extension ControlSession {
    private static let draftIds = DraftIds()

    /// Sends a draft as one line and returns the reply to it.
    mutating func call(_ draft: RequestDraft, onEvent: (JSONValue) -> Void = { _ in }) async throws -> ControlMessage {
        var d = draft
        let id = d.id ?? .string("draft-\(Self.draftIds.next())")
        d.id = id
        return try await call(line: d, id: id, onEvent: onEvent)
    }
}

/// Ids for drafts sent without one, unique across sessions.
final class DraftIds: Sendable {
    private let counter = Mutex(0)
    func next() -> Int { counter.withLock { $0 += 1; return $0 } }
}
