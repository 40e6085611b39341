import Logging
import NIOCore
import Rayo
import ServiceLifecycle
import Switchboard
import XMPP
import XMPPServer

/// A whole Rayo server assembled from a ``RayoServerConfiguration``: the XMPP c2s server, the ``RayoService`` it
/// hands clients to, the credentials of the configured users, the `rayo` outbound handler and the admin console.
///
/// ```swift
/// let rayo = try RayoServer(configuration: configuration, logger: logger, eventLoopGroup: group)
/// // run rayo.services in a ServiceGroup (in this order), and an OutboundListener with rayo.callHandler
/// ```
public struct RayoServer: Sendable {
    /// What it was built from.
    public let configuration: RayoServerConfiguration
    /// The call-control service.
    public let service: RayoService
    /// The XMPP c2s server.
    public let xmppServer: XMPPServer
    /// The admin console's responder.
    public let console: RayoConsole

    /// Why a configuration could not be turned into a server.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What is wrong.
        public var description: String
    }

    /// Builds the pieces; nothing listens or connects until ``services`` run.
    ///
    /// - Parameter metrics: Where the event socket connection records its metrics (``Switchboard/SwitchboardMetric``).
    /// - Parameter onListening: Called with the bound addresses once every XMPP listener listens.
    public init(
        configuration: RayoServerConfiguration,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup,
        metrics: MetricsOptions = MetricsOptions(listener: "rayo-event-socket"),
        onListening: @escaping @Sendable ([SocketAddress]) -> Void = { _ in }
    ) throws(Failure) {
        self.configuration = configuration
        let service = RayoService(
            settings: Self.settings(configuration),
            eventSocket: InboundConfiguration(
                name: "rayo.eventSocket",
                host: configuration.eventSocket.host,
                port: configuration.eventSocket.port,
                authentication: .password(configuration.eventSocket.password),
                connection: EventSocketConnection.Options(commandTimeout: configuration.timeouts.eventSocketCommand),
                metrics: metrics
            ),
            commandTimeout: configuration.timeouts.eventSocketCommand,
            drainTime: configuration.drainTime,
            logger: logger,
            eventLoopGroup: eventLoopGroup
        )
        self.service = service
        self.console = RayoConsole(service: service)
        self.xmppServer = XMPPServer(
            configuration: try Self.xmppConfiguration(configuration),
            credentials: try Self.credentials(configuration.users),
            service: service,
            logger: logger,
            eventLoopGroup: eventLoopGroup,
            onListening: onListening
        )
    }

    /// The services to run, in this order: the XMPP server first, so that graceful shutdown (which goes in reverse)
    /// drains the Rayo service while clients are still connected.
    public var services: [any Service] { [xmppServer, service] }

    /// The `rayo` outbound handler bound to this server's service.
    public var callHandler: RayoCallHandler { RayoCallHandler(service: service) }

    /// The machine's settings from the configuration.
    public static func settings(_ configuration: RayoServerConfiguration) -> RayoSettings {
        var settings = RayoSettings(
            domain: configuration.domain,
            offerURI: configuration.offerURI,
            addVariablesToOffer: configuration.addVariablesToOffer,
            addVariablesToEvents: configuration.addVariablesToEvents,
            offerAlgorithm: configuration.offerAlgorithm,
            offerTimeout: configuration.offerTimeout,
            mixerConferenceProfile: configuration.mixerConferenceProfile,
            dialGateways: configuration.dialGateways,
            maxIdle: configuration.maxIdle,
            whenClientLeaves: configuration.whenClientLeaves
        )
        // The admin console sees every call and mixer, as mod_rayo's console did.
        if let console = JID(configuration.consoleJIDText) { settings.adminJIDs = [console] }
        return settings
    }

    /// The users' credentials; fails on stored keys that do not parse.
    public static func credentials(_ users: [RayoServerConfiguration.User]) throws(Failure) -> StaticCredentialStore {
        var result: [String: UserCredentials] = [:]
        for user in users {
            var keys: [SCRAMStoredKeys] = []
            for text in user.passwordHashes {
                guard let parsed = SCRAMStoredKeys(encoded: text) else {
                    throw Failure(description: "the passwordHash of user \(user.name) is not SCRAM stored keys")
                }
                keys.append(parsed)
            }
            result[user.name] = UserCredentials(password: user.password, scram: keys)
        }
        return StaticCredentialStore(result)
    }

    /// The c2s server's configuration: listeners with their allow lists, TLS files, limits and timeouts.
    public static func xmppConfiguration(
        _ configuration: RayoServerConfiguration
    ) throws(Failure) -> XMPPServerConfiguration {
        var listeners: [XMPPServerConfiguration.Listener] = []
        for listener in configuration.listeners {
            var allow: [CIDR] = []
            for block in listener.allow {
                do {
                    allow.append(try CIDR(block))
                } catch {
                    throw Failure(description: "\(error)")
                }
            }
            listeners.append(.init(host: listener.bind, port: listener.port, allow: allow))
        }
        let limits = XMPPServerConfiguration.Limits(
            stream: XMLStreamLimits(
                maxStanzaBytes: configuration.limits.maxStanzaBytes,
                maxDepth: configuration.limits.maxDepth,
                maxAttributes: configuration.limits.maxAttributes
            ),
            handshakeTimeout: configuration.timeouts.handshake,
            pingInterval: configuration.timeouts.pingInterval,
            pingTimeout: configuration.timeouts.pingTimeout,
            maxFailedLogins: configuration.limits.failedLoginsPerMinute,
            failedLoginWindow: .seconds(60),
            maxConnections: configuration.limits.maxClients
        )
        return XMPPServerConfiguration(
            domain: configuration.domain,
            listeners: listeners,
            tls: configuration.tls.map {
                XMPPServerConfiguration.TLS(certificateChainPath: $0.certificate, privateKeyPath: $0.privateKey)
            },
            limits: limits
        )
    }
}
