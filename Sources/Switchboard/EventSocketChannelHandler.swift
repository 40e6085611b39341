import EventSocket
import Logging
import NIOCore
import Synchronization

/// A command on its way to FreeSWITCH, with the promises that its reply (and, for `bgapi` and `execute`, its
/// completion event) will fulfil.
struct CommandRequest: Sendable {
    /// What completes a command after its reply, when anything does.
    enum Completion: Sendable {
        /// The BACKGROUND_JOB with this Job-UUID.
        case job(String, EventLoopPromise<EventSocketEvent>)
        /// The CHANNEL_EXECUTE_COMPLETE with this Application-UUID.
        case application(String, EventLoopPromise<EventSocketEvent>)
    }

    var command: EventSocketCommand
    var reply: EventLoopPromise<CommandReply>
    var timeout: TimeAmount?
    var completion: Completion?
    var completionTimeout: TimeAmount?
}

/// Tells the channel handler to drop a job or application waiter whose caller no longer waits (its command was
/// refused, or its task was cancelled).
struct ForgetCompletion: Sendable {
    let uuid: String
}

/// State shared by a connection's channel handler (on the event loop) and its tasks.
final class ConnectionShared: Sendable {
    let backlog: EventBacklog
    private let closeReason = Mutex<(any Error)?>(nil)
    private let ended = Atomic<Bool>(false)

    /// Whether a disconnect notice said the call is over. Set on the event loop before any waiting application is
    /// failed with `callHungUp`, so that a handler that catches that error also sees the call as ended.
    var callHasEnded: Bool { ended.load(ordering: .acquiring) }

    func markCallEnded() { ended.store(true, ordering: .releasing) }

    init(backlog: EventBacklog) { self.backlog = backlog }

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
/// Inputs travel in batches, one per read from the socket (flushed on `channelReadComplete`): a 64 KiB read holds
/// some twenty CHANNEL events, and waking the read task once per read rather than once per event is what lets a
/// connection keep up with FreeSWITCH at full speed.
final class EventSocketChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = EventSocketFrame
    typealias InboundOut = Never
    typealias OutboundIn = CommandRequest
    typealias OutboundOut = ByteBuffer

    private var correlation = ReplyCorrelation()
    private let sink: AsyncStream<[ConnectionInput]>.Continuation
    private var pending: [ConnectionInput] = []
    private let shared: ConnectionShared
    private let logger: Logger
    private var backlogWarned = false

    init(sink: AsyncStream<[ConnectionInput]>.Continuation, shared: ConnectionShared, logger: Logger) {
        self.sink = sink
        self.shared = shared
        self.logger = logger
    }

    // MARK: Outbound: commands

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if correlation.isClosed {
            let error = disconnectedError(waitingFor: request.command.description)
            request.reply.fail(error)
            request.completion?.fail(error)
            promise?.fail(error)
            return
        }
        switch request.completion {
        case .job(let uuid, let completion):
            correlation.awaitJob(uuid, promise: completion)
            scheduleCompletionTimeout(context: context, uuid: uuid, after: request.completionTimeout, what: request)
        case .application(let uuid, let completion):
            if correlation.callEnded {
                let error = SwitchboardError(.callHungUp, "'\(request.command)' not sent: the call has ended")
                request.reply.fail(error)
                completion.fail(error)
                promise?.fail(error)
                return
            }
            correlation.awaitApplication(uuid, promise: completion)
            scheduleCompletionTimeout(context: context, uuid: uuid, after: request.completionTimeout, what: request)
        case nil:
            break
        }
        let id = correlation.commandWritten(request.command.description, promise: request.reply)
        if let timeout = request.timeout {
            let task = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                perform(correlation.timedOut(id, after: timeout), context: context)
            }
            correlation.setTimeout(task, for: id)
        }
        var buffer = context.channel.allocator.buffer(capacity: 128)
        request.command.encode(into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let forget = event as? ForgetCompletion {
            correlation.forget(completion: forget.uuid)?.fail(CancellationError())
            promise?.succeed()
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    private func scheduleCompletionTimeout(
        context: ChannelHandlerContext,
        uuid: String,
        after timeout: TimeAmount?,
        what request: CommandRequest
    ) {
        guard let timeout else { return }
        let description = request.command.description
        let task = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            let seconds = Double(timeout.nanoseconds) / 1e9
            correlation.forget(completion: uuid)?.fail(
                SwitchboardError(.commandTimedOut, "'\(description)' did not complete within \(seconds) s")
            )
        }
        correlation.setCompletionTimeout(task, for: uuid)
    }

    // MARK: Inbound: frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.contentType {
        case .commandReply, .apiResponse:
            perform(correlation.replyReceived(CommandReply(frame)), context: context)
        case .eventPlain, .eventJSON, .eventXML:
            do {
                let event = try EventSocketEvent(frame: frame)
                perform(correlation.eventReceived(event), context: context)
                deliver(.event(event), context: context)
            } catch {
                deliver(.unrecognized(frame, reason: "\(error)"), context: context)
            }
        case .authRequest:
            deliver(.authRequest, context: context)
        case .disconnectNotice:
            // Linger notice: the call ended, the socket stays. Plain notice: the socket is about to close, which on
            // an outbound socket also means the call is over. Either way, no waiting application can complete.
            let error = SwitchboardError(.callHungUp, "the call ended before the application completed")
            shared.markCallEnded()
            for waiter in correlation.callDidEnd() { waiter.fail(error) }
            let notice = DisconnectNotice(frame)
            deliver(.disconnectNotice(notice), context: context)
        case .logData:
            deliver(.log(LogLine(frame)), context: context)
        case .rudeRejection:
            shared.reason = SwitchboardError(
                .connectionRejected,
                "FreeSWITCH refused the connection (ACL): \(frame.bodyText.trimmingCharacters(in: "\n"))"
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
        case .succeedReply(let promise, let reply, let timeout):
            timeout?.cancel()
            promise.succeed(reply)
        case .succeedCompletion(let promise, let event, let timeout):
            timeout?.cancel()
            promise.succeed(event)
        case .failReply(let promise, let error):
            logger.warning("\(error.message)", metadata: ["esl.error": "\(error.code)"])
            promise.fail(error)
        case .dropLateReply(let command):
            logger.debug("dropped the late reply to a command that timed out", metadata: ["esl.command": "\(command)"])
        case .unexpectedReply:
            logger.warning("FreeSWITCH sent a reply while no command was waiting; ignored")
        }
    }

    private func deliver(_ input: ConnectionInput, context: ChannelHandlerContext) {
        let waiting = shared.backlog.added()
        if waiting > shared.backlog.limit {
            shared.reason = SwitchboardError(
                .slowConsumer,
                "\(waiting) events waiting for the handler (limit \(shared.backlog.limit)): closing the connection"
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
        pending.append(input)
    }

    /// Hands the inputs of this read to the read task in one go.
    private func flush() {
        guard !pending.isEmpty else { return }
        sink.yield(pending)
        pending.removeAll(keepingCapacity: true)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    // MARK: Lifecycle

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.reason = error
        logger.error("closing the connection: \(error)")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let waiters = correlation.close()
        if !waiters.replies.isEmpty || !waiters.completions.isEmpty {
            let error = disconnectedError(waitingFor: nil)
            for promise in waiters.replies { promise.fail(error) }
            for promise in waiters.completions { promise.fail(error) }
        }
        flush()
        sink.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        flush()
        sink.finish()
    }

    private func disconnectedError(waitingFor command: String?) -> SwitchboardError {
        var message = "the connection closed"
        if let command { message += " before '\(command)' could be sent" }
        if let reason = shared.reason { message += " (\(reason))" }
        return SwitchboardError(.disconnected, message)
    }
}

extension CommandRequest {
    /// Fails whoever waits for this command when it could not be written.
    @Sendable
    func failUnsent(_ error: any Error) {
        let failure = SwitchboardError(.disconnected, "could not send '\(command)': \(error)")
        reply.fail(failure)
        completion?.fail(failure)
    }
}

extension CommandRequest.Completion {
    func fail(_ error: any Error) {
        switch self {
        case .job(_, let promise), .application(_, let promise): promise.fail(error)
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
