import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SwitchboardDiagnostics
import XMPP

/// An XMPP client-to-server (c2s) server for one domain: STARTTLS, SASL (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN),
/// resource binding, presence, XEP-0199 ping both ways, disco, and routing between clients and a local service (the
/// Rayo service), which sees only ``XMPP/ClientEvent``s from authenticated full JIDs and writes back through the
/// ``router``.
///
/// A `Service` (swift-service-lifecycle): ``run()`` binds every listener, accepts until graceful shutdown or
/// cancellation, then ends every stream with a `system-shutdown` stream error and returns once all connections are
/// closed.
public final class XMPPServer: Service, Sendable {
    /// The settings the server runs with.
    public let configuration: XMPPServerConfiguration
    private let credentials: any SASLCredentialStore
    private let service: any XMPPLocalService
    private let logger: Logger
    private let group: any EventLoopGroup
    private let onListening: @Sendable ([SocketAddress]) -> Void
    private let registry = SessionRegistry()
    private let state = NIOLockedValueBox(State())

    private struct State {
        var connections: [ObjectIdentifier: XMPPConnection] = [:]
        var listening: [SocketAddress] = []
        var stopping = false
        /// Sees every connection as it is created, admitted or not (tests that check they are freed).
        var connectionCreated: (@Sendable (XMPPConnection) -> Void)?
    }

    /// Creates a server; it binds when ``run()`` is called. The local service is attached to the server's router
    /// here, before any event.
    ///
    /// - Parameter onListening: Called once every listener is bound, with their addresses (port 0 in tests becomes
    ///   the real port here).
    public init(
        configuration: XMPPServerConfiguration,
        credentials: any SASLCredentialStore,
        service: any XMPPLocalService,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable ([SocketAddress]) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.service = service
        self.logger = logger
        self.group = eventLoopGroup
        self.onListening = onListening
        service.attach(router: registry)
    }

    /// Where the local service's stanzas go: the bound sessions, by full or bare JID.
    public var router: any StanzaRouter { registry }

    /// The number of open client connections.
    public var connectionCount: Int { state.withLockedValue { $0.connections.count } }

    /// The open client connections, for tests that check they are freed once closed.
    var openConnections: [XMPPConnection] { state.withLockedValue { Array($0.connections.values) } }

    /// Calls `observer` with every connection from now on as it is created, before it is admitted or refused.
    func observeConnections(_ observer: @escaping @Sendable (XMPPConnection) -> Void) {
        state.withLockedValue { $0.connectionCreated = observer }
    }

    /// The number of bound resources.
    public var sessionCount: Int { registry.count }

    /// The bound listener addresses, once listening.
    public var listeningAddresses: [SocketAddress] { state.withLockedValue { $0.listening } }

    private enum Accepted: Sendable {
        case connection(XMPPConnection)
        case refused(any Channel, SocketAddress?, reason: String)
    }

    /// Binds every listener, serves until graceful shutdown or cancellation, then closes every stream.
    public func run() async throws {
        try configuration.validate()
        guard let domain = JID(localpart: nil, domainpart: configuration.domain) else {
            throw XMPPServerError(.invalidConfiguration, "domain '\(configuration.domain)' is not a valid domain")
        }
        let limits = configuration.limits
        let tlsContext = try configuration.tls.map(Self.makeTLSContext)
        let shared = XMPPServerShared(
            settings: XMPPStreamStateMachine.Settings(
                domain: domain,
                tlsRequired: configuration.tls != nil,
                credentials: credentials,
                limiter: FailedLoginLimiter(maxFailures: limits.maxFailedLogins, window: limits.failedLoginWindow),
                discoFeatures: service.discoFeatures,
                handshakeTimeout: TimeAmount(limits.handshakeTimeout),
                pingInterval: TimeAmount(limits.pingInterval),
                pingTimeout: TimeAmount(limits.pingTimeout)
            ),
            registry: registry,
            service: service,
            tls: tlsContext,
            streamLimits: limits.stream,
            closeTimeout: TimeAmount(limits.closeTimeout)
        )
        if configuration.tls == nil {
            logger.warning("XMPP without TLS: passwords travel in clear; set tls to require STARTTLS")
        }

        var servers: [(XMPPServerConfiguration.Listener, NIOAsyncChannel<Accepted, Never>)] = []
        do {
            for listener in configuration.listeners {
                servers.append((listener, try await bind(listener, shared: shared)))
            }
        } catch {
            for (_, server) in servers { try? await server.channel.close() }
            throw error
        }
        let listening = servers
        let addresses = listening.compactMap { $0.1.channel.localAddress }
        state.withLockedValue { $0.listening = addresses }
        logger.info(
            "XMPP server accepting clients",
            metadata: ["xmpp.domain": "\(domain)", "xmpp.listeners": "\(addresses.map(\.loggable))"]
        )
        onListening(addresses)

        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { listeners in
                for (listener, server) in listening {
                    listeners.addTask {
                        await self.accept(on: server, listener: listener)
                        // One listener stopped (shutdown, cancellation or a socket failure): the server stops as a whole.
                        for (_, other) in listening { other.channel.close(promise: nil) }
                    }
                }
            }
        } onGracefulShutdown: {
            for (_, server) in listening { server.channel.close(promise: nil) }
        }
        logger.info("XMPP server stopped")
    }

    private func bind(
        _ listener: XMPPServerConfiguration.Listener,
        shared: XMPPServerShared
    ) async throws -> NIOAsyncChannel<Accepted, Never> {
        let logger = self.logger
        let watermark = ChannelOptions.Types.WriteBufferWaterMark(
            low: configuration.limits.maxPendingOutputBytes / 2,
            high: configuration.limits.maxPendingOutputBytes
        )
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: watermark)
                .bind(host: listener.host, port: listener.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let peer = channel.remoteAddress
                        guard listener.admits(peer) else {
                            return Accepted.refused(channel, peer, reason: "outside the listener's allow list")
                        }
                        var connectionLogger = logger
                        // Rendered only if something is logged.
                        connectionLogger[metadataKey: "xmpp.peer"] = .stringConvertible(LoggablePeer(address: peer))
                        let handler = XMPPStreamHandler(
                            shared: shared,
                            peer: peer?.addressBytes ?? [],
                            logger: connectionLogger
                        )
                        let connection = XMPPConnection(
                            channel: channel,
                            handler: NIOLoopBound(handler, eventLoop: channel.eventLoop)
                        )
                        self.state.withLockedValue { $0.connectionCreated }?(connection)
                        // Counted before the handler reads a byte.
                        guard self.register(connection) else {
                            return Accepted.refused(
                                channel,
                                peer,
                                reason:
                                    "\(self.configuration.limits.maxConnections) connections open (maxConnections) or stopping"
                            )
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                        // Only a handler in the pipeline holds its connection: `handlerRemoved` lets go of it. A
                        // refused connection's handler never joins, and attached it would keep both in memory.
                        handler.attach(connection)
                        return Accepted.connection(connection)
                    }
                }
        } catch {
            let address = SocketAddress.loggable(host: listener.host, port: listener.port)
            throw XMPPServerError(
                .bindFailed,
                SocketErrorDescription.listenFailure(error, on: address, port: listener.port)
            )
        }
    }

    /// One listener's accept loop; returns when the listener is closed and its connections are gone.
    private func accept(
        on server: NIOAsyncChannel<Accepted, Never>,
        listener: XMPPServerConfiguration.Listener
    ) async {
        await withDiscardingTaskGroup { connections in
            do {
                try await server.executeThenClose { inbound in
                    for try await accepted in inbound {
                        switch accepted {
                        case .refused(let channel, let peer, let reason):
                            logger.warning(
                                "refused a connection: \(reason)",
                                metadata: [
                                    "xmpp.peer": "\(peer?.loggable ?? "?")",
                                    "xmpp.allow": "\(listener.allow.map(\.description))",
                                ]
                            )
                            channel.close(promise: nil)
                        case .connection(let connection):
                            connections.addTask { try? await connection.channel.closeFuture.get() }
                        }
                    }
                }
            } catch {
                // Cancelled, or the listening socket failed: stop accepting either way.
                if !(error is CancellationError) {
                    logger.error("XMPP listener stopped: \(SocketErrorDescription(error).reason)")
                }
            }
            // Accepting stopped: end every stream (those of the other listeners too; ending twice is harmless).
            closeAllStreams()
        }
    }

    /// Counts a new connection in, unless the server is full or stopping; it is counted out when it closes.
    private func register(_ connection: XMPPConnection) -> Bool {
        let key = ObjectIdentifier(connection)
        let admitted = state.withLockedValue { state -> Bool in
            guard !state.stopping, state.connections.count < configuration.limits.maxConnections else { return false }
            state.connections[key] = connection
            return true
        }
        if admitted {
            connection.channel.closeFuture.whenComplete { _ in
                self.state.withLockedValue { _ = $0.connections.removeValue(forKey: key) }
            }
        }
        return admitted
    }

    private func closeAllStreams() {
        let open = state.withLockedValue { state in
            state.stopping = true
            return Array(state.connections.values)
        }
        if !open.isEmpty { logger.info("closing \(open.count) client streams") }
        for connection in open { connection.shutDown() }
    }

    private static func makeTLSContext(_ tls: XMPPServerConfiguration.TLS) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChainPath)
        } catch {
            throw XMPPServerError(
                .tlsSetupFailed,
                "cannot read the certificate chain '\(tls.certificateChainPath)': \(error)"
            )
        }
        guard !chain.isEmpty else {
            throw XMPPServerError(.tlsSetupFailed, "'\(tls.certificateChainPath)' holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)
        } catch {
            throw XMPPServerError(.tlsSetupFailed, "cannot read the private key '\(tls.privateKeyPath)': \(error)")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw XMPPServerError(
                .tlsSetupFailed,
                "the certificate '\(tls.certificateChainPath)' and key '\(tls.privateKeyPath)' do not make a TLS context: \(error)"
            )
        }
    }
}
