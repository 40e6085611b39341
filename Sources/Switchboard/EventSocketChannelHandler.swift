import EventSocket
import Logging
import NIOConcurrencyHelpers
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
    private let closeReason = NIOLockedValueBox<(any Error)?>(nil)
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
        get { closeReason.withLockedValue { $0 } }
        set { closeReason.withLockedValue { if $0 == nil { $0 = newValue } } }
    }
}

/// The thin channel handler of an event socket connection: it frames the bytes FreeSWITCH sends
/// (``EventSocket/EventSocketFrameDecoder``), writes commands, hands each reply to the command in flight
/// (``ReplyCorrelation``), and passes everything else to the read task's ordered stream. It never waits on user code.
///
/// It frames the bytes itself rather than behind NIO's `ByteToMessageHandler`: that handler is generic over its
/// decoder and runs unspecialized from NIOCore, which cost more per frame (type metadata look-ups, a pipeline hop
/// per frame) than the framing itself.
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
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Never
    typealias OutboundOut = ByteBuffer

    /// Where inputs go.
    enum Sink {
        /// To the read task, one batch per socket read.
        case readTask(AsyncStream<[HandlerDelivery]>.Continuation)
        /// To a closure that runs here, on the event loop, for each input as it is decoded: a connection whose
        /// inputs need only bookkeeping (an outbound call whose handler takes no events) has no read task at all.
        case inline((ConnectionInput) -> Void)
    }

    private var correlation = ReplyCorrelation()
    private var decoder: EventSocketFrameDecoder
    /// Bytes read that do not make a whole frame yet.
    private var unframed: ByteBuffer?
    /// Set once the bytes could not be framed: the connection is closing, and nothing more is read.
    private var framingFailed = false
    /// Set while frames of a read are handled: a close in between must not frame the rest again.
    private var framing = false
    private var isInactive = false
    /// ``EventSocketConnection/close()`` waiting, after `exit`, for FreeSWITCH to close the socket; at the deadline
    /// this handler closes it instead.
    private var closeWaiter: (closed: AwaitedResult<SocketClosed>, deadline: NIODeadline)?
    private var sink: Sink
    private var pending: [HandlerDelivery] = []
    /// Events in `pending`, and events refused at the backlog limit, since the last flush: counted in the metrics
    /// once per read, not once per event.
    private var pendingEvents = 0
    private var droppedEvents = 0
    /// Events a connection without a read task took on the event loop since the last flush: received, never queued.
    private var inlineEvents = 0
    private let shared: ConnectionShared
    private let deferredLogger: DeferredLogger
    private var logger: Logger { deferredLogger.logger }
    private var backlogWarned = false
    private var context: ChannelHandlerContext?
    /// The connection's one timer (a scheduled callback: no promise or future per arming).
    private var timer: NIOScheduledCallback?
    private var timerDeadline: NIODeadline?
    /// Events waiting for the handler beyond which the event loop parses events itself instead of the read task.
    static let unparsedBacklogLimit = 1_000

    /// How long applications running when the call ends may still complete (``EventSocketConnection/Options``).
    private let hangupGracePeriod: TimeAmount

    init(
        sink: Sink,
        shared: ConnectionShared,
        frameLimits: EventSocketFrameDecoder.Limits = .init(),
        hangupGracePeriod: Duration = .seconds(2),
        logger: DeferredLogger
    ) {
        self.decoder = EventSocketFrameDecoder(limits: frameLimits)
        self.sink = sink
        self.shared = shared
        self.hangupGracePeriod = TimeAmount(hangupGracePeriod)
        self.deferredLogger = logger
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

    /// Delivers `closed` once the socket is closed, and closes it at `deadline` if FreeSWITCH has not by then. Runs
    /// on the event loop.
    func awaitClose(_ closed: AwaitedResult<SocketClosed>, deadline: NIODeadline) {
        guard !isInactive else {
            closed.succeed(SocketClosed())
            return
        }
        closeWaiter = (closed, deadline)
        arm(at: deadline)
    }

    /// Drops the waiter of a job or application whose caller no longer waits. Runs on the event loop.
    func forget(completion uuid: String) {
        correlation.forget(completion: uuid)?.fail(CancellationError())
    }

    private func arm(at deadline: NIODeadline) {
        guard let context, !isInactive else { return }
        if let armed = timerDeadline, armed <= deadline { return }
        let loop = context.eventLoop.assumeIsolated()
        if let timer { loop.cancelScheduledCallback(timer) }
        timerDeadline = deadline
        timer = try? loop.scheduleCallback(at: deadline, handler: self)
    }

    /// The timer fired: fails what is due, closes a socket FreeSWITCH did not close after `exit`, re-arms.
    private func timerFired() {
        timer = nil
        timerDeadline = nil
        let now = NIODeadline.now()
        let expired = correlation.expire(now: now)
        for (reply, error) in expired.replies where reply.fail(error) {
            logger.warning("\(error.message.loggable)", metadata: ["esl.error": "\(error.code)"])
        }
        for (completion, error) in expired.completions { completion.fail(error) }
        if let waiter = closeWaiter, waiter.deadline <= now {
            // FreeSWITCH did not close after `exit`: close from this side (which delivers the waiter).
            context?.close(promise: nil)
        }
        if let next = expired.nextDeadline { arm(at: next) }
        if let waiter = closeWaiter { arm(at: waiter.deadline) }
    }

    private func disarm() {
        if let timer, let context { context.eventLoop.assumeIsolated().cancelScheduledCallback(timer) }
        timer = nil
        timerDeadline = nil
    }

    // MARK: Inbound: frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !framingFailed, !isInactive else { return }
        var bytes = unwrapInboundIn(data)
        if var partial = unframed {
            unframed = nil  // `partial` alone holds the bytes now: appending to them need not copy them.
            guard complete(&partial, from: &bytes, context: context) else { return }
        }
        frames(in: &bytes, atEnd: false, context: context)
    }

    /// Completes the frame an earlier read began (`partial`) with the start of this read, and hands it on. Only what
    /// the frame needs is copied, in pieces of 4 KiB and then twice as much each time: the rest of the read is framed
    /// where it lies, not copied behind the partial frame (at a hundred thousand events a second, that copy was a
    /// twentieth of the listener's time). Returns `false` when this read ended inside the frame too (kept for the
    /// next one) or framing failed.
    private func complete(
        _ partial: inout ByteBuffer,
        from bytes: inout ByteBuffer,
        context: ChannelHandlerContext
    ) -> Bool {
        framing = true
        defer { framing = false }
        // Compact only once more was consumed than is left, so that a long body arriving in many reads is not moved
        // again with each of them.
        if partial.readerIndex > partial.readableBytes { partial.discardReadBytes() }
        var pieceLength = 4_096
        do {
            while var piece = bytes.readSlice(length: min(pieceLength, bytes.readableBytes)), piece.readableBytes > 0 {
                partial.writeBuffer(&piece)
                if let frame = try decoder.decode(buffer: &partial) {
                    // The frame needed part of the last piece; what it left of `partial` is the end of that piece,
                    // still in `bytes`: frame it there.
                    bytes.moveReaderIndex(to: bytes.readerIndex - partial.readableBytes)
                    received(frame, context: context)
                    return !isInactive
                }
                pieceLength *= 2
            }
        } catch {
            framingFailed = true
            errorCaught(context: context, error: error)
            return false
        }
        unframed = partial
        return false
    }

    /// Hands every whole frame in `bytes` on, in order, and keeps the rest for the next read. At the end of the
    /// stream, a partial frame left over is an error.
    private func frames(in bytes: inout ByteBuffer, atEnd: Bool, context: ChannelHandlerContext) {
        framing = true
        defer { framing = false }
        do {
            while !isInactive,
                let frame = try atEnd
                    ? decoder.decodeLast(buffer: &bytes, seenEOF: true) : decoder.decode(buffer: &bytes)
            {
                received(frame, context: context)
            }
        } catch {
            framingFailed = true
            errorCaught(context: context, error: error)
            return
        }
        if bytes.readableBytes > 0, !atEnd { unframed = bytes }
    }

    private func received(_ frame: EventSocketFrame, context: ChannelHandlerContext) {
        let contentType = frame.contentType
        switch contentType {
        case .commandReply, .apiResponse:
            perform(correlation.replyReceived(CommandReply(frame)), context: context)
        case .eventPlain, .eventJSON, .eventXML:
            receivedEvent(frame, plain: contentType == .eventPlain, context: context)
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

    /// An event frame: parsed here only when something on this thread needs to look into it.
    private func receivedEvent(_ frame: EventSocketFrame, plain: Bool, context: ChannelHandlerContext) {
        // The name of a plain event is on its first line: a quick look tells most events apart without parsing them.
        // Only asked for when it matters (no wait, no bookkeeping on this thread: every event goes to the read task).
        var inline = false
        if case .inline = sink { inline = true }
        let name =
            plain && (inline || correlation.awaitsEvents)
            ? frame.leadingEventName(among: NotableEvent.names).map(NotableEvent.init(index:)) : nil
        func mayBe(_ notable: NotableEvent) -> Bool { name == nil || name == notable }
        // Only a BACKGROUND_JOB or a CHANNEL_EXECUTE_COMPLETE can end a wait.
        let completes = correlation.awaitsEvents && (mayBe(.executeComplete) || mayBe(.backgroundJob))
        switch sink {
        case .readTask:
            // While the read task keeps up, it parses events (on another core) and this thread only frames them.
            // When events pile up, this thread parses again: that slows its reading to the consumer's pace, and the
            // backlog stays bounded, instead of growing until the slow-consumer limit closes the connection.
            if !completes, shared.backlog.current < Self.unparsedBacklogLimit {
                deliver(.eventFrame(frame), context: context, isEvent: true)
                return
            }
        case .inline:
            // Bookkeeping on the event loop wants only the events that carry new channel data.
            if !completes, !mayBe(.executeComplete), !mayBe(.channelData) {
                inlineEvents += 1
                return
            }
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
        if case .inline(let observe) = sink {
            // Nothing waits in between: no backlog to count.
            if isEvent { inlineEvents += 1 }
            observe(delivery.input)
            return
        }
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
        if pendingEvents + droppedEvents + inlineEvents > 0 { countEvents() }
        guard !pending.isEmpty, case .readTask(let stream) = sink else { return }
        stream.yield(pending)
        pending.removeAll(keepingCapacity: true)
    }

    private func countEvents() {
        shared.metrics.eventsArrived(queued: pendingEvents, dropped: droppedEvents, inline: inlineEvents)
        pendingEvents = 0
        droppedEvents = 0
        inlineEvents = 0
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
        // What is left unframed must be whole frames (FreeSWITCH closes after a complete one): say so if not.
        if !framing, !framingFailed, var rest = unframed {
            unframed = nil
            frames(in: &rest, atEnd: true, context: context)
        }
        shutDown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shutDown()
        self.context = nil
    }

    /// The connection is gone: the timer stops, every waiter fails, the read task gets what is left and its end.
    private func shutDown() {
        isInactive = true
        unframed = nil
        disarm()
        closeWaiter?.closed.succeed(SocketClosed())
        closeWaiter = nil
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
        switch sink {
        case .readTask(let stream):
            stream.finish()
        case .inline:
            // The closure holds the call's session, which holds the connection, which holds this handler: let go
            // of it, or every call without a read task would stay in memory.
            sink = .inline { _ in }
        }
    }

    private func disconnectedError(waitingFor command: String?) -> SwitchboardError {
        var message = "the connection closed"
        if let command { message += " before '\(command)' could be sent" }
        if let reason = shared.reason { message += " (\(SwitchboardError.reasonText(reason)))" }
        return SwitchboardError(.disconnected, message)
    }
}

extension EventSocketChannelHandler: NIOScheduledCallbackHandler {
    func handleScheduledCallback(eventLoop: some EventLoop) { timerFired() }
}

/// The events the channel handler may have to look into, told apart by the name on their first line.
private enum NotableEvent {
    case executeComplete, backgroundJob, channelData, other

    /// Their names, in the order of the cases.
    static let names: [StaticString] = ["CHANNEL_EXECUTE_COMPLETE", "BACKGROUND_JOB", "CHANNEL_DATA"]

    /// The event at `index` in ``names``; any other index is another event.
    init(index: Int) {
        switch index {
        case 0: self = .executeComplete
        case 1: self = .backgroundJob
        case 2: self = .channelData
        default: self = .other
        }
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
