import FerruleProtocol
import Foundation

/// Fans events out to every subscriber. A subscriber that falls behind loses its oldest events,
/// never slows the engine.
public actor EventBus {
    private var subscribers: [UUID: AsyncStream<StationEvent>.Continuation] = [:]

    public init() {}

    public func subscribe(buffer: Int = 4096) -> AsyncStream<StationEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<StationEvent>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        continuation.onTermination = { _ in Task { await self.remove(id) } }
        subscribers[id] = continuation
        return stream
    }

    public func publish(_ event: StationEvent) {
        for c in subscribers.values { c.yield(event) }
    }

    public func finish() {
        for c in subscribers.values { c.finish() }
        subscribers = [:]
    }

    private func remove(_ id: UUID) { subscribers[id] = nil }
}
