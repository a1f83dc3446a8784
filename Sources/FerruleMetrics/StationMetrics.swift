import CoreMetrics
import FerruleCore
import FerruleProtocol
import FerruleConfig
import FerruleStation
import Foundation
import Prometheus
import ServiceLifecycle
import Synchronization

/// The station's figures for Prometheus. Counters and histograms follow the event bus (units,
/// cycle and step times, instrument faults); gauges are read from the station's status when
/// Prometheus scrapes (references, cords, sinks, store, units in progress), so that they are never
/// stale and cost nothing between scrapes. Instruments' round-trip times come from the drivers
/// themselves, through the process-wide swift-metrics system that ferruled bootstraps with the same
/// factory.
public final class StationMetrics: Service, Sendable {
    let station: Station
    public let factory: DocumentedMetricsFactory
    private let tally = Mutex(UnitTally())

    public init(station: Station, factory: DocumentedMetricsFactory) {
        self.station = station
        self.factory = factory
    }

    public func run() async throws {
        let events = await station.events.subscribe(buffer: 1 << 14)
        for await event in events.cancelOnGracefulShutdown() {
            take(event, at: ContinuousClock.now)
        }
        // The station stops first and ends its event bus: stay until the group says stop, or
        // the group would take this service's end for a failure.
        try? await gracefulShutdown()
    }

    /// The text Prometheus reads at `/metrics` (exposition format 0.0.4).
    public func exposition() async -> String {
        await refreshGauges()
        return factory.registry.emitToString()
    }

    func take(_ event: StationEvent, at now: ContinuousClock.Instant) {
        switch event {
        case .unitStarted(let fixture, _, let part, let reportId):
            tally.withLock { $0.started(reportId, fixture: fixture, part: part, at: now) }
        case .step(let fixture, _, _, _, _, _, _, _, _):
            if let elapsed = tally.withLock({ $0.stepped(fixture: fixture, at: now) }) {
                timer(MetricsCatalog.stepSeconds, [("fixture", String(fixture))]).recordNanoseconds(elapsed.nanoseconds)
            }
        case .unitHeld(_, _, let reportId, _, _):
            recordCycle(tally.withLock { $0.measured(reportId, at: now) })
        case .unitFinished(_, _, let reportId, let verdict, _, _):
            let done = tally.withLock { $0.finished(reportId, at: now) }
            recordCycle(done.cycle)
            counter(MetricsCatalog.unitsTotal, [("part_number", done.part), ("verdict", verdict.rawValue)]).increment()
        case .instrumentFault(let instrument, _):
            counter(MetricsCatalog.instrumentFaults, [("instrument", instrument)]).increment()
        case .routeChecked(_, _, let outcome, _):
            counter(MetricsCatalog.routeChecks, [("outcome", outcome.rawValue)]).increment()
        case .trendAlarm(let part, let position, let wavelength, _):
            let labels = [("part_number", part), ("position", String(position)), ("wavelength_nm", String(wavelength))]
            counter(MetricsCatalog.trendAlarms, labels).increment()
        case .fixtureYieldAlarm(let fixture, _):
            counter(MetricsCatalog.fixtureYieldAlarms, [("fixture", String(fixture))]).increment()
        default:
            break
        }
    }

    private func recordCycle(_ cycle: (part: String, elapsed: Duration)?) {
        guard let cycle else { return }
        timer(MetricsCatalog.cycleSeconds, [("part_number", cycle.part)]).recordNanoseconds(cycle.elapsed.nanoseconds)
    }

    func refreshGauges() async {
        let status = await station.status()
        let now = Date()
        var inProgress = 0
        for f in status.fixtures {
            let fixture = [("fixture", String(f.id))]
            if let u = f.unit, u.state == .testing { inProgress += 1 }
            if let taken = f.reference.takenAt {
                gauge(MetricsCatalog.referenceAge, fixture).record(now.timeIntervalSince(taken))
            }
            gauge(MetricsCatalog.referenceValid, fixture).record(f.reference.state == .valid ? 1 : 0)
            for c in f.cords {
                let cord = fixture + [("cord", c.id), ("role", c.role.rawValue)]
                gauge(MetricsCatalog.cordMatings, cord).record(c.matings)
                gauge(MetricsCatalog.cordMatingsLimit, cord).record(c.maxMatings)
            }
        }
        gauge(MetricsCatalog.unitsInProgress, []).record(inProgress)
        gauge(MetricsCatalog.storeBytes, []).record(status.storage.sizeBytes)
        if let free = status.storage.freeBytes { gauge(MetricsCatalog.storeFreeBytes, []).record(free) }
        // A store that cannot be read just now leaves the runners' own counts.
        let queues = (try? await station.delivery.queues(parked: false)) ?? []
        let backlog = Dictionary(queues.map { ($0.status.name, $0) }, uniquingKeysWith: { a, _ in a })
        for s in status.sinks {
            let sink = [("sink", s.name)]
            let waiting = backlog[s.name]
            gauge(MetricsCatalog.outboxBacklog, sink).record(waiting?.waiting ?? s.pending)
            gauge(MetricsCatalog.outboxParked, sink).record(s.parked)
            gauge(MetricsCatalog.sinkFailing, sink).record(s.failing == nil ? 0 : 1)
            let age = waiting?.oldestWaitingSince.map { max(0, now.timeIntervalSince($0)) } ?? 0
            gauge(MetricsCatalog.outboxOldest, sink).record(age)
        }
    }

    private func counter(_ m: MetricDefinition, _ labels: [(String, String)]) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: m.name, dimensions: labels, factory: factory)
    }

    private func gauge(_ m: MetricDefinition, _ labels: [(String, String)]) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: m.name, dimensions: labels, factory: factory)
    }

    private func timer(_ m: MetricDefinition, _ labels: [(String, String)]) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: m.name, dimensions: labels, factory: factory)
    }
}

/// Units under way, for their cycle and step times: when each started, its part number, and
/// each fixture's last step.
struct UnitTally {
    private var units: [UUID: (fixture: Int, part: String, startedAt: ContinuousClock.Instant, measured: Bool)] = [:]
    private var lastStep: [Int: ContinuousClock.Instant] = [:]

    mutating func started(_ id: UUID, fixture: Int, part: String, at now: ContinuousClock.Instant) {
        units[id] = (fixture, part, now, false)
        lastStep[fixture] = now
    }

    /// Time since the fixture's previous step (or its unit's start); nil when no unit was seen starting.
    mutating func stepped(fixture: Int, at now: ContinuousClock.Instant) -> Duration? {
        defer { lastStep[fixture] = now }
        return lastStep[fixture].map { now - $0 }
    }

    /// The unit is measured (its record held, or committed): its cycle time, once.
    mutating func measured(_ id: UUID, at now: ContinuousClock.Instant) -> (part: String, elapsed: Duration)? {
        guard let u = units[id], !u.measured else { return nil }
        units[id]?.measured = true
        lastStep[u.fixture] = nil
        return (u.part, now - u.startedAt)
    }

    /// The unit's record is committed: its part number (`unknown` when it started before the
    /// daemon did, an interrupted unit) and its cycle time unless already counted.
    mutating func finished(_ id: UUID, at now: ContinuousClock.Instant) -> (part: String, cycle: (part: String, elapsed: Duration)?) {
        let cycle = measured(id, at: now)
        defer { units[id] = nil }
        return (units[id]?.part ?? "unknown", cycle)
    }
}
