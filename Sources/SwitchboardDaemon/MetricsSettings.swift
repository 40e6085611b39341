/// The `metrics` object of the configuration: where the daemon serves `GET /metrics` in Prometheus' text format.
public struct MetricsSettings: Sendable, Hashable {
    /// Where a packaged daemon serves metrics when the object gives no port: 9184.
    public static let defaultPort = 9184

    /// `metrics.bind`: the address to listen on. Default `127.0.0.1`; the endpoint has no authentication, so bind
    /// it to an address only the Prometheus server reaches.
    public var bind: String
    /// `metrics.port`: the TCP port. Default 9184; 0 picks a free port, which the daemon logs when it starts.
    public var port: Int

    /// Creates metrics settings.
    public init(bind: String = "127.0.0.1", port: Int = MetricsSettings.defaultPort) {
        self.bind = bind
        self.port = port
    }
}
