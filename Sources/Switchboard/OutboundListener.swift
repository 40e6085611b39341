import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchboardDiagnostics

/// Accepts the calls that FreeSWITCH's `socket` dialplan application hands over and runs an ``OutboundHandler`` for
/// each: `connect` → `myevents` → `linger` → ``OutboundHandler/run(_:)``.
///
/// Each call is a pair of tasks: the read task (events, replies) and the session task (the handler); a handler that
/// takes no events (``OutboundHandler/handlesEvents``) needs no read task, its call's bookkeeping runs on the
/// connection's event loop. The listener is
/// a `Service`: on graceful shutdown it stops accepting, lets running calls finish for up to
/// ``OutboundConfiguration/drainTimeout``, then closes what is left.
public final class OutboundListener: Service, Sendable {
    /// Where and how to listen.
    public let configuration: OutboundConfiguration
    private let handler: any OutboundHandler
    private let logger: Logger
    private let group: any EventLoopGroup
    private let onBound: @Sendable (SocketAddress) -> Void
    private let state = NIOLockedValueBox(State())
    private let metrics: ListenerMetrics

    private struct State {
        var sessions: [ObjectIdentifier: any Channel] = [:]
        /// Calls whose handler has returned and which are only closing: nothing to warn about when they are closed.
        var closing: Set<ObjectIdentifier> = []
        /// Calls whose handler the listener's cancellation stopped.
        var cutShort = 0
        var localAddress: SocketAddress?
        var warnedAboutMode = false
        var sessionsStarted = 0
    }

    /// Creates a listener; it binds when ``run()`` is called.
    ///
    /// - Parameter onBound: Called with the bound address (useful with port 0 in tests).
    public init(
        configuration: OutboundConfiguration,
        handler: any OutboundHandler,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.group = eventLoopGroup
        self.onBound = onBound
        self.metrics = ListenerMetrics(
            configuration.metrics,
            role: .outbound(handler: Switchboard.handlerName(of: handler))
        )
    }

    /// The number of calls being handled now.
    public var activeSessions: Int { state.withLockedValue { $0.sessions.count } }

    /// The number of calls accepted since start.
    public var sessionsStarted: Int { state.withLockedValue { $0.sessionsStarted } }

    /// The bound address, once listening.
    public var localAddress: SocketAddress? { state.withLockedValue { $0.localAddress } }

    /// Binds, accepts calls until shut down, then drains.
    public func run() async throws {
        let options = configuration.connection
        let logger = self.logger
        let metrics = self.metrics
        let deliversEvents = handler.handlesEvents
        let prefix = self.prefix
        let onEventLoop = configuration.runsCallsOnEventLoop
        // Each event loop's accepted calls go to a task that prefers that loop (when calls run on their loop): the
        // call is handed over, and its task started, without waking another thread. The tasks stay children of
        // this one (task-locals, priority and cancellation reach the calls), unlike tasks started from the loop.
        let loops = onEventLoop ? Array(group.makeIterator()) : []
        var acceptors: [ObjectIdentifier: AsyncStream<AcceptedCall>.Continuation] = [:]
        var streams: [(loop: (any EventLoop)?, calls: AsyncStream<AcceptedCall>)] = []
        for loop in loops {
            let (calls, continuation) = AsyncStream<AcceptedCall>.makeStream()
            acceptors[ObjectIdentifier(loop)] = continuation
            streams.append((loop, calls))
        }
        let (anyLoop, anyLoopContinuation) = AsyncStream<AcceptedCall>.makeStream()
        streams.append((nil, anyLoop))
        let accepted = acceptors
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let call = try Self.accept(
                        channel,
                        deliversEvents: deliversEvents,
                        options: options,
                        metrics: metrics,
                        logger: logger,
                        prefix: prefix
                    )
                    let continuation = accepted[ObjectIdentifier(channel.eventLoop)] ?? anyLoopContinuation
                    if case .terminated = continuation.yield(call) {
                        // Accepting has stopped: nobody will run this call.
                        channel.close(promise: nil)
                    }
                }
            }
        let server: any Channel
        if let socket = configuration.inheritedSocket {
            do {
                server = try await bootstrap.withBoundSocket(socket).get()
            } catch {
                throw SwitchboardError(
                    .listenFailed,
                    "\(namePrefix)cannot listen on the socket systemd passed (descriptor \(socket)): "
                        + SocketErrorDescription(error).reason
                )
            }
        } else {
            do {
                server = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
            } catch {
                let address = SocketAddress.loggable(host: configuration.host, port: configuration.port)
                throw SwitchboardError(
                    .listenFailed,
                    namePrefix + SocketErrorDescription.listenFailure(error, on: address, port: configuration.port)
                )
            }
        }
        // Once the listening socket is closed, no call comes any more.
        server.closeFuture.whenComplete { _ in
            for continuation in accepted.values { continuation.finish() }
            anyLoopContinuation.finish()
        }
        let address = server.localAddress
        state.withLockedValue { $0.localAddress = address }
        if let address {
            logger.info("\(prefix)accepting calls on \(address.loggable)")
            onBound(address)
        }
        metrics.setConnected(true)
        defer { metrics.setConnected(false) }

        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { acceptors in
                for (loop, calls) in streams {
                    acceptors.addTask(executorPreference: loop.map { EventLoopExecutor(eventLoop: $0) }) {
                        // The calls' tasks inherit this task's executor preference: each runs on its connection's
                        // event loop (``OutboundConfiguration/runsCallsOnEventLoop``).
                        await withDiscardingTaskGroup { sessions in
                            for await call in calls {
                                let connection = call.connection
                                guard self.admit(connection) else { continue }
                                let start = NIODeadline.now()
                                sessions.addTask {
                                    await self.runSession(call)
                                    self.state.withLockedValue {
                                        _ = $0.sessions.removeValue(forKey: ObjectIdentifier(connection))
                                        _ = $0.closing.remove(ObjectIdentifier(connection))
                                    }
                                    metrics.sessionEnded(
                                        after: NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds
                                    )
                                }
                            }
                        }
                    }
                }
                // Accepting stops on graceful shutdown or when this task is cancelled.
                await withTaskCancellationHandler {
                    try? await server.closeFuture.get()
                } onCancel: {
                    server.close(promise: nil)
                }
                // Accepting stopped: running calls drain, within the drain timeout.
                if activeSessions > 0 {
                    if !Task.isCancelled {
                        logger.info(
                            "\(prefix)draining \(activeSessions) calls for up to \(configuration.drainTimeout.loggable)"
                        )
                    }
                    acceptors.addTask { await self.closeSessionsAfterDrainTimeout() }
                }
            }
            let cutShort = state.withLockedValue { $0.cutShort }
            if cutShort > 0 { logger.warning("cancelled: closed \(cutShort) calls still running") }
        } onGracefulShutdown: {
            server.close(promise: nil)
        }
        logger.info("\(prefix)stopped accepting calls")
    }

    /// `listener 'ivr': ` when the configuration names the listener, for the start of its log lines.
    private var prefix: String { configuration.name.map { "listener '\($0.loggable)': " } ?? "" }

    /// `listener 'ivr' `, for errors that read `listener 'ivr' cannot listen on …`.
    private var namePrefix: String { configuration.name.map { "listener '\($0.loggable)' " } ?? "" }

    /// The handler's type name, for log lines: `DemoIVR`.
    /// The registered name (`demo-ivr`) of a handler the daemon created, else its type's name.
    private var handlerName: String { Switchboard.handlerName(of: handler) }

    /// Wraps a channel FreeSWITCH connected: the connection, and the slot its session will fill. On the event loop.
    private static func accept(
        _ channel: any Channel,
        deliversEvents: Bool,
        options: EventSocketConnection.Options,
        metrics: ListenerMetrics,
        logger: Logger,
        prefix: String
    ) throws -> AcceptedCall {
        // Attached only if something is logged: most calls log nothing.
        let sessionLogger = DeferredLogger(logLevel: logger.logLevel) {
            var sessionLogger = logger
            sessionLogger[metadataKey: "esl.peer"] = .stringConvertible(LoggablePeer(address: channel.remoteAddress))
            return sessionLogger
        }
        let session = SessionSlot()
        guard deliversEvents else {
            // No event goes to the handler: the call's bookkeeping runs here, on the event loop, as each input is
            // decoded, and the call needs no read task.
            let connection = try EventSocketConnection.install(
                on: channel,
                options: options,
                metrics: metrics,
                logger: sessionLogger,
                observeInline: { input in
                    Self.observe(input, session: session, logger: sessionLogger, prefix: prefix)
                }
            )
            return AcceptedCall(connection: connection, session: session, deliversEvents: false)
        }
        let connection = try EventSocketConnection.install(
            on: channel,
            options: options,
            metrics: metrics,
            logger: sessionLogger
        )
        return AcceptedCall(connection: connection, session: session, deliversEvents: true)
    }

    private func admit(_ connection: EventSocketConnection) -> Bool {
        let admitted = state.withLockedValue { state -> Bool in
            guard state.sessions.count < configuration.maxSessions else { return false }
            state.sessions[ObjectIdentifier(connection)] = connection.channel
            state.sessionsStarted += 1
            return true
        }
        if admitted {
            metrics.sessionStarted()
        } else {
            metrics.sessionRefused()
            let caller = LoggablePeer(address: connection.remoteAddress)
            let limit = configuration.maxSessions
            let running = limit == 1 ? "1 call" : "\(limit) calls"
            logger.warning("\(prefix)refused a call from \(caller): \(running) already running (maxSessions)")
            connection.channel.close(promise: nil)
        }
        return admitted
    }

    private func closeSessionsAfterDrainTimeout() async {
        let deadline = ContinuousClock.now + configuration.drainTimeout
        var cancelled = false
        while activeSessions > 0, ContinuousClock.now < deadline {
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                // Cancelled rather than shut down gracefully: stop waiting (a sleep that throws at once would
                // otherwise spin) and close what is left now. The handlers this stops are counted as they end.
                cancelled = true
                break
            }
        }
        // Calls only closing (their handler returned) are not worth a warning.
        let (remaining, running) = state.withLockedValue { state in
            (Array(state.sessions.values), state.sessions.keys.filter { !state.closing.contains($0) }.count)
        }
        if !cancelled, running > 0 {
            logger.warning("\(prefix)drain timeout: closing \(running) calls still running")
        }
        for channel in remaining { channel.close(promise: nil) }
    }

    /// One call. When events go to the handler, this task reads them and a child task runs the handler; otherwise
    /// the event loop does the reading (``observe(_:session:logger:prefix:)``), a child task runs the handler and
    /// this one waits for the socket to close.
    private func runSession(_ call: AcceptedCall) async {
        let connection = call.connection
        let sessionBox = call.session
        guard call.deliversEvents else {
            // The handler runs as an `async let` child: left unawaited when it outlived its call, it is cancelled.
            async let handlerRun: Void = runHandler(connection, lanes: nil, sessionBox: sessionBox)
            try? await connection.channel.closeFuture.get()
            if !closed(connection, sessionBox: sessionBox) { await handlerRun }
            return
        }
        let lanes = EventLanes()
        let handler = self.handler
        let metrics = self.metrics
        await withDiscardingTaskGroup { tasks in
            tasks.addTask {
                await self.runHandler(connection, lanes: lanes, sessionBox: sessionBox)
            }
            await connection.runReadLoop(lanes: lanes) { input in
                Self.observe(input, session: sessionBox, logger: connection.deferredLogger, prefix: self.prefix)
            } handle: { event in
                guard let session = sessionBox.session else { return }
                do {
                    try await handler.handle(event, in: session)
                } catch {
                    metrics.handlerFailed()
                    let (name, call) = (event.name.loggable, session.uniqueID.loggable)
                    let reason = SwitchboardError.reasonText(error)
                    session.logger.error(
                        "\(self.prefix)handler \(self.handlerName) failed on \(name) of call \(call): \(reason)"
                    )
                }
            }
            if closed(connection, sessionBox: sessionBox) { tasks.cancelAll() }
        }
    }

    /// The call's socket has closed: says why when there was a reason, and whether the handler, still running, must
    /// be cancelled.
    private func closed(_ connection: EventSocketConnection, sessionBox: SessionSlot) -> Bool {
        // A close for a reason (FreeSWITCH sent what cannot be read, the socket failed, the handler fell too far
        // behind) is said once here, whether or not the handler was waiting on the call. A socket error once the
        // handler has returned is FreeSWITCH closing first (a socket without linger closes as the call ends, and
        // `exit` then meets a reset): nothing went wrong.
        if let reason = connection.shared.reason {
            let call = sessionBox.session.map { " of call \($0.uniqueID.loggable)" } ?? ""
            let message: Logger.Message =
                "\(prefix)the connection\(call) closed: \(SwitchboardError.reasonText(reason))"
            let expected = sessionBox.handlerHasReturned && !(reason is SwitchboardError)
            if expected { connection.logger.debug(message) } else { connection.logger.warning(message) }
        }
        // A handler still running outlived its call: FreeSWITCH ended the linger, went away, or the drain closed
        // the socket. Nothing it does can reach the call any more; cancel it, so that a handler waiting on
        // something else does not hold its session, and a graceful shutdown, forever. (When the listener itself
        // is cancelled, that cancellation has reached the handler already and is reported as such.)
        guard !Task.isCancelled, sessionBox.handlerOutlivedCall() else { return false }
        let call = sessionBox.session.map { "call \($0.uniqueID.loggable)" } ?? "a call"
        connection.logger.notice(
            "\(prefix)the socket of \(call) closed while its handler was still running: cancelling it"
        )
        return true
    }

    /// The listener's own bookkeeping of a call's inputs: channel data, the end of the call, odd frames.
    private static func observe(
        _ input: ConnectionInput,
        session sessionBox: SessionSlot,
        logger: DeferredLogger,
        prefix: String
    ) {
        switch input {
        case .event(let event):
            sessionBox.session?.refresh(from: event)
        case .disconnectNotice(let notice):
            if let session = sessionBox.session {
                session.markHungUp()
                if logger.logs(.debug) {
                    session.logger.debug(
                        "FreeSWITCH says the call ended: \(notice.frame.bodyText.trimmingCharacters(in: "\n").loggable)",
                        metadata: ["esl.linger": "\(notice.isLinger)"]
                    )
                }
            }
        case .unrecognized(let frame, let reason):
            logger.logger.warning(
                "\(prefix)ignored a frame from FreeSWITCH: \(reason.loggable)",
                metadata: ["esl.content-type": "\(frame.contentType.description.loggable)"]
            )
        case .authRequest, .log:
            break
        }
    }

    /// Sets the call up, runs the handler, then says goodbye; returns once the socket is closed.
    private func runHandler(
        _ connection: EventSocketConnection,
        lanes: EventLanes?,
        sessionBox: SessionSlot
    ) async {
        let session: OutboundSession
        do {
            session = try await setUp(connection)
        } catch {
            let caller = LoggablePeer(address: connection.remoteAddress)
            let reason = SwitchboardError.reasonText(error)
            connection.logger.error("\(prefix)the setup of a call from \(caller) failed: \(reason)")
            try? await connection.channel.close()
            return
        }
        sessionBox.session = session
        sessionBox.handlerStarted()
        do {
            try await handler.run(session)
        } catch let error as SwitchboardError where error.code == .callHungUp {
            session.logger.info("\(prefix)call \(session.uniqueID.loggable) hung up: \(error.message.loggable)")
        } catch let error where Task.isCancelled {
            let reason = SwitchboardError.reasonText(error)
            let by = sessionBox.outlivedCall ? "the end of its call's socket" : "the listener's cancellation"
            session.logger.debug("\(prefix)handler stopped by \(by): \(reason)")
        } catch {
            metrics.handlerFailed()
            let reason = SwitchboardError.reasonText(error)
            session.logger.error(
                "\(prefix)handler \(handlerName) failed on call \(session.uniqueID.loggable): \(reason)"
            )
        }
        sessionBox.handlerReturned()
        if Task.isCancelled && !sessionBox.outlivedCall { state.withLockedValue { $0.cutShort += 1 } }
        // The call is over for the handler: let its event handling finish, then say goodbye.
        await lanes?.waitUntilIdle()
        _ = state.withLockedValue { $0.closing.insert(ObjectIdentifier(connection)) }
        await connection.close()
    }

    private func setUp(_ connection: EventSocketConnection) async throws -> OutboundSession {
        let reply = try await connection.send(.connect, timeout: configuration.setupTimeout)
        let channelData = try ChannelData(connectReply: reply.frame)
        let session = OutboundSession(connection: connection, channelData: channelData)
        if !channelData.socketMode.isAsyncFull {
            let first = state.withLockedValue { state in
                defer { state.warnedAboutMode = true }
                return !state.warnedAboutMode
            }
            let mode =
                "\(channelData.socketMode.isAsync ? "async" : "static"), \(channelData.socketMode.isFullControl ? "full" : "not full")"
            let message: Logger.Message =
                "FreeSWITCH's socket application is not in 'async full' mode (\(mode)): linger, api and event are unavailable and each application blocks the socket. Fix the dialplan: <action application=\"socket\" data=\"host:port async full\"/>"
            if first { session.logger.warning(message) } else { session.logger.debug(message) }
        }
        // `myevents` and `linger` go out together: neither depends on the other's reply.
        var commands: [EventSocketCommand] = [try .myEvents()]
        if configuration.linger && channelData.socketMode.isFullControl {
            commands.append(.linger(seconds: configuration.lingerSeconds))
        }
        let replies = try await connection.sendPipelined(commands, timeout: configuration.setupTimeout)
        for (command, reply) in zip(commands, replies) { try reply.check(for: command) }
        return session
    }
}

/// A call as the listener accepts it: its connection, the slot its session will fill, and whether its events go to
/// the handler (``OutboundHandler/handlesEvents``).
private struct AcceptedCall: Sendable {
    let connection: EventSocketConnection
    let session: SessionSlot
    let deliversEvents: Bool
}

/// The session of a call, once `connect` succeeded, and whether its handler is running; shared by its read task (or
/// the event loop) and its session task.
private final class SessionSlot: Sendable {
    private struct State {
        var session: OutboundSession?
        var handlerRunning = false
        var handlerReturned = false
        var outlivedCall = false
    }

    private let slot = NIOLockedValueBox(State())

    var session: OutboundSession? {
        get { slot.withLockedValue { $0.session } }
        set { slot.withLockedValue { $0.session = newValue } }
    }

    /// Whether the handler was cancelled because its call's socket closed while it ran.
    var outlivedCall: Bool { slot.withLockedValue { $0.outlivedCall } }

    func handlerStarted() { slot.withLockedValue { $0.handlerRunning = true } }

    func handlerReturned() {
        slot.withLockedValue {
            $0.handlerRunning = false
            $0.handlerReturned = true
        }
    }

    /// Whether the handler's `run` has returned (or thrown): the listener is only closing the call.
    var handlerHasReturned: Bool { slot.withLockedValue { $0.handlerReturned } }

    /// Called once the socket closed: whether the handler's `run` is still going (it is then marked as having
    /// outlived its call).
    func handlerOutlivedCall() -> Bool {
        slot.withLockedValue { state in
            if state.handlerRunning { state.outlivedCall = true }
            return state.handlerRunning
        }
    }
}
