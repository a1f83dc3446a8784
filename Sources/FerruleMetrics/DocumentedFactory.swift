import CoreMetrics
import Prometheus

/// A swift-metrics backend over a swift-prometheus registry that gives each metric the help text
/// and buckets of `MetricsCatalog`. swift-prometheus's own factory emits no `# HELP`, which
/// `promtool check metrics` counts as a problem; and a registry refuses one name with two helps.
/// A label the catalog does not know still works, with its name as its help.
public struct DocumentedMetricsFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// A factory made the process's swift-metrics backend, so that what libraries record (the
    /// drivers' round trips) lands in its registry. Once per process, before any driver is made.
    public static func bootstrapped() -> DocumentedMetricsFactory {
        let factory = DocumentedMetricsFactory()
        MetricsSystem.bootstrap(factory)
        return factory
    }

    private func help(_ label: String) -> String { MetricsCatalog.byName[label]?.help ?? label }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(name: label, labels: dimensions, help: help(label)) }
        let buckets = MetricsCatalog.byName[label]?.buckets ?? [1, 10, 100, 1000]
        return registry.makeValueHistogram(name: label, labels: dimensions, buckets: buckets, help: help(label))
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(name: label, labels: dimensions, help: help(label))
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let seconds = MetricsCatalog.byName[label]?.buckets ?? [0.001, 0.01, 0.1, 1, 10]
        let buckets = seconds.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return registry.makeDurationHistogram(name: label, labels: dimensions, buckets: buckets, help: help(label))
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let c = handler as? Prometheus.Counter { registry.unregisterCounter(c) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let c = handler as? Prometheus.Counter { registry.unregisterCounter(c) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        switch handler {
        case let g as Prometheus.Gauge: registry.unregisterGauge(g)
        case let h as ValueHistogram: registry.unregisterValueHistogram(h)
        default: break
        }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let g = handler as? Prometheus.Gauge { registry.unregisterGauge(g) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let h = handler as? DurationHistogram { registry.unregisterDurationHistogram(h) }
    }
}
