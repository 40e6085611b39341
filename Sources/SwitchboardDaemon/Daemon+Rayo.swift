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
                eventLoopGroup: eventLoopGroup
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
}
