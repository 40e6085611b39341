import EventSocket
import Logging
import NIOCore
import SwitchboardDiagnostics
import Synchronization

/// A command on its way to FreeSWITCH, with the results that its reply (and, for `bgapi` and `execute`, its
/// completion event) will deliver.
struct CommandRequest: Sendable {
    /// What completes a command after its reply, when anything does.
    enum Completion: Sendable {
        /// The BACKGROUND_JOB with this Job-UUID.
        case job(String, AwaitedResult<EventSocketEvent>)
        /// The CHANNEL_EXECUTE_COMPLETE with this Application-UUID.
        case application(String, AwaitedResult<EventSocketEvent>)
    }

    var command: EventSocketCommand
    var reply = AwaitedResult<CommandReply>()
    var timeout: TimeAmount?
    var completion: Completion?
    var completionTimeout: TimeAmount?

    /// - Parameters:
    ///   - timeout: How long to wait for the reply; `nil` waits as long as the connection lives.
    ///   - completionTimeout: How long to wait for the completion event; `nil` waits as long as the connection lives.
    init(
        _ command: EventSocketCommand,
        timeout: Duration?,
        completion: Completion? = nil,
        completionTimeout: Duration? = nil
    ) {
        self.command = command
        self.timeout = timeout.map(TimeAmount.init)
        self.completion = completion
        self.completionTimeout = completionTimeout.map(TimeAmount.init)
    }
}

/// State shared by a connection's channel handler (on the event loop) and its tasks.
final class ConnectionShared: Sendable {
    let backlog: EventBacklog
    /// The listener's metrics (shared by all its connections).
    let metrics: ListenerMetrics
    private let closeReason = Mutex<(any Error)?>(nil)
    private let ended = Atomic<Bool>(false)

    /// Whether a disconnect notice said the call is over. Set on the event loop before any waiting application is
    /// failed with `callHungUp`, so that a handler that catches that error also sees the call as ended.
    var callHasEnded: Bool { ended.load(ordering: .acquiring) }

    func markCallEnded() { ended.store(true, ordering: .releasing) }

    init(backlog: EventBacklog, metrics: ListenerMetrics) {
        self.backlog = backlog
        self.metrics = metrics
    }

    /// Why the connection closed, when it was not a clean close. The first reason recorded wins.
    var reason: (any Error)? {
        get { closeReason.withLock { $0 } }
        set { closeReason.withLock { if $0 == nil { $0 = newValue } } }
    }
}

/// The thin channel handler of an event socket connection: it writes commands, hands each reply to the command in
/// flight (``ReplyCorrelation``), and passes everything else to the read task's ordered stream. It never waits on
/// user code.
///
/// Commands do not travel through the pipeline: the connection's tasks hand them to ``submit(_:)`` on the event
/// loop, which records them in the correlation and writes their bytes. So a command submitted after the channel
/// closed still reaches the handler and fails at once, and no write promise is needed per command.
///
/// Inputs travel in batches, one per read from the socket (flushed on `channelReadComplete`): a 64 KiB read holds
/// some twenty CHANNEL events, and waking the read task once per read rather than once per event is what lets a
/// connection keep up with FreeSWITCH at full speed.
///
/// One timer per connection covers every deadline (replies, jobs, applications): it is armed for the earliest one
/// and, when it fires, fails what is due and re-arms for the next. Replies do not cancel it; a timer with nothing
/// left to fail simply finds nothing.
final class EventSocketChannelHandler: ChannelInboundHandler {
    typealias InboundIn = EventSocketFrame
    typealias InboundOut = Never
    typealias OutboundOut = ByteBuffer

    private var correlation = ReplyCorrelation()
    private let sink: AsyncStream<[HandlerDelivery]>.Continuation
    private var pending: [HandlerDelivery] = []
    /// Events in `pending`, and events refused at the backlog limit, since the last flush: counted in the metrics
    /// once per read, not once per event.
    private var pendingEvents = 0
    private var droppedEvents = 0
    private let shared: ConnectionShared
    private let logger: Logger
    private var backlogWarned = false
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Events waiting for the handler beyond which the event loop parses events itself instead of the read task.
    static let unparsedBacklogLimit = 1_000

    /// How long applications running when the call ends may still complete (``EventSocketConnection/Options``).
    private let hangupGracePeriod: TimeAmount

    init(
        sink: AsyncStream<[HandlerDelivery]>.Continuation,
        shared: ConnectionShared,
        hangupGracePeriod: Duration = .seconds(2),
        logger: Logger
    ) {
        self.sink = sink
        self.shared = shared
        self.hangupGracePeriod = TimeAmount(hangupGracePeriod)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    // MARK: Outbound: commands

    /// Records and writes commands, in order, with one flush. Runs on the event loop.
    func submit(_ requests: some Sequence<CommandRequest>) {
        guard let context, !correlation.isClosed else {
            for request in requests { request.fail(disconnectedError(waitingFor: request.command.description)) }
            return
        }
        let now = NIODeadline.now()
        var buffer = context.channel.allocator.buffer(capacity: 256)
        for request in requests where record(request, now: now) {
            request.command.encode(into: &buffer)
        }
        if buffer.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
    }

    /// Registers a request's waiters and arms the timer for their deadlines; `false` when the request must not be
    /// written (it failed at once).
    private func record(_ request: CommandRequest, now: NIODeadline) -> Bool {
        var completionDeadline: NIODeadline?
        if let completion = request.completion {
            if case .application = completion, correlation.callEnded {
                request.fail(SwitchboardError(.callHungUp, "'\(request.command)' not sent: the call has ended"))
                return false
            }
            completionDeadline = correlation.awaitCompletion(
                completion,
                of: request.command,
                timeout: request.completionTimeout,
                now: now
            )
        }
        let replyDeadline = correlation.commandWritten(
            request.command,
            reply: request.reply,
            timeout: request.timeout,
            now: now
        )
        if let replyDeadline { arm(at: replyDeadline) }
        if let completionDeadline { arm(at: completionDeadline) }
        return true
    }

    /// Drops the waiter of a job or application whose caller no longer waits. Runs on the event loop.
    func forget(completion uuid: String) {
        correlation.forget(completion: uuid)?.fail(CancellationError())
    }

    private func arm(at deadline: NIODeadline) {
        guard let context else { return }
        if let armed = timerDeadline, armed <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = nil
            let expired = correlation.expire(now: .now())
            for (reply, error) in expired.replies where reply.fail(error) {
                logger.warning("\(error.message.loggable)", metadata: ["esl.error": "\(error.code)"])
            }
            for (completion, error) in expired.completions { completion.fail(error) }
            if let next = expired.nextDeadline { arm(at: next) }
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    // MARK: Inbound: frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.contentType {
        case .commandReply, .apiResponse:
            perform(correlation.replyReceived(CommandReply(frame)), context: context)
        case .eventPlain, .eventJSON, .eventXML:
            // While the read task keeps up, it parses events (on another core) and this thread only frames them. When
            // events pile up, this thread parses again: that slows its reading to the consumer's pace, and the
            // backlog stays bounded, instead of growing until the slow-consumer limit closes the connection.
            if !correlation.awaitsEvents, shared.backlog.current < Self.unparsedBacklogLimit {
                deliver(.eventFrame(frame), context: context, isEvent: true)
                return
            }
            let input = ConnectionInput(eventFrame: frame)
            guard case .event(let event) = input else {
                // Unreadable: the read task logs it, but no handler will see it.
                droppedEvents += 1
                deliver(input, context: context)
                return
            }
            perform(correlation.eventReceived(event), context: context)
            deliver(input, context: context, isEvent: true)
        case .authRequest:
            deliver(.authRequest, context: context)
        case .disconnectNotice:
            // Linger notice: the call ended, the socket stays, and FreeSWITCH still sends the completions of the
            // applications that were running (sometimes after this notice): they get a grace period. Plain notice: the
            // socket is about to close, which on an outbound socket also means the call is over: they fail now.
            // Either way, no application submitted from now on runs.
            let notice = DisconnectNotice(frame)
            shared.markCallEnded()
            let end = correlation.callDidEnd(now: .now(), gracePeriod: notice.isLinger ? hangupGracePeriod : nil)
            if !end.failed.isEmpty {
                let error = SwitchboardError(.callHungUp, "the call ended before the application completed")
                for waiter in end.failed { waiter.fail(error) }
            }
            if let deadline = end.graceDeadline { arm(at: deadline) }
            deliver(.disconnectNotice(notice), context: context)
        case .logData:
            deliver(.log(LogLine(frame)), context: context)
        case .rudeRejection:
            shared.reason = SwitchboardError(
                .connectionRejected,
                "FreeSWITCH at \(LoggablePeer(address: context.remoteAddress)) refused this client by its ACL: "
                    + frame.bodyText.trimmingCharacters(in: "\n").loggable
            )
            context.close(promise: nil)
        default:
            deliver(.unrecognized(frame, reason: "unknown Content-Type '\(frame.contentType)'"), context: context)
        }
    }

    private func perform(_ action: ReplyCorrelation.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .succeedReply(let waiter, let reply):
            waiter.succeed(reply)
        case .succeedCompletion(let waiter, let event):
            waiter.succeed(event)
        case .dropLateReply(let command):
            logger.debug(
                "dropped the late reply to a command that timed out",
                metadata: ["esl.command": "\(command.loggable)"]
            )
        case .unexpectedReply:
            logger.warning("FreeSWITCH sent a reply while no command was waiting; ignored")
        }
    }

    private func deliver(_ input: ConnectionInput, context: ChannelHandlerContext, isEvent: Bool = false) {
        deliver(.input(input), context: context, isEvent: isEvent)
    }

    private func deliver(_ delivery: HandlerDelivery, context: ChannelHandlerContext, isEvent: Bool = false) {
        let waiting = shared.backlog.added()
        if waiting > shared.backlog.limit {
            if isEvent { droppedEvents += 1 }
            shared.reason = SwitchboardError(
                .slowConsumer,
                "\(waiting) events were waiting for the handler (limit \(shared.backlog.limit))"
            )
            shared.backlog.handled()
            context.close(promise: nil)
            return
        }
        if waiting >= shared.backlog.warningThreshold, !backlogWarned {
            backlogWarned = true
            logger.warning(
                "slow consumer: \(waiting) events waiting for the handler",
                metadata: ["esl.backlog.limit": "\(shared.backlog.limit)"]
            )
        } else if backlogWarned, waiting < shared.backlog.warningThreshold / 2 {
            backlogWarned = false
        }
        if isEvent { pendingEvents += 1 }
        pending.append(delivery)
    }

    /// Hands the inputs of this read to the read task in one go, and counts its events.
    private func flush() {
        if pendingEvents + droppedEvents > 0 { countEvents() }
        guard !pending.isEmpty else { return }
        sink.yield(pending)
        pending.removeAll(keepingCapacity: true)
    }

    private func countEvents() {
        shared.metrics.eventsArrived(queued: pendingEvents, dropped: droppedEvents)
        pendingEvents = 0
        droppedEvents = 0
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    // MARK: Lifecycle

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Whoever owns the connection reports its end, in its own words and at its own pace (a listener that
        // reconnects does not repeat one failure every attempt); the reason travels in `shared.reason` and in the
        // errors of the commands that were waiting.
        shared.reason = error
        logger.debug("closing the connection: \(SwitchboardError.reasonText(error))")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        shutDown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shutDown()
        self.context = nil
    }

    /// The connection is gone: the timer stops, every waiter fails, the read task gets what is left and its end.
    private func shutDown() {
        disarm()
        let callEnded = correlation.callEnded
        let waiters = correlation.close()
        if !waiters.replies.isEmpty || !waiters.completions.isEmpty {
            let error = disconnectedError(waitingFor: nil)
            for waiter in waiters.replies { waiter.fail(error) }
            for waiter in waiters.jobs { waiter.fail(error) }
            // Applications still in their grace period: the call had ended, which says more than the close.
            let applicationError =
                callEnded ? SwitchboardError(.callHungUp, "the call ended before the application completed") : error
            for waiter in waiters.applications { waiter.fail(applicationError) }
        }
        flush()
        sink.finish()
    }

    private func disconnectedError(waitingFor command: String?) -> SwitchboardError {
        var message = "the connection closed"
        if let command { message += " before '\(command)' could be sent" }
        if let reason = shared.reason { message += " (\(SwitchboardError.reasonText(reason)))" }
        return SwitchboardError(.disconnected, message)
    }
}

extension CommandRequest {
    /// Fails whoever waits for this command (its reply and its completion) when it could not be written.
    func fail(_ error: any Error) {
        reply.fail(error)
        switch completion {
        case .job(_, let result), .application(_, let result): result.fail(error)
        case nil: break
        }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.last == set { text = text.dropLast() }
        while text.first == set { text = text.dropFirst() }
        return String(text)
    }
}
