import CoreMetrics
import Logging
import NIOCore
import RayoServer
import ServiceLifecycle
import Switchboard
import SwitchboardDiagnostics

/// The daemon's Rayo parts, when the configuration has a `rayo` object.
struct DaemonRayo: Sendable {
    /// The assembled server (XMPP + Rayo service + console responder).
    let server: RayoServer
    /// What to run, in order: the XMPP server, the Rayo service, then the control socket if configured.
    let services: [any Service]

    /// Builds the Rayo server of `configuration`; logs the clear-text warning when there is no `tls`.
    static func make(
        _ configuration: RayoServerConfiguration,
        status: DaemonStatus,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup,
        metricsFactory: (any MetricsFactory)?,
        onListening: @escaping @Sendable ([SocketAddress]) -> Void
    ) throws -> DaemonRayo {
        var rayoLogger = logger
        rayoLogger[metadataKey: "rayo.domain"] = "\(configuration.domain)"
        let componentLogger = rayoLogger
        if configuration.tls == nil {
            let warning =
                "rayo has no \"tls\": Rayo clients' passwords and all call control travel in clear over XMPP; set "
                + "rayo.tls (certificate, privateKey) to require STARTTLS"
            componentLogger.warning("\(warning)")
        }
        let server: RayoServer
        do {
            server = try RayoServer(
                configuration: configuration,
                logger: componentLogger,
                eventLoopGroup: eventLoopGroup,
                metrics: MetricsOptions(listener: Self.eventSocketLabel, factory: metricsFactory)
            ) { addresses in
                status.rayoListening()
                componentLogger.info(
                    "Rayo XMPP listening on \(addresses.map(\.loggable).joined(separator: ", "))"
                )
                onListening(addresses)
            }
        } catch {
            throw DaemonError(.listenerFailed, "the Rayo server could not be set up: \(error)")
        }
        var services = server.services
        if let control = configuration.control {
            services.append(
                ControlSocket(
                    settings: control,
                    responder: server.console,
                    logger: componentLogger,
                    eventLoopGroup: eventLoopGroup
                )
            )
        }
        return DaemonRayo(server: server, services: services)
    }

    /// `rayo: 2 clients, 5 calls` for systemd's STATUS line.
    var statusText: String { server.service.statusLine }

    /// The `listener` label of the Rayo server's event socket connection.
    static let eventSocketLabel = "rayo-event-socket"

    /// The metrics the daemon records about Rayo itself.
    static let metrics = [clientsConnected, callsActive]

    /// Rayo clients logged in, read when Prometheus scrapes.
    static let clientsConnected = SwitchboardMetric(
        "switchboard_rayo_clients_connected",
        .gauge,
        labels: [],
        help: "Rayo clients logged in to the XMPP server"
    )
    /// Calls the Rayo server knows, read when Prometheus scrapes.
    static let callsActive = SwitchboardMetric(
        "switchboard_rayo_calls_active",
        .gauge,
        labels: [],
        help: "Calls the Rayo server is handling (offered or controlled)"
    )

    /// Sets the Rayo gauges from the server's state; run before each scrape.
    func makeMetricsRefresh(factory: any MetricsFactory) -> @Sendable () -> Void {
        let clients = Gauge(label: Self.clientsConnected.name, factory: factory)
        let calls = Gauge(label: Self.callsActive.name, factory: factory)
        let service = server.service
        return {
            let counts = service.counts
            clients.record(counts.clients)
            calls.record(counts.calls)
        }
    }
}
