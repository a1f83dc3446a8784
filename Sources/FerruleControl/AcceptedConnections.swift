import NIOCore
import Synchronization

/// Every connection the listener accepted and has not yet handed to a client task.
///
/// SwiftNIO's async server hands accepted connections over through a stream. When the listener
/// closes (a stop, or a failed start unwinding the service group) a connection already accepted
/// but not yet read from that stream is dropped, and its `NIOAsyncChannel` writer traps at deinit
/// ("Deinited NIOAsyncWriter without calling finish()", swift-nio issues #2637 and #2813). So each
/// connection is held here from the moment it is wrapped until a client task takes it, and the
/// ones nobody took are finished and closed when the server ends; a connection accepted after
/// that is refused in the child initializer, before it has a writer at all.
final class AcceptedConnections: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    private struct State {
        var waiting: [ObjectIdentifier: Connection] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    struct ServerEnded: Error {}

    /// In the child initializer: wraps the channel, or refuses it once the server has ended.
    func wrap(_ channel: any Channel) throws -> Connection {
        try state.withLock { s in
            guard !s.closed else { throw ServerEnded() }
            let connection = try Connection(wrappingChannelSynchronously: channel)
            s.waiting[ObjectIdentifier(channel)] = connection
            return connection
        }
    }

    /// A client task takes the connection: from here on it finishes it (`executeThenClose`).
    func take(_ connection: Connection) {
        _ = state.withLock { $0.waiting.removeValue(forKey: ObjectIdentifier(connection.channel)) }
    }

    /// The server ended: no more connections, and those accepted but never served are closed.
    func closeUnserved() async {
        let left = state.withLock { s in
            s.closed = true
            defer { s.waiting = [:] }
            return Array(s.waiting.values)
        }
        for connection in left {
            try? await connection.executeThenClose { _, _ in }
        }
    }
}
