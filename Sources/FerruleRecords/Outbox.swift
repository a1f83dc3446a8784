import FerruleCore
import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// What one delivery attempt came to.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// Try again later (network down, share unmounted, 5xx, timeout).
    case retry(String)
    /// The receiver refused this record for good (4xx): set aside with the reason, shown to the
    /// operator, and the queue moves on.
    case park(String)
}

/// Somewhere results go. Deliveries are at least once: `deliver` must be idempotent by the
/// report id (a crash between delivering and recording it repeats the delivery).
public protocol Sink: Sendable {
    var name: String { get }
    var kind: SinkKind { get }
    func deliver(_ report: UnitReport) async -> DeliveryOutcome
    /// Whether the sink also carries the line's messages as they happen (`LineMessage`: a unit
    /// started, a reference, a fault); those sinks get them in order, before later reports.
    var carriesLineMessages: Bool { get }
    /// Delivers one line message; idempotent by `message.id`. Called only if `carriesLineMessages`.
    func deliver(_ message: LineMessage) async -> DeliveryOutcome
    func shutdown() async
}

extension Sink {
    public var carriesLineMessages: Bool { false }
    public func deliver(_ message: LineMessage) async -> DeliveryOutcome { .delivered }
    public func shutdown() async {}
}

/// How a delivery was settled, as the store records it and `ferrulectl report` shows it.
public enum DeliveryState: String, Sendable, Codable, Hashable {
    case delivered
    /// Refused for good by the receiver, with its reason; waits for an engineer.
    case parked

    /// A settled attempt: parked when the receiver gave a reason to refuse it.
    init(parkedReason: String?) { self = parkedReason == nil ? .delivered : .parked }
}

/// Which sink has a report, and how.
public struct DeliveryRecord: Sendable, Codable, Hashable {
    public var sink: String
    public var state: DeliveryState
    /// Why it was parked.
    public var detail: String?
}

/// A report a sink refused for good, with why; shown until an engineer deals with it.
public struct ParkedDelivery: Sendable, Codable, Hashable {
    public var sink: String
    public var reportId: UUID
    public var serial: String
    public var reason: String
    public var at: Date
}

extension Store {
    /// The first outbox entry past the sink's cursor.
    func next(for sink: String) async throws(StoreError) -> (seq: Int64, reportId: UUID)? {
        try await readOnly("read the outbox") { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT seq, reportId FROM outbox WHERE seq > COALESCE((SELECT seq FROM sinkCursor WHERE sink = ?), 0) ORDER BY seq \
                    LIMIT 1
                    """, arguments: [sink])
            return try row.map { (seq: $0["seq"] as Int64, reportId: try $0.reportId()) }
        }
    }

    /// Records a delivery (or a parked record) and moves the sink's cursor past it, together.
    func settle(sink: String, seq: Int64, reportId: UUID, parked: String?, attempts: Int, at: Date) async throws(StoreError) {
        try await transaction("record a delivery") { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO delivery (sink, reportId, state, attempts, detail, at) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    sink, reportId.uuidString.lowercased(), DeliveryState(parkedReason: parked).rawValue, attempts, parked,
                    at.timeIntervalSince1970
                ])
            try db.execute(
                sql: """
                    INSERT INTO sinkCursor (sink, seq) VALUES (?, ?) ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq
                    """, arguments: [sink, seq])
        }
    }

    /// Reports waiting for the sink: new ones past its cursor and those queued again by hand.
    public func pending(for sink: String) async throws(StoreError) -> Int {
        try await readOnly("count the outbox") { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COUNT(*) FROM outbox WHERE seq > COALESCE((SELECT seq FROM sinkCursor WHERE sink = ?), 0)) \
                    + (SELECT COUNT(*) FROM resend WHERE sink = ?)
                    """, arguments: [sink, sink]) ?? 0
        }
    }

    /// When the oldest report still waiting for this sink was finished; nil: none waits. The
    /// first entry past the sink's cursor (the outbox is in commit order): one index step, not a
    /// scan of the backlog, which can be a year long for a sink that never delivered.
    public func oldestWaiting(for sink: String) async throws(StoreError) -> Date? {
        try await readOnly("read the outbox") { db in
            let sql =
                "SELECT u.finishedAt FROM outbox o JOIN unit u ON u.reportId = o.reportId "
                + "WHERE o.seq > COALESCE((SELECT seq FROM sinkCursor WHERE sink = ?), 0) ORDER BY o.seq LIMIT 1"
            return try Double.fetchOne(db, sql: sql, arguments: [sink]).map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Reports the sink refused for good, not queued again since.
    public func parked(sink: String? = nil) async throws(StoreError) -> [ParkedDelivery] {
        try await readOnly("list parked deliveries") { db in
            var sql = """
                SELECT d.*, u.serial FROM delivery d JOIN unit u ON u.reportId = d.reportId WHERE d.state = ? \
                AND NOT EXISTS (SELECT 1 FROM resend r WHERE r.sink = d.sink AND r.reportId = d.reportId)
                """
            var args: [any DatabaseValueConvertible] = [DeliveryState.parked.rawValue]
            if let sink {
                sql += " AND d.sink = ?"
                args.append(sink)
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY d.at", arguments: StatementArguments(args)).map {
                ParkedDelivery(
                    sink: $0["sink"], reportId: try $0.reportId(), serial: $0["serial"], reason: $0["detail"] ?? "",
                    at: Date(timeIntervalSince1970: $0["at"]))
            }
        }
    }

    /// Which sinks have the report, for `ferrulectl report`.
    public func deliveries(of reportId: UUID) async throws(StoreError) -> [DeliveryRecord] {
        let stored = try await storedDeliveries(of: reportId)
        guard stored.isEmpty else { return stored }
        do { return try archive.deliveries(of: reportId) ?? [] } catch {
            throw StoreError(operation: "read the archive", path: archive.directory, underlying: Self.words(error))
        }
    }

    private func storedDeliveries(of reportId: UUID) async throws(StoreError) -> [DeliveryRecord] {
        try await readOnly("read deliveries") { db in
            try Row.fetchAll(
                db, sql: "SELECT sink, state, detail FROM delivery WHERE reportId = ? ORDER BY sink",
                arguments: [reportId.uuidString.lowercased()]
            )
            .map { row in
                let state: String = row["state"]
                guard let known = DeliveryState(rawValue: state) else {
                    throw DatabaseError(message: "delivery state '\(Escaped.text(state))' is not delivered or parked")
                }
                return DeliveryRecord(sink: row["sink"], state: known, detail: row["detail"])
            }
        }
    }
}

/// Where a report to deliver came from: the outbox (at this sequence number) or the sink's
/// queue of reports sent again by hand.
enum QueueEntry: Sendable {
    case outbox(Int64)
    case again
}

/// Follows the outbox for one sink: delivers in order, retries with exponential backoff
/// (base doubling up to `maxBackoff`), parks what the receiver refuses, and keeps its cursor
/// in the store, so that a restart resumes where it stopped and nothing is skipped. Reports
/// queued again by hand (`Store.queueAgain`) go first. A `Service`:
/// ferruled runs one per sink in its service group; on shutdown it stops between deliveries.
public actor SinkRunner: Service {
    public nonisolated let sink: any Sink
    let store: Store
    let logger: Logger
    let baseBackoff: Duration
    let maxBackoff: Duration
    let onChange: @Sendable (SinkStatus) async -> Void
    private var status: SinkStatus
    /// Fired for each new record in the outbox and each report queued again.
    private nonisolated let kick = Kick()
    /// The line messages delivered lately (the last 256), and those waiting to hear of one.
    private var deliveredLineIds: [UUID] = []
    private let lineWaiters = Waiters()

    public init(
        sink: any Sink, store: Store, logger: Logger, baseBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(60),
        onChange: @escaping @Sendable (SinkStatus) async -> Void = { _ in }
    ) {
        self.sink = sink
        self.store = store
        self.logger = logger
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
        self.onChange = onChange
        status = SinkStatus(name: sink.name, kind: sink.kind, pending: 0, parked: 0, attempts: 0)
    }

    /// A new record is in the outbox, or one was queued again.
    public nonisolated func wake() { kick.fire() }

    public func currentStatus() -> SinkStatus { status }

    /// Returns when the line message `id` is delivered (true) or after `timeout` (false): the
    /// station gives the broker this long to take a unit's WorkStarted before any light.
    public func awaitLineMessage(_ id: UUID, timeout: Duration) async -> Bool {
        if deliveredLineIds.contains(id) { return true }
        if status.failing != nil { return false }  // the broker is away: no unit waits for it
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitForLineMessage(id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func waitForLineMessage(_ id: UUID) async -> Bool {
        // Woken at every line message delivered: this one may still be behind others.
        while !deliveredLineIds.contains(id), !Task.isCancelled {
            await lineWaiters.wait { deliveredLineIds.contains(id) }
        }
        return deliveredLineIds.contains(id)
    }

    func countAttempt() { status.attempts += 1 }

    func deliveredLineMessage(_ id: UUID) {
        if status.failing != nil { logger.notice("\(sink.name): delivering again", metadata: ["sink": "\(sink.name)"]) }
        status.failing = nil
        status.failingSince = nil
        status.attempts = 0
        deliveredLineIds.append(id)
        if deliveredLineIds.count > 256 { deliveredLineIds.removeFirst(deliveredLineIds.count - 256) }
        lineWaiters.resumeAll()
    }

    /// Delivers until graceful shutdown or cancellation, then closes the sink's connections.
    public func run() async {
        await cancelWhenGracefulShutdown { await self.deliverUntilCancelled() }
        await sink.shutdown()
    }

    /// Looks at the queue once at start (what the outbox held before this process) and then at
    /// each wake; no periodic look: every writer of the outbox wakes the runners.
    private func deliverUntilCancelled() async {
        status.parked = (try? await store.parked(sink: sink.name).count) ?? 0
        kick.fire()
        for await _ in kick.wakes {
            await deliverWhatIsQueued()
            status.attempts = 0
            await onChange(status)
        }
    }

    /// Delivers until the queue is empty or the task is cancelled.
    private func deliverWhatIsQueued() async {
        if sink.carriesLineMessages { await deliverLineMessages() }
        while !Task.isCancelled {
            let next: (entry: QueueEntry, reportId: UUID)?
            do {
                if let again = try await store.nextResend(for: sink.name) {
                    next = (.again, again)
                } else {
                    next = try await store.next(for: sink.name).map { (.outbox($0.seq), $0.reportId) }
                }
            } catch {
                await fail("the results store: \(error)")
                try? await Task.sleep(for: backoff())
                continue
            }
            status.pending = (try? await store.pending(for: sink.name)) ?? status.pending
            // Queuing a report again takes it off the parked list: counted anew when one comes up.
            if case .again? = next?.entry { status.parked = (try? await store.parked(sink: sink.name).count) ?? status.parked }
            await onChange(status)  // current while a delivery is on its way, not only once idle
            guard let next else { return }
            await deliver(next.entry, next.reportId)
        }
    }

    private func settle(_ entry: QueueEntry, _ id: UUID, parked: String?) async throws(StoreError) {
        switch entry {
        case .outbox(let seq):
            try await store.settle(sink: sink.name, seq: seq, reportId: id, parked: parked, attempts: status.attempts, at: Date())
        case .again:
            try await store.settleResend(sink: sink.name, reportId: id, parked: parked, attempts: status.attempts, at: Date())
        }
    }

    private func deliver(_ entry: QueueEntry, _ id: UUID) async {
        let report: UnitReport?
        do { report = try await store.report(id) } catch {
            await fail("cannot read report \(id): \(error)")
            try? await Task.sleep(for: backoff())
            return
        }
        guard let report else {
            // Cannot happen (the outbox refers to committed units); never block the queue on it.
            try? await settle(entry, id, parked: "the stored record is missing")
            return
        }
        status.attempts += 1
        await onChange(status)
        switch await sink.deliver(report) {
        case .delivered:
            do { try await settle(entry, id, parked: nil) } catch {
                // Delivered but not recorded: it will be delivered again (idempotent by report id).
                await fail("delivered \(report.unit.serial) but could not record it: \(error)")
                try? await Task.sleep(for: backoff())
                return
            }
            if status.failing != nil { logger.notice("\(sink.name): delivering again", metadata: ["sink": "\(sink.name)"]) }
            status.failing = nil
            status.failingSince = nil
            status.attempts = 0
            status.pending = max(0, status.pending - 1)
            status.lastDeliveredAt = Date()
        case .park(let why):
            logger.error("\(sink.name) refused \(report.unit.serial) (report \(id)): \(why); parked", metadata: ["sink": "\(sink.name)"])
            try? await settle(entry, id, parked: why)
            status.parked += 1
            status.attempts = 0
        case .retry(let why):
            await fail("\(report.unit.serial): \(why)")
            try? await Task.sleep(for: backoff())
        }
        await onChange(status)
    }

    func fail(_ why: String) async {
        if status.failing == nil {
            status.failingSince = Date()
            logger.warning("\(sink.name) cannot deliver: \(why); retrying", metadata: ["sink": "\(sink.name)"])
        }
        status.failing = why
        await onChange(status)
    }

    func backoff() -> Duration {
        let n = min(max(status.attempts - 1, 0), 20)
        let d = baseBackoff * (1 << n)
        return d < maxBackoff ? d : maxBackoff
    }
}
