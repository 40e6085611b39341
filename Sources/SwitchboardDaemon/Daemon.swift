import CoreMetrics
import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RayoServer
import ServiceLifecycle
import Switchboard
import SwitchboardDiagnostics
import UnixSignals

/// The `switchboard` daemon: every listener of a configuration, supervised, with systemd notifications, log reopen on
/// SIGHUP and a graceful drain on SIGTERM or SIGINT.
public struct Daemon: Sendable {
    /// The validated configuration.
    public let configuration: SwitchboardConfiguration
    /// The handlers compiled into the program.
    public let registry: HandlerRegistry
    /// Where log lines go; reopened on SIGHUP.
    public let logFile: LogFile
    /// The daemon's logger.
    public let logger: Logger
    /// Sockets inherited from systemd, by listener name.
    public let inheritedSockets: [String: Int32]
    /// The Prometheus registry the listeners record into, when the configuration has a `metrics` object. A program
    /// may also bootstrap `MetricsSystem` with its factory, so that the libraries it uses report there too.
    public let metrics: PrometheusMetrics?
    private let eventLoopGroup: any EventLoopGroup

    /// Creates the daemon. Nothing binds or connects until ``run(onReady:)``.
    public init(
        configuration: SwitchboardConfiguration,
        registry: HandlerRegistry,
        logFile: LogFile,
        logger: Logger,
        inheritedSockets: [String: Int32] = [:],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.registry = registry
        self.logFile = logFile
        self.logger = logger
        self.inheritedSockets = inheritedSockets
        self.eventLoopGroup = eventLoopGroup
        self.metrics = configuration.metrics == nil ? nil : PrometheusMetrics(describing: Self.metricDescriptions)
    }

    /// Every metric the daemon serves: the listeners' and the Rayo server's.
    public static let metricDescriptions = SwitchboardMetric.all + DaemonRayo.metrics

    /// A logger for a component (e.g. a listener) writing to the daemon's log file at the configured level.
    public static func makeLogger(label: String, file: LogFile, level: Logger.Level) -> Logger {
        Logger(label: label) { _ in LogFileHandler(file: file, level: level) }
    }

    /// Runs until SIGTERM or SIGINT, then drains outbound calls (up to each listener's `drainSeconds`) and returns.
    ///
    /// - Parameter onOutboundBound: Called with each outbound listener's name and bound address (for tests and the
    ///   demo).
    /// - Parameter onRayoListening: Called with the Rayo XMPP listeners' bound addresses (for tests).
    /// - Parameter onMetricsBound: Called with the metrics endpoint's bound address (for tests).
    public func run(
        onOutboundBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in },
        onRayoListening: @escaping @Sendable ([SocketAddress]) -> Void = { _ in },
        onMetricsBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) async throws {
        let status = DaemonStatus()
        let rayo = try configuration.rayo.map { settings in
            try DaemonRayo.make(
                settings,
                status: status,
                logger: logger,
                eventLoopGroup: eventLoopGroup,
                metricsFactory: metrics?.factory,
                onListening: onRayoListening
            )
        }
        var services: [any Service] = []
        var sessionCounters: [@Sendable () -> Int] = []
        var inboundNames: Set<String> = []
        var outboundNames: Set<String> = []
        for warning in SocketActivation.mismatches(
            inherited: inheritedSockets,
            outboundListeners: configuration.listeners.compactMap { listener in
                if case .outbound(let settings) = listener { settings.name } else { nil }
            }
        ) {
            logger.warning("\(warning)")
        }

        for listener in configuration.listeners {
            var listenerLogger = logger
            listenerLogger[metadataKey: "listener.name"] = "\(listener.name)"
            let componentLogger = listenerLogger
            switch listener {
            case .inbound(let settings):
                guard let handler = try makeInboundHandler(settings) else { continue }
                inboundNames.insert(settings.name)
                var inbound = Self.inboundConfiguration(settings)
                inbound.metrics = MetricsOptions(listener: settings.name, factory: metrics?.factory)
                let configuration = inbound
                let group = eventLoopGroup
                services.append(
                    SupervisedListener(
                        name: settings.name,
                        logger: componentLogger,
                        backoff: configuration.reconnect,
                        makeListener: {
                            InboundListener(
                                configuration: configuration,
                                handler: handler,
                                logger: componentLogger,
                                eventLoopGroup: group
                            ) { change in
                                switch change {
                                case .connected:
                                    status.inbound(settings.name, connected: true)
                                    status.inboundAttempted(settings.name)
                                case .waitingToReconnect, .stopped:
                                    status.inbound(settings.name, connected: false)
                                    status.inboundAttempted(settings.name)
                                case .connecting:
                                    break
                                }
                            }
                        },
                        hasStarted: { true }
                    )
                )
            case .outbound(let settings):
                let handler: any OutboundHandler
                if settings.handler == BuiltInHandler.rayo, let rayo {
                    handler = rayo.server.callHandler
                } else if let registered = try makeOutboundHandler(settings) {
                    handler = registered
                } else {
                    continue
                }
                outboundNames.insert(settings.name)
                let configuration = OutboundConfiguration(
                    name: settings.name,
                    host: settings.bind,
                    port: settings.port,
                    inheritedSocket: inheritedSockets[settings.name],
                    maxSessions: settings.maxSessions,
                    drainTimeout: settings.drainTime,
                    metrics: MetricsOptions(listener: settings.name, factory: metrics?.factory)
                )
                if let descriptor = inheritedSockets[settings.name] {
                    let name = settings.name.loggable
                    componentLogger.info(
                        "listener '\(name)': using the socket systemd passed under its name (descriptor \(descriptor))"
                    )
                }
                let current = ListenerSlot()
                sessionCounters.append { current.listener?.activeSessions ?? 0 }
                let group = eventLoopGroup
                services.append(
                    SupervisedListener(
                        name: settings.name,
                        logger: componentLogger,
                        backoff: ReconnectPolicy(initialDelay: .milliseconds(500), maxDelay: .seconds(30)),
                        makeListener: {
                            let listener = OutboundListener(
                                configuration: configuration,
                                handler: handler,
                                logger: componentLogger,
                                eventLoopGroup: group
                            ) { address in
                                status.outboundBound(settings.name)
                                onOutboundBound(settings.name, address)
                            }
                            current.listener = listener
                            return listener
                        },
                        hasStarted: { status.isReady(inbound: [], outbound: [settings.name]) }
                    )
                )
            }
        }

        // Trap SIGHUP before anything announces readiness, so logrotate's HUP can never kill the daemon.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let counters = sessionCounters
        var rayoStatus: (@Sendable () -> String)?
        if let rayo { rayoStatus = { rayo.statusText } }
        let systemd = SystemdService(
            notifier: SystemdNotifier(),
            status: status,
            inboundNames: inboundNames,
            outboundNames: outboundNames,
            outboundSessions: { counters.reduce(0) { $0 + $1() } },
            rayoStatus: rayoStatus,
            logger: logger
        )
        var metricsServer: [any Service] = []
        if let settings = configuration.metrics, let metrics {
            var refresh: @Sendable () -> Void = {}
            if let rayo { refresh = rayo.makeMetricsRefresh(factory: metrics.factory) }
            metricsServer.append(
                MetricsServer(
                    settings: settings,
                    metrics: metrics,
                    refresh: refresh,
                    logger: logger,
                    eventLoopGroup: eventLoopGroup,
                    onBound: onMetricsBound
                )
            )
        }
        // Shutdown runs in reverse order: systemd says STOPPING first, then listeners drain (still counted by the
        // metrics endpoint), the log goes last.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: LogReopenService(logFile: logFile, signals: hangups, logger: logger))]
                    + metricsServer.map { .init(service: $0) }
                    + services.map { .init(service: $0) }
                    + (rayo?.services ?? []).map { .init(service: $0) }
                    + [.init(service: systemd)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let rayoNote = rayo == nil ? "" : " and the Rayo server"
        logger.info("switchboard starting with \(services.count) listeners\(rayoNote)")
        try await group.run()
        logger.info("switchboard stopped")
    }

    /// The handler of an inbound listener, created once for the daemon's run; `nil` when none is registered by
    /// that name (the configuration was validated against another registry).
    private func makeInboundHandler(_ settings: InboundListenerSettings) throws -> (any InboundHandler)? {
        do {
            return try registry.makeInbound(named: settings.handler, settings: settings.handlerSettings?.decoded)
        } catch {
            throw HandlerCreationError(listener: settings.name, handler: settings.handler, error: error)
        }
    }

    /// The handler of an outbound listener, created once for the daemon's run and shared by its calls; `nil` when
    /// none is registered by that name.
    private func makeOutboundHandler(_ settings: OutboundListenerSettings) throws -> (any OutboundHandler)? {
        do {
            return try registry.makeOutbound(named: settings.handler, settings: settings.handlerSettings?.decoded)
        } catch {
            throw HandlerCreationError(listener: settings.name, handler: settings.handler, error: error)
        }
    }

    static func inboundConfiguration(_ settings: InboundListenerSettings) -> InboundConfiguration {
        InboundConfiguration(
            name: settings.name,
            host: settings.host,
            port: settings.port,
            authentication: .password(settings.password),
            events: settings.events,
            format: settings.format == .json ? .json : .plain,
            filters: settings.filters.sorted { $0.key < $1.key }.flatMap { header, values in
                values.map { InboundConfiguration.Filter(header: header, value: $0) }
            },
            reconnect: ReconnectPolicy(
                initialDelay: settings.reconnect.initialDelay,
                maxDelay: settings.reconnect.maxDelay
            ),
            connection: EventSocketConnection.Options(commandTimeout: settings.commandTimeout)
        )
    }
}

/// The current instance of a supervised outbound listener, for live session counts.
private final class ListenerSlot: Sendable {
    private let slot = NIOLockedValueBox<OutboundListener?>(nil)
    var listener: OutboundListener? {
        get { slot.withLockedValue { $0 } }
        set { slot.withLockedValue { $0 = newValue } }
    }
}
