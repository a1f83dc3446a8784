import FerruleConfig
import FerruleCore
import FerruleRecords
import Foundation
import Logging
import Synchronization

/// Delivery of stored units to the factory: one `SinkRunner` per configured sink (each a
/// `Service` that ferruled runs in its group) and the board that keeps what each last said.
public struct Delivery: Sendable {
    public let runners: [SinkRunner]
    let board: SinkStatusBoard
    let store: Store
    /// Line messages handed over by synchronous code (an actor's state change), posted in order.
    let lineQueue: LineQueue
    /// Line messages the store refused (it refuses writes): posted, in order, before the next one.
    let unposted = UnpostedLine()

    /// Runners for `sinks` (built by the composition root from the config's sinks, or a test's),
    /// reading the outbox of `store`.
    init(sinks list: [any Sink], config: StationConfig, store: Store, events: EventBus, logger: Logger, baseBackoff: Duration) {
        let board = SinkStatusBoard(
            events: events,
            initial: list.map {
                SinkStatus(name: $0.name, kind: $0.kind, pending: 0, parked: 0, attempts: 0)
            })
        self.board = board
        self.store = store
        lineQueue = LineQueue()
        runners = list.map { sink in
            let spec = config.sinks.first { $0.name == sink.name }
            return SinkRunner(
                sink: sink, store: store, logger: logger, baseBackoff: baseBackoff,
                maxBackoff: .milliseconds(Int64((spec?.maxBackoffSeconds ?? 60) * 1000))
            ) { status in await board.changed(status) }
        }
    }

    /// A new record is in the outbox.
    func wake() { for r in runners { r.wake() } }

    /// Posts a line message (a reference, a fault, an operator) and wakes the runners. A store
    /// that refuses it is logged and the station goes on; the message waits in memory and is
    /// posted before the next one the store takes (a store that refused writes and takes them
    /// again is told to the line that way, FaultOccurred first).
    func post(_ message: LineMessage, logger: Logger) async {
        let waiting = unposted.takeAll() + [message]
        for (i, m) in waiting.enumerated() {
            do { try await store.post(m) } catch {
                let dropped = unposted.putBack(Array(waiting[i...]))
                logger.error("the line is not told of \(m.moment) yet, the store refuses it: \(error)")
                if dropped > 0 { logger.error("\(dropped) line message(s) dropped: more than \(UnpostedLine.limit) wait") }
                break
            }
        }
        wake()
    }

    /// Queues `message` to be posted after those queued before it: for a moment noticed where
    /// nothing can wait (a property's didSet). Lost with the process if it dies first: these
    /// moments are news of a state, and the state is told again at the next change.
    func postInOrder(_ message: LineMessage, logger: Logger) {
        lineQueue.add { await self.post(message, logger: logger) }
    }

    /// Gives every sink that carries line messages up to `timeout` to deliver `id` (a sink that is
    /// failing is not waited for: the message stays queued for it). True when all did.
    func awaitLineMessage(_ id: UUID, timeout: Duration) async -> Bool {
        let carriers = runners.filter { $0.sink.carriesLineMessages }
        return await withTaskGroup(of: Bool.self) { group in
            for r in carriers { group.addTask { await r.awaitLineMessage(id, timeout: timeout) } }
            var all = true
            for await delivered in group { all = all && delivered }
            return all
        }
    }

    public func statuses() -> [SinkStatus] { board.all() }
}

/// Line messages waiting for the store to take writes again, oldest first, at most `limit`
/// (the oldest are kept: a fault's FaultOccurred matters more than the moments after it).
final class UnpostedLine: Sendable {
    static let limit = 1000
    private let waiting = Mutex<[LineMessage]>([])

    func takeAll() -> [LineMessage] { waiting.withLock { w in defer { w = [] }; return w } }

    /// Puts `messages` back before any that came meanwhile; returns how many did not fit.
    func putBack(_ messages: [LineMessage]) -> Int {
        waiting.withLock { w in
            let all = messages + w
            w = Array(all.prefix(Self.limit))
            return all.count - w.count
        }
    }
}

/// What each sink last said, for status (read without waiting); a change of failing or parked
/// is published as an event.
final class SinkStatusBoard: Sendable {
    private let statuses: Mutex<[String: SinkStatus]>
    private let events: EventBus

    init(events: EventBus, initial: [SinkStatus]) {
        self.events = events
        statuses = Mutex(Dictionary(initial.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }))
    }

    func changed(_ st: SinkStatus) async {
        let before = statuses.withLock { all in
            defer { all[st.name] = st }
            return all[st.name]
        }
        if before?.failing != st.failing || (before?.parked ?? 0) != st.parked {
            await events.publish(.delivery(sink: st.name, pending: st.pending, parked: st.parked, failing: st.failing))
        }
    }

    func all() -> [SinkStatus] { statuses.withLock { $0.values.sorted { $0.name < $1.name } } }
}

/// Runs the posts handed to it one after the other, in the order they were handed over.
final class LineQueue: Sendable {
    private let continuation: AsyncStream<@Sendable () async -> Void>.Continuation

    init() {
        let (stream, continuation) = AsyncStream<@Sendable () async -> Void>.makeStream()
        self.continuation = continuation
        Task { for await post in stream { await post() } }
    }

    func add(_ post: @escaping @Sendable () async -> Void) { continuation.yield(post) }

    /// Returns once every post queued before it is done.
    func drain() async { await withCheckedContinuation { c in add { c.resume() } } }

    deinit { continuation.finish() }
}
