import FerruleAMQP
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

    /// Runners for `sinks` (the configured ones when nil), reading the outbox of `store`.
    init(
        sinks: [any Sink]?, config: StationConfig, store: Store, events: EventBus, logger: Logger, baseBackoff: Duration
    ) {
        let list = sinks ?? config.sinks.map { Self.makeSink($0, config: config, logger: logger) }
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

    static func makeSink(_ s: SinkSpec, config: StationConfig, logger: Logger) -> any Sink {
        let timeout = Duration.milliseconds(Int64(s.timeoutSeconds * 1000))
        switch s.destination {
        case .directory(let d):
            return DirectorySink(name: s.name, path: d.path, formats: d.formats, stationId: config.stationId, certificate: config.certificate)
        case .http(let h):
            return HTTPSink(name: s.name, url: h.url, format: h.format, tokenFile: h.tokenFile, timeout: timeout, certificate: config.certificate)
        case .cfxAMQP(let c):
            return CFXAMQPSink(
                name: s.name, host: c.host, port: c.port, address: c.address, handle: c.handle ?? "ferrule.\(config.stationId)",
                user: c.user, passwordFile: c.passwordFile, timeout: timeout)
        case .zplLabel(let l):
            var templates: [String: LabelTemplate] = [:]
            for (part, text) in l.templates {
                guard let t = try? LabelTemplate(text: text, source: "label template of \(part)") else {
                    return UnavailableSink(name: s.name, kind: .zplLabel, why: "the label template of \(part) does not parse")
                }
                templates[part] = t
            }
            return LabelSink(name: s.name, printer: l.printer, printOn: Set(l.printOn), templates: templates, timeout: timeout)
        case .postgres(let pg):
            var password: String?
            if let f = pg.passwordFile {
                guard let p = try? String(contentsOfFile: f, encoding: .utf8) else {
                    return UnavailableSink(name: s.name, kind: .postgres, why: "cannot read the password file \(f)")
                }
                password = p.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            do {
                return try PostgresSink(
                    name: s.name, url: pg.url, password: password, requireTLS: pg.requireTLS, timeout: timeout, logger: logger)
            } catch {
                return UnavailableSink(name: s.name, kind: .postgres, why: "\(error)")
            }
        }
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

/// A configured sink that cannot run (its secret is unreadable): it keeps failing with the
/// reason, visibly, and its reports stay in the outbox until it is fixed and ferruled restarted.
struct UnavailableSink: Sink {
    let name: String
    let kind: SinkKind
    let why: String
    func deliver(_ report: UnitReport) async -> DeliveryOutcome { .retry(why) }
}
