import EventSocket
import NIOCore

/// Matches what FreeSWITCH sends back to what is waiting for it, with no I/O: command replies in order, BACKGROUND_JOB
/// events by `Job-UUID`, CHANNEL_EXECUTE_COMPLETE events by `Application-UUID`.
///
/// FreeSWITCH answers commands strictly in the order they were written, so replies are matched first-in first-out.
/// A command that timed out keeps its place in the queue as *abandoned*: its late reply is consumed and dropped, so
/// the next command still gets its own reply.
struct ReplyCorrelation {
    /// What the channel handler must do after an input.
    enum Action {
        case none
        case succeedReply(EventLoopPromise<CommandReply>, CommandReply, Scheduled<Void>?)
        case succeedCompletion(EventLoopPromise<EventSocketEvent>, EventSocketEvent, Scheduled<Void>?)
        case failReply(EventLoopPromise<CommandReply>, SwitchboardError)
        case dropLateReply(command: String)
        case unexpectedReply
    }

    private struct PendingCommand {
        let id: UInt64
        let description: String
        var promise: EventLoopPromise<CommandReply>?
        var timeout: Scheduled<Void>?
    }

    /// A job or application waiting for its completion event, with the task that fails it when it takes too long.
    private struct Waiter {
        let promise: EventLoopPromise<EventSocketEvent>
        var timeout: Scheduled<Void>?

        /// Cancels the timeout of a waiter that is leaving without its event; returns its promise to fail.
        func dismissed() -> EventLoopPromise<EventSocketEvent> {
            timeout?.cancel()
            return promise
        }
    }

    private var pending = CircularBuffer<PendingCommand>()
    private var jobs: [String: Waiter] = [:]
    private var applications: [String: Waiter] = [:]
    private var nextID: UInt64 = 0
    private(set) var isClosed = false
    /// Set when a linger notice said the call ended: applications can no longer complete.
    private(set) var callEnded = false

    /// Records a command about to be written; returns its id for ``timedOut(_:)``.
    mutating func commandWritten(_ description: String, promise: EventLoopPromise<CommandReply>) -> UInt64 {
        nextID &+= 1
        pending.append(PendingCommand(id: nextID, description: description, promise: promise))
        return nextID
    }

    /// Attaches the timeout task of a command, so that it is cancelled when the reply arrives.
    mutating func setTimeout(_ task: Scheduled<Void>, for id: UInt64) {
        if let index = pending.firstIndex(where: { $0.id == id }) { pending[index].timeout = task }
    }

    /// Registers a waiter for the BACKGROUND_JOB with this Job-UUID.
    mutating func awaitJob(_ jobUUID: String, promise: EventLoopPromise<EventSocketEvent>) {
        jobs[jobUUID] = Waiter(promise: promise)
    }

    /// Registers a waiter for the CHANNEL_EXECUTE_COMPLETE with this Application-UUID.
    mutating func awaitApplication(_ uuid: String, promise: EventLoopPromise<EventSocketEvent>) {
        applications[uuid] = Waiter(promise: promise)
    }

    /// Attaches the timeout task of a job or application waiter, so that it is cancelled when the waiter goes:
    /// a timer left behind would hold the connection's handler until it fired, long after the call.
    mutating func setCompletionTimeout(_ task: Scheduled<Void>, for uuid: String) {
        if jobs[uuid] != nil {
            jobs[uuid]?.timeout = task
        } else if applications[uuid] != nil {
            applications[uuid]?.timeout = task
        } else {
            task.cancel()
        }
    }

    /// Removes a job or application waiter (its command failed, its caller gave up, or it timed out) and cancels
    /// its timeout.
    mutating func forget(completion uuid: String) -> EventLoopPromise<EventSocketEvent>? {
        (jobs.removeValue(forKey: uuid) ?? applications.removeValue(forKey: uuid))?.dismissed()
    }

    /// How many jobs and applications are waiting for their completion events.
    var waitingCompletions: Int { jobs.count + applications.count }

    /// A `command/reply` or `api/response` arrived.
    mutating func replyReceived(_ reply: CommandReply) -> Action {
        guard let head = pending.popFirst() else { return .unexpectedReply }
        guard let promise = head.promise else { return .dropLateReply(command: head.description) }
        return .succeedReply(promise, reply, head.timeout)
    }

    /// The timeout of command `id` fired: fail its caller, keep its place for the late reply.
    mutating func timedOut(_ id: UInt64, after timeout: TimeAmount) -> Action {
        guard let index = pending.firstIndex(where: { $0.id == id }), let promise = pending[index].promise else {
            return .none
        }
        pending[index].promise = nil
        pending[index].timeout = nil
        let seconds = Double(timeout.nanoseconds) / 1e9
        let error = SwitchboardError(
            .commandTimedOut,
            "no reply to '\(pending[index].description)' within \(seconds) s"
        )
        return .failReply(promise, error)
    }

    /// An event arrived; returns the waiter it completes, if any.
    mutating func eventReceived(_ event: EventSocketEvent) -> Action {
        if jobs.isEmpty && applications.isEmpty { return .none }
        switch event.name {
        case "BACKGROUND_JOB":
            if let uuid = event.jobUUID, let waiter = jobs.removeValue(forKey: uuid) {
                return .succeedCompletion(waiter.promise, event, waiter.timeout)
            }
        case "CHANNEL_EXECUTE_COMPLETE":
            if let uuid = event.applicationUUID, let waiter = applications.removeValue(forKey: uuid) {
                return .succeedCompletion(waiter.promise, event, waiter.timeout)
            }
        default:
            break
        }
        return .none
    }

    /// The call of an outbound socket ended (linger notice): no queued application can complete any more.
    mutating func callDidEnd() -> [EventLoopPromise<EventSocketEvent>] {
        callEnded = true
        defer { applications.removeAll() }
        return applications.values.map { $0.dismissed() }
    }

    /// The connection closed: every waiter fails.
    mutating func close() -> (
        replies: [EventLoopPromise<CommandReply>], completions: [EventLoopPromise<EventSocketEvent>]
    ) {
        isClosed = true
        let replies = pending.compactMap { entry -> EventLoopPromise<CommandReply>? in
            entry.timeout?.cancel()
            return entry.promise
        }
        let completions = (Array(jobs.values) + Array(applications.values)).map { $0.dismissed() }
        pending.removeAll()
        jobs.removeAll()
        applications.removeAll()
        return (replies, completions)
    }
}
