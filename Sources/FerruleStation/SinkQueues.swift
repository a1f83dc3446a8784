import FerruleConfig
import FerruleCore
import FerruleRecords
import Foundation

/// One sink's queue as every client reads it (the socket's `sinks`, the web app's delivery page,
/// the metrics): what its runner last said, what waits for it in the store now and since when,
/// and the reports it parked with the receiver's reason.
public struct SinkQueue: Sendable, Encodable {
    public var status: SinkStatus
    /// Reports waiting now (re-sends included), read from the store: the runner's own count is
    /// the one it last saw, and a runner in backoff sees nothing new until it wakes.
    public var waiting: Int
    /// When the oldest waiting report's unit finished.
    public var oldestWaitingSince: Date?
    /// Empty unless asked for.
    public var parkedReports: [ParkedDelivery]

    private enum Keys: String, CodingKey { case waiting, oldestWaitingSince, parkedReports }

    /// The status's own fields with the queue's beside them, one flat object as the protocol documents.
    public func encode(to encoder: any Encoder) throws {
        try status.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(waiting, forKey: .waiting)
        try c.encode(oldestWaitingSince, forKey: .oldestWaitingSince)
        try c.encode(parkedReports, forKey: .parkedReports)
    }
}

extension Delivery {
    /// Every sink's queue (or `sink`'s alone), with its parked reports when `parked`.
    public func queues(sink: String? = nil, parked: Bool = true) async throws(ResendProblem) -> [SinkQueue] {
        if let sink { try known(sink) }
        let store = store
        var out: [SinkQueue] = []
        for status in statuses() where sink == nil || sink == status.name {
            let name = status.name
            let (waiting, oldest) = try await storing { (try await store.pending(for: name), try await store.oldestWaiting(for: name)) }
            let parkedReports = parked ? try await storing { try await store.parked(sink: name) } : []
            out.append(SinkQueue(status: status, waiting: waiting, oldestWaitingSince: oldest, parkedReports: parkedReports))
        }
        return out
    }
}
