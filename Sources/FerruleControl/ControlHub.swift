import FerruleCore
import Foundation
import Logging
import NIOCore
import Synchronization

/// The connected clients and who subscribed to events, with the limits that keep one client
/// from hurting the station: bytes and messages waiting per client, idle clients, and room for
/// a new client (an operator's `ferrulectl status`) when every place is taken.
actor Hub {
    struct Limits: Sendable {
        var maxClients: Int
        var queueDepth: Int
        var queueBytes: Int
        var idleTimeout: Duration
    }

    final class Client: Sendable {
        private static let counter = Atomic<UInt64>(0)
        /// Unique for the life of the process (an object's address is not: it is reused).
        let id: UInt64 = Client.counter.add(1, ordering: .relaxed).newValue
        let continuation: AsyncStream<ByteBuffer>.Continuation
        let channel: any Channel
        private let state = Mutex(State())

        struct State {
            var queuedBytes = 0
            var lastActive = ContinuousClock.now
            var requestsInFlight = 0
            /// Why the hub dropped it; the writer then stops, says `bye` and closes.
            var dropped: String?
        }

        init(continuation: AsyncStream<ByteBuffer>.Continuation, channel: any Channel) {
            self.continuation = continuation
            self.channel = channel
        }

        /// A request line arrived (`true`) or its reply was queued (`false`).
        func request(started: Bool) {
            state.withLock {
                $0.requestsInFlight += started ? 1 : -1
                $0.lastActive = .now
            }
        }

        /// The writer handed `bytes` to the socket.
        func wrote(_ bytes: Int) {
            state.withLock {
                $0.queuedBytes -= bytes
                $0.lastActive = .now
            }
        }

        var dropReason: String? { state.withLock { $0.dropped } }
        fileprivate func queue(_ bytes: Int) -> Int { state.withLock { $0.queuedBytes += bytes; return $0.queuedBytes } }
        fileprivate func markDropped(_ why: String) { state.withLock { $0.dropped = why } }
        /// How long it has been idle, if it may be closed for it (no request being answered).
        fileprivate var idleFor: Duration? {
            state.withLock { $0.requestsInFlight > 0 ? nil : ContinuousClock.now - $0.lastActive }
        }
    }

    /// A stop waits for this to empty (`untilEmpty`), whichever way the last client leaves.
    private var clients: [UInt64: Client] = [:] {
        didSet { if clients.isEmpty { emptyWaiters.resumeAll() } }
    }
    private let emptyWaiters = Waiters()
    private var subscribers: Set<UInt64> = []
    let limits: Limits
    let logger: Logger

    init(limits: Limits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    /// Takes a new client. When every place is taken, the longest-idle client that is neither
    /// subscribed nor waiting for a reply makes room: a flood of idle connections cannot lock an
    /// operator out, since the newest connection is always the last to go. False if none can.
    func add(_ c: Client) -> Bool {
        if clients.count >= limits.maxClients {
            let idle = clients.values.filter { !subscribers.contains($0.id) }.compactMap { k in k.idleFor.map { (k, $0) } }
            guard let (oldest, _) = idle.max(by: { $0.1 < $1.1 }) else { return false }
            drop(oldest, reason: "closed to make room for a new client: the station serves at most \(limits.maxClients) "
                + "and this connection was idle")
        }
        clients[c.id] = c
        return true
    }

    func remove(_ id: UInt64) {
        clients[id] = nil
        subscribers.remove(id)
    }

    var count: Int { clients.count }

    /// Returns once every client has left (or the waiting task is cancelled).
    func untilEmpty() async { await emptyWaiters.wait { clients.isEmpty } }
    func subscribe(_ id: UInt64) { subscribers.insert(id) }
    func unsubscribe(_ id: UInt64) { subscribers.remove(id) }
    func isSubscribed(_ id: UInt64) -> Bool { subscribers.contains(id) }

    /// Queues a line for one client; too much waiting (messages or bytes) drops the client.
    /// Returns false if dropped.
    func send(_ line: ByteBuffer, to c: Client) -> Bool {
        guard clients[c.id] != nil else { return false }
        let waiting = c.queue(line.readableBytes)
        if waiting > limits.queueBytes {
            drop(c, reason: "too slow: more than \(limits.queueBytes >> 20) MiB of replies and events waiting to be read")
            return false
        }
        if case .dropped = c.continuation.yield(line) {
            drop(c, reason: "too slow: more than \(limits.queueDepth) messages waiting to be read")
            return false
        }
        return true
    }

    /// Closes clients that have sent nothing for `idleTimeout` (or never finished a line),
    /// unless they subscribed to events or wait for a reply.
    func reapIdle() {
        for c in clients.values where !subscribers.contains(c.id) {
            guard let idle = c.idleFor, idle > limits.idleTimeout else { continue }
            drop(c, reason: "idle for \(limits.idleTimeout): no complete request line; subscribe to keep a connection for events")
        }
    }

    /// Server shutdown: every client's queue ends; writers drain what is queued, then close.
    func finishAll() {
        for c in clients.values { c.continuation.finish() }
    }

    /// Server shutdown, after the drain: whoever is still connected is closed.
    func closeAll() {
        for c in clients.values { c.channel.close(promise: nil) }
    }

    /// Sends an event line to every subscriber; `line` is encoded only when there is one.
    func broadcast(_ line: () -> ByteBuffer?) {
        guard !subscribers.isEmpty, let line = line() else { return }
        for id in subscribers { if let c = clients[id] { _ = send(line, to: c) } }
    }

    /// Ends a client: its writer drops what was waiting, sends a last `bye` with the reason and
    /// closes. A client that does not even read that is closed after 10 s.
    private func drop(_ c: Client, reason: String) {
        logger.notice("socket client \(c.id) dropped: \(reason)")
        clients[c.id] = nil
        subscribers.remove(c.id)
        c.markDropped(reason)
        c.continuation.finish()
        let channel = c.channel
        channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
    }
}
