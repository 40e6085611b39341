import RayoServer

/// A validated daemon configuration: where to log and which listeners to run.
///
/// Read one from a file with ``ConfigurationLoader``, which checks every key before anything binds:
/// ```swift
/// let configuration = try ConfigurationLoader(registry: registry).load(contentsOf: path)
/// ```
public struct SwitchboardConfiguration: Sendable, Hashable {
    /// Where a packaged daemon reads its configuration: `/etc/switchboard/switchboard.json`.
    public static let defaultPath = "/etc/switchboard/switchboard.json"

    /// The `log` object: destination and level.
    public var log: LogSettings
    /// The `listeners` array, in file order.
    public var listeners: [ListenerSettings]
    /// The `rayo` object: the Rayo server (XMPP c2s + call control), when configured.
    public var rayo: RayoServerConfiguration?
    /// The `metrics` object: where Prometheus scrapes `GET /metrics`; `nil` (the key absent) serves no metrics.
    public var metrics: MetricsSettings?

    /// Creates a configuration.
    public init(
        log: LogSettings = LogSettings(),
        listeners: [ListenerSettings],
        rayo: RayoServerConfiguration? = nil,
        metrics: MetricsSettings? = nil
    ) {
        self.log = log
        self.listeners = listeners
        self.rayo = rayo
        self.metrics = metrics
    }

    /// The inbound listeners, in file order.
    public var inboundListeners: [InboundListenerSettings] {
        listeners.compactMap { if case .inbound(let settings) = $0 { settings } else { nil } }
    }

    /// The outbound listeners, in file order.
    public var outboundListeners: [OutboundListenerSettings] {
        listeners.compactMap { if case .outbound(let settings) = $0 { settings } else { nil } }
    }

    /// One line about the Rayo server for `check-config`, or `nil` without one: `Rayo on rayo.example.com: 1 XMPP
    /// listeners, 2 users, STARTTLS required`.
    public var rayoSummary: String? {
        rayo.map { rayo in
            "Rayo on \(rayo.domain): \(rayo.listeners.count) XMPP listeners, \(rayo.users.count) users"
                + (rayo.tls == nil ? ", no TLS (passwords travel in clear)" : ", STARTTLS required")
        }
    }
}
