import CoreMetrics
import Prometheus
import Switchboard

/// The daemon's metrics: a Prometheus registry, and a swift-metrics factory that records into it.
///
/// The factory gives each of Switchboard's metrics (``Switchboard/SwitchboardMetric``) its `# HELP` text and its
/// histogram buckets; any other metric (from a library the program uses) goes through swift-prometheus' own
/// `PrometheusMetricsFactory` unchanged. The text served on `GET /metrics` is the registry's, written by
/// swift-prometheus.
public struct PrometheusMetrics: Sendable {
    /// Where every series lives.
    public let registry: PrometheusCollectorRegistry
    /// Records into ``registry``; give it to the listeners (`MetricsOptions.factory`) and, in a program, to
    /// `MetricsSystem.bootstrap`.
    public let factory: any MetricsFactory

    /// Creates an empty registry and its factory.
    ///
    /// - Parameter metrics: The metrics to describe; Switchboard's by default.
    public init(describing metrics: [SwitchboardMetric] = SwitchboardMetric.all) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.factory = DescribedMetricsFactory(registry: registry, metrics: metrics)
    }

    /// The registry's current values in Prometheus' text exposition format (version 0.0.4).
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The media type of ``exposition()``.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

/// A `MetricsFactory` over a Prometheus registry that knows the help text and buckets of the metrics it is told
/// about.
struct DescribedMetricsFactory: MetricsFactory {
    private let registry: PrometheusCollectorRegistry
    private let fallback: PrometheusMetricsFactory
    private let metrics: [String: SwitchboardMetric]

    init(registry: PrometheusCollectorRegistry, metrics: [SwitchboardMetric]) {
        self.registry = registry
        self.fallback = PrometheusMetricsFactory(registry: registry)
        self.metrics = Dictionary(metrics.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func descriptor(_ metric: SwitchboardMetric) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: metric.name, unitName: "", helpText: metric.help)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        guard let metric = metrics[label] else { return fallback.makeCounter(label: label, dimensions: dimensions) }
        return registry.makeCounter(descriptor: descriptor(metric), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        guard let metric = metrics[label] else {
            return fallback.makeFloatingPointCounter(label: label, dimensions: dimensions)
        }
        return registry.makeCounter(descriptor: descriptor(metric), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard let metric = metrics[label], !aggregate else {
            return fallback.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }
        return registry.makeGauge(descriptor: descriptor(metric), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        guard let metric = metrics[label] else { return fallback.makeMeter(label: label, dimensions: dimensions) }
        return registry.makeGauge(descriptor: descriptor(metric), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard let metric = metrics[label], !metric.buckets.isEmpty else {
            return fallback.makeTimer(label: label, dimensions: dimensions)
        }
        return registry.makeDurationHistogram(
            descriptor: descriptor(metric),
            labels: dimensions,
            buckets: metric.buckets.map { Duration.seconds($0) }
        )
    }

    func destroyCounter(_ handler: any CounterHandler) { fallback.destroyCounter(handler) }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        fallback.destroyFloatingPointCounter(handler)
    }

    func destroyRecorder(_ handler: any RecorderHandler) { fallback.destroyRecorder(handler) }

    func destroyMeter(_ handler: any MeterHandler) { fallback.destroyMeter(handler) }

    func destroyTimer(_ handler: any TimerHandler) { fallback.destroyTimer(handler) }
}
