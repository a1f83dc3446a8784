import FerruleDevices

/// Every figure ferruled exposes, with the help text Prometheus shows and, for histograms, the
/// buckets. One list, so that the table in docs/integration.md and `promtool check metrics` see the same names.
public struct MetricDefinition: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public var name: String
    public var kind: Kind
    public var help: String
    /// Histogram bucket bounds, in the metric's unit (seconds for `_seconds`).
    public var buckets: [Double] = []
}

public enum MetricsCatalog {
    public static let unitsTotal = MetricDefinition(
        name: "ferrule_units_total", kind: .counter,
        help: "Units finished since the daemon started, by part number and verdict (pass, fail, error, aborted).")
    public static let cycleSeconds = MetricDefinition(
        name: "ferrule_cycle_seconds", kind: .histogram,
        help: "Time from a unit's start to its verdict, by part number.",
        buckets: [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600])
    public static let stepSeconds = MetricDefinition(
        name: "ferrule_step_seconds", kind: .histogram,
        help: "Time of one measurement step (one fiber at one wavelength), from the previous step or the unit's start.",
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    public static let roundTripSeconds = MetricDefinition(
        name: DeviceMetrics.roundTripLabel, kind: .histogram,
        help: "Time of one exchange with an instrument: a command or query sent and its reply read.",
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])
    public static let instrumentFaults = MetricDefinition(
        name: "ferrule_instrument_faults_total", kind: .counter,
        help: "Instrument faults since the daemon started (no reply, an error reply, a lost connection).")
    public static let routeChecks = MetricDefinition(
        name: "ferrule_route_checks_total", kind: .counter,
        help: "The MES's route checks before units, by outcome (allowed, refused, unavailableRefused, notChecked).")
    public static let trendAlarms = MetricDefinition(
        name: "ferrule_trend_alarms_total", kind: .counter,
        help: "Rising-IL alarms (CUSUM over each part number, fiber position and wavelength) since the daemon started.")
    public static let fixtureYieldAlarms = MetricDefinition(
        name: "ferrule_fixture_yield_alarms_total", kind: .counter,
        help: "Fixtures failing more units than the station's other fixtures beyond chance, since the daemon started.")
    public static let referenceAge = MetricDefinition(
        name: "ferrule_reference_age_seconds", kind: .gauge,
        help: "Age of the fixture's newest reference; absent while it has none.")
    public static let referenceValid = MetricDefinition(
        name: "ferrule_reference_valid", kind: .gauge,
        help: "1 while the fixture's reference is valid, 0 when it is missing, expired or suspect.")
    public static let cordMatings = MetricDefinition(
        name: "ferrule_cord_matings", kind: .gauge,
        help: "Matings of a fixture's test or reference cord since it was last cleaned or replaced.")
    public static let cordMatingsLimit = MetricDefinition(
        name: "ferrule_cord_matings_limit", kind: .gauge,
        help: "The number of matings after which the cord must be cleaned or replaced.")
    public static let outboxBacklog = MetricDefinition(
        name: "ferrule_outbox_backlog", kind: .gauge,
        help: "Reports waiting for delivery to the sink, the one being retried included.")
    public static let outboxParked = MetricDefinition(
        name: "ferrule_outbox_parked", kind: .gauge,
        help: "Reports the sink's receiver refused, parked until someone sends them again.")
    public static let outboxOldest = MetricDefinition(
        name: "ferrule_outbox_oldest_undelivered_seconds", kind: .gauge,
        help: "Age of the oldest report still waiting for the sink (from its unit's finish); 0 when none waits.")
    public static let sinkFailing = MetricDefinition(
        name: "ferrule_sink_failing", kind: .gauge,
        help: "1 while the sink's last delivery attempt failed and it is retrying, else 0.")
    public static let storeBytes = MetricDefinition(
        name: "ferrule_store_bytes", kind: .gauge,
        help: "Size of the results store (SQLite database and its write-ahead log) on disk.")
    public static let storeFreeBytes = MetricDefinition(
        name: "ferrule_store_free_bytes", kind: .gauge,
        help: "Free space on the file system of the results store.")
    public static let unitsInProgress = MetricDefinition(
        name: "ferrule_units_in_progress", kind: .gauge,
        help: "Units being tested now, over all fixtures.")

    public static let all: [MetricDefinition] = [
        unitsTotal, cycleSeconds, stepSeconds, roundTripSeconds, instrumentFaults, routeChecks, trendAlarms, fixtureYieldAlarms,
        referenceAge, referenceValid, cordMatings, cordMatingsLimit, outboxBacklog, outboxParked, outboxOldest, sinkFailing, storeBytes,
        storeFreeBytes, unitsInProgress,
    ]

    static let byName: [String: MetricDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
