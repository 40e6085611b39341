import EventSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Accepts the calls that FreeSWITCH's `socket` dialplan application hands over and runs an ``OutboundHandler`` for
/// each: `connect` → `myevents` → `linger` → ``OutboundHandler/run(_:)``.
///
/// Each call is a pair of tasks: the read task (events, replies) and the session task (the handler). The listener is
/// a `Service`: on graceful shutdown it stops accepting, lets running calls finish for up to
/// ``OutboundConfiguration/drainTimeout``, then closes what is left.
public final class OutboundListener: Service, Sendable {
    /// Where and how to listen.
    public let configuration: OutboundConfiguration
    private let handler: any OutboundHandler
    private let logger: Logger
    private let group: any EventLoopGroup
    private let onBound: @Sendable (SocketAddress) -> Void
    private let state = Mutex(State())

    private struct State {
        var sessions: [ObjectIdentifier: any Channel] = [:]
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
    }

    /// The number of calls being handled now.
    public var activeSessions: Int { state.withLock { $0.sessions.count } }

    /// The number of calls accepted since start.
    public var sessionsStarted: Int { state.withLock { $0.sessionsStarted } }

    /// The bound address, once listening.
    public var localAddress: SocketAddress? { state.withLock { $0.localAddress } }

    /// Binds, accepts calls until shut down, then drains.
    public func run() async throws {
        let options = configuration.connection
        let logger = self.logger
        let deliversEvents = handler.handlesEvents
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
                        logger: logger
                    )
                    (accepted[ObjectIdentifier(channel.eventLoop)] ?? anyLoopContinuation).yield(call)
                }
            }
        let server: any Channel
        if let socket = configuration.inheritedSocket {
            server = try await bootstrap.withBoundSocket(socket).get()
        } else {
            server = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        }
        // Once the listening socket is closed, no call comes any more.
        server.closeFuture.whenComplete { _ in
            for continuation in accepted.values { continuation.finish() }
            anyLoopContinuation.finish()
        }
        let address = server.localAddress
        state.withLock { $0.localAddress = address }
        if let address {
            logger.info("outbound listener accepting calls", metadata: ["esl.address": "\(address)"])
            onBound(address)
        }

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
                                sessions.addTask {
                                    await self.runSession(call)
                                    self.state.withLock {
                                        _ = $0.sessions.removeValue(forKey: ObjectIdentifier(connection))
                                    }
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
                    logger.info("draining \(activeSessions) calls for up to \(configuration.drainTimeout)")
                    acceptors.addTask { await self.closeSessionsAfterDrainTimeout() }
                }
            }
        } onGracefulShutdown: {
            server.close(promise: nil)
        }
        logger.info("outbound listener stopped")
    }

    /// Wraps a channel FreeSWITCH connected: the connection, and the slot its session will fill. On the event loop.
    private static func accept(
        _ channel: any Channel,
        deliversEvents: Bool,
        options: EventSocketConnection.Options,
        logger: Logger
    ) throws -> AcceptedCall {
        // Attached only if something is logged: most calls log nothing.
        let sessionLogger = DeferredLogger(logLevel: logger.logLevel) {
            var sessionLogger = logger
            sessionLogger[metadataKey: "esl.peer"] = channel.remoteAddress.map { .stringConvertible($0) } ?? "?"
            return sessionLogger
        }
        let session = SessionSlot()
        guard deliversEvents else {
            // No event goes to the handler: the call's bookkeeping runs here, on the event loop, as each input is
            // decoded, and the call needs no read task.
            let connection = try EventSocketConnection.install(
                on: channel,
                options: options,
                logger: sessionLogger,
                observeInline: { input in Self.observe(input, session: session, logger: sessionLogger) }
            )
            return AcceptedCall(connection: connection, session: session, deliversEvents: false)
        }
        let connection = try EventSocketConnection.install(on: channel, options: options, logger: sessionLogger)
        return AcceptedCall(connection: connection, session: session, deliversEvents: true)
    }

    private func admit(_ connection: EventSocketConnection) -> Bool {
        let admitted = state.withLock { state -> Bool in
            guard state.sessions.count < configuration.maxSessions else { return false }
            state.sessions[ObjectIdentifier(connection)] = connection.channel
            state.sessionsStarted += 1
            return true
        }
        if !admitted {
            logger.warning("refused a call: \(configuration.maxSessions) calls already running (maxSessions)")
            connection.channel.close(promise: nil)
        }
        return admitted
    }

    private func closeSessionsAfterDrainTimeout() async {
        let deadline = ContinuousClock.now + configuration.drainTimeout
        var reason = "drain timeout"
        while activeSessions > 0, ContinuousClock.now < deadline {
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                // Cancelled rather than shut down gracefully: stop waiting (a sleep that throws at once would
                // otherwise spin) and close what is left now.
                reason = "cancelled"
                break
            }
        }
        let remaining = state.withLock { Array($0.sessions.values) }
        if !remaining.isEmpty {
            logger.warning("\(reason): closing \(remaining.count) calls still running")
            for channel in remaining { channel.close(promise: nil) }
        }
    }

    /// One call. When events go to the handler, this task reads them and a child task runs the handler; otherwise
    /// the event loop does the reading (``observe(_:session:logger:)``) and this task runs the handler.
    private func runSession(_ call: AcceptedCall) async {
        let connection = call.connection
        let sessionBox = call.session
        guard call.deliversEvents else {
            await runHandler(connection, lanes: nil, sessionBox: sessionBox)
            return
        }
        let lanes = EventLanes()
        let handler = self.handler
        await withDiscardingTaskGroup { tasks in
            tasks.addTask {
                await self.runHandler(connection, lanes: lanes, sessionBox: sessionBox)
            }
            await connection.runReadLoop(lanes: lanes) { input in
                Self.observe(input, session: sessionBox, logger: connection.deferredLogger)
            } handle: { event in
                guard let session = sessionBox.session else { return }
                do {
                    try await handler.handle(event, in: session)
                } catch {
                    session.logger.error("handler failed on \(event.name): \(error)")
                }
            }
        }
    }

    /// The listener's own bookkeeping of a call's inputs: channel data, the end of the call, odd frames.
    private static func observe(_ input: ConnectionInput, session sessionBox: SessionSlot, logger: DeferredLogger) {
        switch input {
        case .event(let event):
            sessionBox.session?.refresh(from: event)
        case .disconnectNotice(let notice):
            if let session = sessionBox.session {
                session.markHungUp()
                if logger.logs(.debug) {
                    session.logger.debug("call ended", metadata: ["esl.linger": "\(notice.isLinger)"])
                }
            }
        case .unrecognized(let frame, let reason):
            logger.logger.warning(
                "ignored a frame: \(reason)",
                metadata: ["esl.content-type": "\(frame.contentType)"]
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
            connection.logger.error("call setup failed: \(error)")
            try? await connection.channel.close()
            return
        }
        sessionBox.session = session
        do {
            try await handler.run(session)
        } catch let error as SwitchboardError where error.code == .callHungUp {
            session.logger.info("the caller hung up: \(error.message)")
        } catch {
            session.logger.error("handler failed: \(error)")
        }
        // The call is over for the handler: let its event handling finish, then say goodbye.
        await lanes?.waitUntilIdle()
        await connection.close()
    }

    private func setUp(_ connection: EventSocketConnection) async throws -> OutboundSession {
        let reply = try await connection.send(.connect, timeout: configuration.setupTimeout)
        let channelData = try ChannelData(connectReply: reply.frame)
        let session = OutboundSession(connection: connection, channelData: channelData)
        if !channelData.socketMode.isAsyncFull {
            let first = state.withLock { state in
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
        if configuration.linger && channelData.socketMode.isFullControl { commands.append(.linger()) }
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

/// The session of a call, once `connect` succeeded; shared by its read task (or the event loop) and its session task.
private final class SessionSlot: Sendable {
    private let slot = Mutex<OutboundSession?>(nil)

    var session: OutboundSession? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}
