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

    public func statuses() -> [SinkStatus] { board.all() }

    /// What waits for each sink, read from the store now (the status board's count is the one its
    /// runner last saw, and a runner in backoff sees nothing new until it wakes). A sink whose
    /// outbox cannot be read just now is absent.
    public func backlog() async -> [String: SinkBacklog] {
        var backlog: [String: SinkBacklog] = [:]
        for r in runners {
            let name = r.sink.name
            do {
                let waiting = try await store.pending(for: name)
                backlog[name] = SinkBacklog(waiting: waiting, oldestFinishedAt: try await store.oldestWaiting(for: name))
            } catch {
                continue
            }
        }
        return backlog
    }
}

/// Reports waiting for one sink: how many (re-sends included), and when the oldest was finished.
public struct SinkBacklog: Sendable {
    public var waiting: Int
    public var oldestFinishedAt: Date?
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
