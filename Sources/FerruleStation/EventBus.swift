import FerruleConfig
import FerruleCore
import FerruleProtocol
import Foundation

/// Fans events out to every subscriber. A subscriber that falls behind loses its oldest events,
/// never slows the engine.
public actor EventBus {
    private var subscribers: [UUID: AsyncStream<StationEvent>.Continuation] = [:]
    /// Subscribers that also want the moment each event was published (the web app, to measure lag).
    private var stamped: [UUID: AsyncStream<Stamped>.Continuation] = [:]

    /// An event with the wall-clock time it was published.
    public struct Stamped: Sendable {
        public var at: Date
        public var event: StationEvent
    }

    public init() {}

    public func subscribe(buffer: Int = 4096) -> AsyncStream<StationEvent> {
        stream(buffer: buffer) { subscribers[$0] = $1 }
    }

    /// `subscribe`, each event with the time it was published.
    public func subscribeStamped(buffer: Int = 4096) -> AsyncStream<Stamped> {
        stream(buffer: buffer) { stamped[$0] = $1 }
    }

    /// A new subscriber's stream, kept by `keep` under an id that is forgotten when the stream ends.
    private func stream<T>(buffer: Int, keep: (UUID, AsyncStream<T>.Continuation) -> Void) -> AsyncStream<T> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<T>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        continuation.onTermination = { _ in Task { await self.remove(id) } }
        keep(id, continuation)
        return stream
    }

    public func publish(_ event: StationEvent) {
        for c in subscribers.values { c.yield(event) }
        if !stamped.isEmpty {
            let now = Stamped(at: Date(), event: event)
            for c in stamped.values { c.yield(now) }
        }
    }

    public func finish() {
        for c in subscribers.values { c.finish() }
        for c in stamped.values { c.finish() }
        subscribers = [:]
        stamped = [:]
    }

    private func remove(_ id: UUID) {
        subscribers[id] = nil
        stamped[id] = nil
    }
}
