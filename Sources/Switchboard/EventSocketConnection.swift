import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwitchboardDiagnostics

/// One event socket connection to FreeSWITCH, inbound or outbound: send commands, run `api` and `bgapi`, fire events.
///
/// Commands are written in the order they are called and FreeSWITCH answers them in that order, so any number of
/// tasks may issue commands at once: each gets its own reply. Every command has a timeout (the connection's default
/// or the one given per call); a timeout fails only that call. When the connection closes, every pending command,
/// job and application fails with ``SwitchboardError/Code/disconnected``: nothing waits forever.
public final class EventSocketConnection: Sendable {
    /// Settings shared by every connection of a listener.
    public struct Options: Sendable {
        /// Switchboard's wait for a command's reply when the call gives none; `nil` waits for as long as the
        /// connection lives. FreeSWITCH is not told: it finishes the command, and the late reply is dropped.
        public var commandTimeout: Duration?
        /// Frame size limits for the decoder.
        public var frameLimits: EventSocketFrameDecoder.Limits
        /// Events waiting for the handler at which a slow-consumer warning is logged.
        public var backlogWarningThreshold: Int
        /// Events waiting for the handler at which the connection is closed (FreeSWITCH itself queues 100,000).
        public var backlogLimit: Int
        /// On an outbound socket with `linger`: how long the applications running when the call ends may still
        /// deliver their CHANNEL_EXECUTE_COMPLETE (FreeSWITCH may send it just after the disconnect notice), measured
        /// from the notice's arrival. Those still waiting then throw ``SwitchboardError/Code/callHungUp``; an
        /// application submitted after the notice throws at once. Default 2 s.
        public var hangupGracePeriod: Duration

        /// Creates options; the defaults suit a production switch.
        public init(
            commandTimeout: Duration? = .seconds(30),
            frameLimits: EventSocketFrameDecoder.Limits = .init(),
            backlogWarningThreshold: Int = 10_000,
            backlogLimit: Int = 100_000,
            hangupGracePeriod: Duration = .seconds(2)
        ) {
            self.commandTimeout = commandTimeout
            self.frameLimits = frameLimits
            self.backlogWarningThreshold = backlogWarningThreshold
            self.backlogLimit = backlogLimit
            self.hangupGracePeriod = hangupGracePeriod
        }
    }

    /// The NIO channel underneath.
    public let channel: any Channel
    /// The logger of this connection, with its metadata (listener, peer, call).
    public var logger: Logger { deferredLogger.logger }
    /// The same, its metadata attached on first use.
    let deferredLogger: DeferredLogger
    /// The options this connection runs with.
    public let options: Options

    let shared: ConnectionShared
    /// The channel handler, which takes commands on the event loop.
    private let handler: NIOLoopBound<EventSocketChannelHandler>
    /// What the channel handler passed on, one batch per read from the socket.
    let inputs: AsyncStream<[HandlerDelivery]>
    private let subscriptions = NIOLockedValueBox(Subscriptions())

    private struct Subscriptions {
        var format: EventSocketEvent.Format = .plain
        var backgroundJobs = false
        var filtered = false
        var backgroundJobsPassFilters = false
    }

    private init(
        channel: any Channel,
        inputs: AsyncStream<[HandlerDelivery]>,
        handler: NIOLoopBound<EventSocketChannelHandler>,
        shared: ConnectionShared,
        options: Options,
        logger: DeferredLogger
    ) {
        self.channel = channel
        self.inputs = inputs
        self.handler = handler
        self.shared = shared
        self.options = options
        self.deferredLogger = logger
    }

    /// Installs the decoder and the channel handler on a fresh channel and wraps it. Runs on the channel's loop.
    static func install(
        on channel: any Channel,
        options: Options,
        metrics: ListenerMetrics,
        logger: Logger
    ) throws -> EventSocketConnection {
        try install(on: channel, options: options, metrics: metrics, logger: DeferredLogger(logger))
    }

    /// Installs the decoder and the channel handler on a fresh channel and wraps it. Runs on the channel's loop.
    ///
    /// - Parameter observeInline: When given, every input (event, notice, …) goes to this closure on the event loop
    ///   as it is decoded, and the connection has no read task: ``inputs`` ends at once.
    static func install(
        on channel: any Channel,
        options: Options,
        metrics: ListenerMetrics,
        logger: DeferredLogger,
        observeInline: ((ConnectionInput) -> Void)? = nil
    ) throws -> EventSocketConnection {
        let (inputs, stream) = AsyncStream<[HandlerDelivery]>.makeStream()
        let sink: EventSocketChannelHandler.Sink
        if let observeInline {
            stream.finish()
            sink = .inline(observeInline)
        } else {
            sink = .readTask(stream)
        }
        let shared = ConnectionShared(
            backlog: EventBacklog(warningThreshold: options.backlogWarningThreshold, limit: options.backlogLimit),
            metrics: metrics
        )
        let handler = EventSocketChannelHandler(
            sink: sink,
            shared: shared,
            frameLimits: options.frameLimits,
            hangupGracePeriod: options.hangupGracePeriod,
            logger: logger
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        return EventSocketConnection(
            channel: channel,
            inputs: inputs,
            handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
            shared: shared,
            options: options,
            logger: logger
        )
    }

    /// Connects to FreeSWITCH's event socket without logging in; the caller reads the greeting.
    ///
    /// - Throws: ``SwitchboardError`` with a code and a sentence for each way a connect fails: refused, timed out,
    ///   host not found, host unreachable.
    static func connect(
        host: String,
        port: Int,
        options: Options,
        metrics: ListenerMetrics,
        connectTimeout: Duration = .seconds(10),
        logger: Logger,
        group: any EventLoopGroup
    ) async throws -> EventSocketConnection {
        do {
            return try await ClientBootstrap(group: group)
                .connectTimeout(TimeAmount(connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try install(on: channel, options: options, metrics: metrics, logger: logger)
                    }
                }
        } catch {
            throw SwitchboardError.connectFailed(
                error,
                peer: SocketAddress.loggable(host: host, port: port),
                timeout: connectTimeout
            )
        }
    }

    // MARK: - Commands

    /// Sends a command and returns FreeSWITCH's reply, whether `+OK` or `-ERR`.
    ///
    /// - Parameter timeout: Switchboard's wait for the reply; `nil` uses ``Options/commandTimeout``.
    public func send(_ command: EventSocketCommand, timeout: Duration? = nil) async throws -> CommandReply {
        try await submit(CommandRequest(command, timeout: timeout ?? options.commandTimeout))
    }

    /// Sends a command and returns its reply; a `-ERR` reply throws ``EventSocket/EventSocketError/Code/commandFailed``.
    @discardableResult
    public func command(_ command: EventSocketCommand, timeout: Duration? = nil) async throws -> CommandReply {
        let reply = try await send(command, timeout: timeout)
        try reply.check(for: command)
        return reply
    }

    /// Runs an API command (`api <command> <arguments>`) and returns its output.
    ///
    /// FreeSWITCH runs `api` inline and answers nothing else on this socket meanwhile; use ``backgroundAPI(_:_:timeout:)``
    /// for slow commands such as `originate`. Output that starts with `-ERR` (or `-USAGE`) throws
    /// ``EventSocket/EventSocketError/Code/commandFailed`` with FreeSWITCH's text.
    /// - Parameter timeout: Switchboard's wait for the output; `nil` uses ``Options/commandTimeout``. FreeSWITCH
    ///   still finishes the command.
    public func api(_ command: String, _ arguments: String? = nil, timeout: Duration? = nil) async throws -> String {
        let request = try EventSocketCommand.api(command, arguments: arguments)
        let reply = try await send(request, timeout: timeout)
        try reply.check(for: request)
        return reply.text
    }

    /// Runs an API command in the background (`bgapi`) and returns its output when the BACKGROUND_JOB event with its
    /// Job-UUID arrives. Many jobs may be in flight at once; each is matched by its own Job-UUID.
    ///
    /// The connection subscribes to BACKGROUND_JOB on first use when it is not subscribed yet.
    /// - Parameter timeout: Switchboard's wait for the job's result; `nil` waits as long as the connection lives.
    ///   FreeSWITCH still runs the job to its end.
    public func backgroundAPI(
        _ command: String,
        _ arguments: String? = nil,
        timeout: Duration? = nil
    ) async throws -> String {
        let output = try await backgroundJobOutput(command, arguments, timeout: timeout)
        if output.hasPrefix("-ERR") || output.hasPrefix("-USAGE") {
            throw EventSocketError(.commandFailed, "'bgapi \(command)' failed: \(output.trimmingCharacters(in: "\n"))")
        }
        return output
    }

    /// The output of a `bgapi` job as FreeSWITCH sent it, `-ERR` included.
    func backgroundJobOutput(_ command: String, _ arguments: String?, timeout: Duration?) async throws -> String {
        try await ensureBackgroundJobSubscription()
        let jobUUID = UUIDString.random()
        let request = try EventSocketCommand.backgroundAPI(command, arguments: arguments, jobUUID: jobUUID)
        let job = AwaitedResult<EventSocketEvent>()
        let reply = try await submit(
            CommandRequest(
                request,
                timeout: options.commandTimeout,
                completion: .job(jobUUID, job),
                completionTimeout: timeout
            )
        )
        if reply.isError { forgetCompletion(jobUUID) }
        try reply.check(for: request)
        let event = try await awaitCompletion(jobUUID, job, of: request)
        let output = event.body ?? ""
        if output.hasPrefix("-ERR") || output.hasPrefix("-USAGE") { shared.metrics.commands(for: request).failed() }
        return output
    }

    /// Subscribes to events (`event <format> <names…> [CUSTOM <subclasses…>]`).
    public func subscribe(
        to names: [String],
        customSubclasses: [String] = [],
        format: EventSocketEvent.Format = .plain
    ) async throws {
        try await command(.event(format, names: names, customSubclasses: customSubclasses))
        subscriptions.withLockedValue { state in
            state.format = format
            if names.contains("ALL") || names.contains("BACKGROUND_JOB") { state.backgroundJobs = true }
        }
    }

    /// Adds a filter: once any exists, only events whose `header` matches `value` (or `/regex/`) pass.
    ///
    /// BACKGROUND_JOB events are let through as well (`filter Event-Name BACKGROUND_JOB`), so that
    /// ``backgroundAPI(_:_:timeout:)`` keeps working on a filtered connection.
    public func addFilter(header: String, value: String) async throws {
        try await command(.filter(header: header, value: value))
        subscriptions.withLockedValue { $0.filtered = true }
        try await letBackgroundJobsThroughFilters()
    }

    /// Removes a filter, or all filters when `header` is `nil`.
    public func removeFilter(header: String?, value: String? = nil) async throws {
        try await command(.filterDelete(header: header, value: value))
    }

    /// Fires an event into FreeSWITCH (`sendevent`) and returns its Event-UUID.
    @discardableResult
    public func sendEvent(_ name: String, headers: EventSocketHeaders, body: String? = nil) async throws -> String {
        try await command(.sendEvent(name, headers: headers, body: body)).message
    }

    /// Runs a dialplan application on any channel (`sendmsg <uuid>`) and returns once FreeSWITCH accepted it. To wait
    /// for the application to finish, the connection must receive that channel's CHANNEL_EXECUTE_COMPLETE events;
    /// ``OutboundSession`` does this for its own call.
    public func sendApplication(_ execution: ApplicationExecution, to uuid: String) async throws {
        try await command(.execute(execution, uuid: uuid))
    }

    /// Says goodbye (`exit`) and waits (up to two seconds) for FreeSWITCH to close the socket after its goodbye
    /// notice, then closes it in any case.
    public func close() async {
        if channel.isActive, (try? await send(.exit, timeout: .seconds(2))) != nil {
            // The channel handler delivers `closed` when the socket closes, and closes it itself after two seconds.
            let closed = AwaitedResult<SocketClosed>()
            let deadline = NIODeadline.now() + .seconds(2)
            onEventLoop { $0.awaitClose(closed, deadline: deadline) }
            if (try? await closed.value()) != nil { return }
        }
        try? await channel.close()
    }

    /// Whether the socket is still open.
    public var isActive: Bool { channel.isActive }

    /// The address of FreeSWITCH's end.
    public var remoteAddress: SocketAddress? { channel.remoteAddress }

    /// An executor that runs tasks on the thread that does this connection's I/O (its event loop).
    ///
    /// A task that prefers it sends its commands and takes their replies without handing over to another thread: by
    /// default a command is handed to the event loop to be written, and its reply wakes a thread of the cooperative
    /// pool to resume the caller, two wake-ups per round trip instead of one. Worth it for code that runs many
    /// commands one after the other:
    ///
    /// ```swift
    /// try await withTaskExecutorPreference(connection.executor) {
    ///     for uuid in calls { try await connection.kill(uuid) }
    /// }
    /// ```
    ///
    /// Such a task must not block or compute for long: while it runs, the event loop reads and writes for no
    /// connection of its thread.
    public var executor: any TaskExecutor { EventLoopExecutor(eventLoop: channel.eventLoop) }

    // MARK: - Internals

    /// Writes a command and waits for its reply; a completion (job or application) is registered before the write.
    func submit(_ request: CommandRequest) async throws -> CommandReply {
        let counters = shared.metrics.commands(for: request.command)
        counters.sent()
        let start = counters.timesRoundTrip ? NIODeadline.now() : nil
        enqueue(CollectionOfOne(request))
        do {
            let reply = try await request.reply.value()
            if let start {
                shared.metrics.apiAnswered(after: NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds)
            }
            if reply.isError { counters.failed() }
            return reply
        } catch {
            counters.countFailure(error)
            throw error
        }
    }

    /// Writes several commands in one flush and returns their replies in order, `-ERR` ones included.
    ///
    /// FreeSWITCH answers commands in the order it reads them, so commands that do not depend on each other's
    /// replies (an outbound call's `myevents` and `linger`) need not each wait a round trip.
    func sendPipelined(_ commands: [EventSocketCommand], timeout: Duration?) async throws -> [CommandReply] {
        let requests = commands.map { CommandRequest($0, timeout: timeout) }
        let counters = commands.map { shared.metrics.commands(for: $0) }
        for counter in counters { counter.sent() }
        enqueue(requests)
        var replies: [CommandReply] = []
        for (request, counter) in zip(requests, counters) {
            do {
                let reply = try await request.reply.value()
                if reply.isError { counter.failed() }
                replies.append(reply)
            } catch {
                counter.countFailure(error)
                throw error
            }
        }
        return replies
    }

    /// Hands commands to the channel handler on the event loop.
    private func enqueue(_ requests: some Collection<CommandRequest> & Sendable) {
        onEventLoop { $0.submit(requests) }
    }

    /// Runs `body` with the channel handler on the event loop: at once when called there (a task on ``executor``
    /// needs no hand-off), otherwise as soon as the loop gets to it.
    private func onEventLoop(_ body: @escaping @Sendable (EventSocketChannelHandler) -> Void) {
        let handler = self.handler
        if channel.eventLoop.inEventLoop {
            body(handler.value)
        } else {
            channel.eventLoop.execute { body(handler.value) }
        }
    }

    /// Waits for a job or application completion; a cancelled caller fails it and drops its waiter.
    ///
    /// - Parameter command: The `bgapi` or `execute` whose completion this is, whose metrics count a timeout.
    func awaitCompletion(
        _ uuid: String,
        _ completion: AwaitedResult<EventSocketEvent>,
        of command: EventSocketCommand
    ) async throws -> EventSocketEvent {
        do {
            return try await withTaskCancellationHandler {
                try await completion.value()
            } onCancel: {
                forgetCompletion(uuid)
            }
        } catch {
            shared.metrics.commands(for: command).countFailure(error)
            throw error
        }
    }

    /// Drops the waiter for a completion that will never be awaited.
    func forgetCompletion(_ uuid: String) {
        onEventLoop { $0.forget(completion: uuid) }
    }

    func setSubscriptionFormat(_ format: EventSocketEvent.Format, backgroundJobs: Bool) {
        subscriptions.withLockedValue {
            $0.format = format
            $0.backgroundJobs = $0.backgroundJobs || backgroundJobs
        }
    }

    /// Records that the listener's own filters already let BACKGROUND_JOB through.
    func setFiltered(backgroundJobsPass: Bool) {
        subscriptions.withLockedValue {
            $0.filtered = true
            $0.backgroundJobsPassFilters = $0.backgroundJobsPassFilters || backgroundJobsPass
        }
    }

    private func letBackgroundJobsThroughFilters() async throws {
        let needed = subscriptions.withLockedValue { state -> Bool in
            guard state.filtered, !state.backgroundJobsPassFilters else { return false }
            state.backgroundJobsPassFilters = true
            return true
        }
        if needed { try await command(.filter(header: "Event-Name", value: "BACKGROUND_JOB")) }
    }

    private func ensureBackgroundJobSubscription() async throws {
        let (subscribed, format) = subscriptions.withLockedValue { ($0.backgroundJobs, $0.format) }
        guard !subscribed else { return }
        try await command(.event(format, names: ["BACKGROUND_JOB"]))
        subscriptions.withLockedValue { $0.backgroundJobs = true }
    }
}
