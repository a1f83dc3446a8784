import Foundation

/// What kind of destination a sink is; its config key `sinks[].kind`.
public enum SinkKind: String, Sendable, Codable, Hashable, CaseIterable {
    case directory, http, postgres
    case cfxAMQP = "cfx-amqp"
    case zplLabel = "zpl-label"
}

/// How one destination of reports (a sink: a share, the MES, a database) is keeping up:
/// what is still to deliver, what it refused, and whether it is failing now.
public struct SinkStatus: Sendable, Codable, Hashable {
    public var name: String
    public var kind: SinkKind
    /// Records not yet delivered (the one being retried included).
    public var pending: Int
    public var parked: Int
    /// Set while the sink is retrying: what went wrong last, and since when.
    public var failing: String?
    public var failingSince: Date?
    public var attempts: Int
    public var lastDeliveredAt: Date?

    public init(name: String, kind: SinkKind, pending: Int, parked: Int, failing: String? = nil, failingSince: Date? = nil,
                attempts: Int, lastDeliveredAt: Date? = nil) {
        self.name = name
        self.kind = kind
        self.pending = pending
        self.parked = parked
        self.failing = failing
        self.failingSince = failingSince
        self.attempts = attempts
        self.lastDeliveredAt = lastDeliveredAt
    }
}
