import CoreMetrics

/// Where a listener records its metrics (``SwitchboardMetric``) and under which `listener` label.
///
/// ```swift
/// var configuration = InboundConfiguration(port: 8021)
/// configuration.metrics = MetricsOptions(listener: "events", factory: myPrometheusFactory)
/// ```
public struct MetricsOptions: Sendable {
    /// The value of the `listener` label on every series the listener records.
    public var listener: String
    /// The swift-metrics backend; `nil` takes `MetricsSystem.factory` when the listener is created (the no-op
    /// backend unless the program bootstrapped one).
    public var factory: (any MetricsFactory)?

    /// Creates options.
    public init(listener: String, factory: (any MetricsFactory)? = nil) {
        self.listener = listener
        self.factory = factory
    }
}
