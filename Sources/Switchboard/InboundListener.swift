import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchboardDiagnostics
import Synchronization

/// Keeps a connection to FreeSWITCH's event socket and runs a handler on it: log in, subscribe, filter, deliver
/// events; reconnect with exponential backoff and jitter when the connection drops or goes silent.
///
/// ```swift
/// var hooks = EventHooks()
/// hooks.on("CHANNEL_ANSWER") { event, _ in print("answered", event.uniqueID ?? "-") }
/// let listener = InboundListener(configuration: .init(events: ["CHANNEL_ANSWER"]), hooks: hooks, logger: logger)
/// try await listener.run()   // or add it to a ServiceGroup
/// ```
///
/// It is a `Service`: graceful shutdown closes the connection and stops reconnecting.
public final class InboundListener: Service, Sendable {
    /// Where the listener stands, for status reports.
    public enum Status: Sendable, Hashable {
        /// Trying to connect (attempt number from 1).
        case connecting(attempt: Int)
        /// Logged in and subscribed.
        case connected
        /// The last attempt or connection failed; waiting to retry.
        case waitingToReconnect(after: Duration)
        /// Stopped for good.
        case stopped
    }

    /// Where and how to connect.
    public let configuration: InboundConfiguration
    private let handler: any InboundHandler
    private let hooks: EventHooks
    private let logger: Logger
    private let group: any EventLoopGroup
    private let onStatusChange: @Sendable (Status) -> Void
    private let current = NIOLockedValueBox<EventSocketConnection?>(nil)
    private let metrics: ListenerMetrics
    /// Whether any connection got logged in yet: the next one is a reconnect.
    private let hasConnected = Atomic<Bool>(false)

    /// Creates a listener. It connects when ``run()`` is called.
    ///
    /// - Parameters:
    ///   - handler: Receives connect and disconnect notices and every event (after the hooks).
    ///   - hooks: Closures by event name, subclass, or for all events.
    ///   - onStatusChange: Called on every change of ``Status``, e.g. to report it to systemd.
    public init(
        configuration: InboundConfiguration,
        handler: any InboundHandler = HooksOnly(),
        hooks: EventHooks = EventHooks(),
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onStatusChange: @escaping @Sendable (Status) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.handler = handler
        self.hooks = hooks
        self.logger = logger
        self.group = eventLoopGroup
        self.onStatusChange = onStatusChange
        self.metrics = ListenerMetrics(configuration.metrics, role: .inbound(handler: handlerName(of: handler)))
    }

    /// The live connection, when logged in: use it for commands from outside the handler.
    public var connection: EventSocketConnection? { current.withLockedValue { $0 } }

    /// Connects, runs the handler, and reconnects until cancelled or gracefully shut down.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.connectLoop()
        }
        metrics.setConnected(false)
        onStatusChange(.stopped)
    }

    private func connectLoop() async {
        var failures = 0
        var attempt = 0
        var outage = OutageLog()
        var hasConnected = false
        while !Task.isCancelled {
            attempt += 1
            onStatusChange(.connecting(attempt: attempt))
            let attemptState = AttemptState(afterLoss: hasConnected)
            var ending: (any Error)?
            do {
                try await runConnection(attemptState, outage: outage)
            } catch {
                ending = error
            }
            if Task.isCancelled { break }
            let now = ContinuousClock.now
            let delay: Duration
            if attemptState.established.load(ordering: .relaxed) {
                hasConnected = true
                failures = 0
                outage.lost(at: now)
                delay = configuration.reconnect.delay(afterFailures: 0)
                logger.warning(
                    "\(prefix)\(SwitchboardError.connectionEnded(ending, peer: peer)); next attempt in \(delay.loggable)",
                    metadata: ["esl.peer": "\(peer)"]
                )
            } else {
                failures += 1
                let sentence = SwitchboardError.connectionEnded(ending, peer: peer)
                let loginRefused = (ending as? SwitchboardError)?.code == .authenticationFailed
                // A refused login does not fix itself within seconds: retry at the slow end of the backoff.
                delay =
                    loginRefused
                    ? configuration.reconnect.longestDelay()
                    : configuration.reconnect.delay(afterFailures: failures)
                let line: Logger.Message = "\(prefix)\(sentence); next attempt in \(delay.loggable)"
                switch outage.failed(sentence, at: now) {
                case .first:
                    logger.log(level: loginRefused ? .error : .warning, line, metadata: ["esl.peer": "\(peer)"])
                case .reminder(let downtime, let attempts):
                    logger.log(
                        level: loginRefused ? .error : .warning,
                        "\(line) (failing for \(downtime.loggable), \(attempts) attempts so far)",
                        metadata: ["esl.peer": "\(peer)"]
                    )
                case .quiet:
                    logger.debug(line, metadata: ["esl.peer": "\(peer)"])
                }
            }
            onStatusChange(.waitingToReconnect(after: delay))
            do {
                try await Task.sleep(for: delay)
            } catch {
                break
            }
        }
    }

    /// `listener 'events': ` when the configuration names the listener, for the start of its log lines.
    private var prefix: String { configuration.name.map { "listener '\($0.loggable)': " } ?? "" }

    /// FreeSWITCH's address as configured: `127.0.0.1:8021`.
    private var peer: String { SocketAddress.loggable(host: configuration.host, port: configuration.port) }

    /// One connection, from TCP connect to close. Throws why it ended, when it was not FreeSWITCH closing cleanly.
    private func runConnection(_ attempt: AttemptState, outage: OutageLog) async throws {
        var connectionLogger = self.logger
        connectionLogger[metadataKey: "esl.peer"] = "\(peer)"
        let logger = connectionLogger
        let connection = try await EventSocketConnection.connect(
            host: configuration.host,
            port: configuration.port,
            options: configuration.connection,
            metrics: metrics,
            connectTimeout: configuration.connectTimeout,
            logger: logger,
            group: group
        )
        let greeting = connection.makeGreeting(timeout: configuration.connectTimeout, peer: peer)
        let lanes = EventLanes()

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            // The read task.
            tasks.addTask { [configuration, handler, hooks, metrics, prefix, peer] in
                await connection.runReadLoop(lanes: lanes) { input in
                    attempt.lastInput.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
                    switch input {
                    case .authRequest:
                        greeting.succeed()
                    case .disconnectNotice(let notice):
                        // Before the login succeeded (a refused password) the notice is FreeSWITCH's goodbye to a
                        // failed attempt, which the reconnect loop reports in its own words.
                        let text = notice.frame.bodyText.trimmingCharacters(in: "\n").loggable
                        connection.logger.log(
                            level: attempt.established.load(ordering: .relaxed) ? .info : .debug,
                            "\(prefix)FreeSWITCH at \(peer) sent a disconnect notice: \(text)"
                        )
                    case .log(let line):
                        connection.logger.trace("freeswitch log: \(line.text.loggable(limit: 2_000))")
                    case .unrecognized(let frame, let reason):
                        connection.logger.warning(
                            "\(prefix)ignored a frame from FreeSWITCH at \(peer): \(reason.loggable)",
                            metadata: ["esl.content-type": "\(frame.contentType.description.loggable)"]
                        )
                    case .event:
                        break
                    }
                } handle: { event in
                    let name = event.name
                    if (name == "HEARTBEAT" || name == "BACKGROUND_JOB") && !configuration.subscribes(to: name) {
                        return
                    }
                    await Self.dispatch(event, hooks: hooks, handler: handler, connection: connection, metrics: metrics)
                }
                if let reason = connection.shared.reason { throw reason }
            }
            // The session task: log in, subscribe, filter, then watch the heartbeat.
            tasks.addTask { [self] in
                do {
                    try await self.setUp(connection, greeting: greeting)
                } catch {
                    connection.shared.reason = error
                    try? await connection.channel.close()
                    throw error
                }
                current.withLockedValue { $0 = connection }
                attempt.established.store(true, ordering: .relaxed)
                metrics.setConnected(true)
                if hasConnected.exchange(true, ordering: .relaxed) { metrics.reconnected() }
                onStatusChange(.connected)
                var outage = outage
                if let (downtime, attempts) = outage.connected(at: .now) {
                    let verb = attempt.afterLoss ? "reconnected" : "connected"
                    let count = attempts == 1 ? "1 attempt" : "\(attempts) attempts"
                    logger.notice("\(prefix)\(verb) to FreeSWITCH at \(peer) after \(downtime.loggable), \(count)")
                } else {
                    logger.info("\(prefix)connected to FreeSWITCH at \(peer)")
                }
                do {
                    try await handler.connected(to: connection)
                } catch {
                    metrics.handlerFailed()
                    logger.error(
                        "\(prefix)handler \(Self.name(of: handler)) failed in connected(to:): \(SwitchboardError.reasonText(error))"
                    )
                }
                try await self.watchHeartbeat(connection, attempt: attempt)
            }
            defer {
                current.withLockedValue { $0 = nil }
                metrics.setConnected(false)
            }
            // Whichever task ends first ends the connection: the read task on close, the session task on a failed
            // login or a missed heartbeat. The other one is then cancelled; its cancellation is not a failure.
            var failure: (any Error)?
            do {
                try await tasks.next()
            } catch {
                failure = error
            }
            tasks.cancelAll()
            try? await connection.channel.close()
            while let result = await tasks.nextResult() {
                if case .failure(let error) = result, !(error is CancellationError), failure == nil {
                    failure = error
                }
            }
            await handler.disconnected(from: connection, error: failure ?? connection.shared.reason)
            if let failure { throw failure }
        }
    }

    private func setUp(_ connection: EventSocketConnection, greeting: EventLoopPromise<Void>) async throws {
        try await connection.logIn(after: greeting, with: configuration.authentication, peer: peer)

        // Filters go first: once `event` is sent, events flow, and none may pass that the filters would stop.
        for filter in configuration.filters {
            try await connection.command(.filter(header: filter.header, value: filter.value))
        }
        if !configuration.filters.isEmpty {
            connection.setFiltered(backgroundJobsPass: true)
            // Once a filter exists only matching events pass; these two must always pass.
            try await connection.command(.filter(header: "Event-Name", value: "BACKGROUND_JOB"))
            if configuration.heartbeatTimeout != nil {
                try await connection.command(.filter(header: "Event-Name", value: "HEARTBEAT"))
            }
        }
        var names = configuration.events
        if !names.contains("ALL") {
            // bgapi needs BACKGROUND_JOB; the watchdog needs HEARTBEAT.
            names.append("BACKGROUND_JOB")
            if configuration.heartbeatTimeout != nil { names.append("HEARTBEAT") }
        }
        try await connection.command(
            .event(configuration.format, names: names, customSubclasses: configuration.customSubclasses)
        )
        connection.setSubscriptionFormat(configuration.format, backgroundJobs: true)
    }

    private func watchHeartbeat(_ connection: EventSocketConnection, attempt: AttemptState) async throws {
        guard let timeout = configuration.heartbeatTimeout else {
            try await connection.channel.closeFuture.get()
            return
        }
        let limit = UInt64(TimeAmount(timeout).nanoseconds)
        let check = min(timeout / 4, .seconds(5))
        while connection.isActive {
            try await Task.sleep(for: check)
            let silence = NIODeadline.now().uptimeNanoseconds - attempt.lastInput.load(ordering: .relaxed)
            if silence > limit {
                let error = SwitchboardError(
                    .heartbeatMissed,
                    "nothing arrived from FreeSWITCH at \(peer) for \(timeout.loggable), not even a HEARTBEAT event"
                )
                connection.shared.reason = error
                throw error
            }
        }
    }

    static func dispatch(
        _ event: EventSocketEvent,
        hooks: EventHooks,
        handler: any InboundHandler,
        connection: EventSocketConnection,
        metrics: ListenerMetrics
    ) async {
        for hook in hooks.hooks(for: event) {
            do {
                try await hook(event, connection)
            } catch {
                metrics.hookFailed()
                connection.logger.error(
                    "an event hook failed on \(event.name.loggable): \(SwitchboardError.reasonText(error))",
                    metadata: event.uniqueID.map { ["call.uuid": "\($0.loggable)"] }
                )
            }
        }
        do {
            try await handler.handle(event, on: connection)
        } catch {
            metrics.handlerFailed()
            connection.logger.error(
                "handler \(name(of: handler)) failed on \(event.name.loggable): \(SwitchboardError.reasonText(error))",
                metadata: event.uniqueID.map { ["call.uuid": "\($0.loggable)"] }
            )
        }
    }

    /// A handler's name for log lines: `event-logger` when registered, else its type's name.
    static func name(of handler: any InboundHandler) -> String { handlerName(of: handler) }
}

/// What one connection attempt learned: whether it got logged in, and when FreeSWITCH last sent anything.
final class AttemptState: Sendable {
    let established = Atomic<Bool>(false)
    let lastInput = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
    /// Whether an earlier attempt of the listener had been logged in (this one reconnects).
    let afterLoss: Bool

    init(afterLoss: Bool) { self.afterLoss = afterLoss }
}

/// An inbound handler that does nothing itself, for listeners that only use ``EventHooks``.
public struct HooksOnly: InboundHandler {
    /// Creates it.
    public init() {}
}
