import EventSocket
import NIOCore

/// Matches what FreeSWITCH sends back to what is waiting for it, with no I/O: command replies in order, BACKGROUND_JOB
/// events by `Job-UUID`, CHANNEL_EXECUTE_COMPLETE events by `Application-UUID`; and says which waiters have
/// outlived their deadlines.
///
/// FreeSWITCH answers commands strictly in the order they were written, so replies are matched first-in first-out.
/// A command that timed out keeps its place in the queue as *abandoned*: its late reply is consumed and dropped, so
/// the next command still gets its own reply.
///
/// Deadlines are data, not timers: the channel handler keeps one timer per connection, armed for the earliest
/// deadline it was told about, and asks ``expire(now:)`` what is due when it fires.
///
/// When the call ends (a linger notice), applications already running are not failed at once: FreeSWITCH may send
/// the notice before their CHANNEL_EXECUTE_COMPLETE and still sends the completion after it. They get a grace period
/// (one more deadline, for the same timer); those still waiting when it passes fail with
/// ``SwitchboardError/Code/callHungUp``.
struct ReplyCorrelation {
    /// What the channel handler must do after a reply or an event.
    enum Action {
        case none
        case succeedReply(AwaitedResult<CommandReply>, CommandReply)
        case succeedCompletion(AwaitedResult<EventSocketEvent>, EventSocketEvent)
        case dropLateReply(command: String)
        case unexpectedReply
    }

    /// The waiters whose deadlines passed, with the errors to fail them with, and the next deadline to wake up for.
    struct Expired {
        var replies: [(AwaitedResult<CommandReply>, SwitchboardError)] = []
        var completions: [(AwaitedResult<EventSocketEvent>, SwitchboardError)] = []
        var nextDeadline: NIODeadline?
    }

    /// A deadline and what it applies to, for the error message.
    private struct Deadline {
        let at: NIODeadline
        let timeout: TimeAmount

        init?(_ timeout: TimeAmount?, from now: NIODeadline) {
            guard let timeout else { return nil }
            self.at = now + timeout
            self.timeout = timeout
        }
    }

    private struct PendingCommand {
        /// Kept for its description, which is built only for a log line or an error.
        let command: EventSocketCommand
        /// `nil` once the command timed out: it only waits for its reply to be dropped.
        var reply: AwaitedResult<CommandReply>?
        var deadline: Deadline?
    }

    /// A job or application waiting for its completion event.
    private struct Waiter {
        let command: EventSocketCommand
        let result: AwaitedResult<EventSocketEvent>
        let deadline: Deadline?
        /// Set when the call ended while the application ran: the end of its grace period.
        var hangupDeadline: Deadline?
    }

    /// What the end of the call means for the applications still waiting.
    struct CallEnd {
        /// Applications to fail now (no grace period).
        var failed: [AwaitedResult<EventSocketEvent>] = []
        /// When the grace period of the applications still running ends, for the connection's timer; `nil` when
        /// none waits.
        var graceDeadline: NIODeadline?
    }

    private var pending = CircularBuffer<PendingCommand>()
    private var jobs: [String: Waiter] = [:]
    private var applications: [String: Waiter] = [:]
    private(set) var isClosed = false
    /// Set when a linger notice said the call ended: applications can no longer complete.
    private(set) var callEnded = false

    /// Records a command about to be written; returns its deadline, for the connection's timer.
    mutating func commandWritten(
        _ command: EventSocketCommand,
        reply: AwaitedResult<CommandReply>,
        timeout: TimeAmount?,
        now: NIODeadline
    ) -> NIODeadline? {
        let deadline = Deadline(timeout, from: now)
        pending.append(PendingCommand(command: command, reply: reply, deadline: deadline))
        return deadline?.at
    }

    /// Registers a waiter for a job's BACKGROUND_JOB (by Job-UUID) or an application's CHANNEL_EXECUTE_COMPLETE (by
    /// Application-UUID); returns its deadline, for the connection's timer.
    mutating func awaitCompletion(
        _ completion: CommandRequest.Completion,
        of command: EventSocketCommand,
        timeout: TimeAmount?,
        now: NIODeadline
    ) -> NIODeadline? {
        switch completion {
        case .job(let uuid, let result):
            let waiter = Waiter(command: command, result: result, deadline: Deadline(timeout, from: now))
            jobs[uuid] = waiter
            return waiter.deadline?.at
        case .application(let uuid, let result):
            let waiter = Waiter(command: command, result: result, deadline: Deadline(timeout, from: now))
            applications[uuid] = waiter
            return waiter.deadline?.at
        }
    }

    /// Removes a job or application waiter (its command failed, or its caller gave up); returns it to fail.
    mutating func forget(completion uuid: String) -> AwaitedResult<EventSocketEvent>? {
        (jobs.removeValue(forKey: uuid) ?? applications.removeValue(forKey: uuid))?.result
    }

    /// Whether any job or application waits for an event: only then must events be looked into on arrival.
    var awaitsEvents: Bool { !jobs.isEmpty || !applications.isEmpty }

    /// How many jobs and applications are waiting for their completion events.
    var waitingCompletions: Int { jobs.count + applications.count }

    /// How many written commands wait for their replies, abandoned ones included.
    var commandsInFlight: Int { pending.count }

    /// A `command/reply` or `api/response` arrived.
    mutating func replyReceived(_ reply: CommandReply) -> Action {
        guard let head = pending.popFirst() else { return .unexpectedReply }
        guard let waiter = head.reply else { return .dropLateReply(command: head.command.description) }
        return .succeedReply(waiter, reply)
    }

    /// An event arrived; returns the waiter it completes, if any.
    mutating func eventReceived(_ event: EventSocketEvent) -> Action {
        guard awaitsEvents else { return .none }
        switch event.name {
        case "BACKGROUND_JOB":
            if let uuid = event.jobUUID, let waiter = jobs.removeValue(forKey: uuid) {
                return .succeedCompletion(waiter.result, event)
            }
        case "CHANNEL_EXECUTE_COMPLETE":
            // FreeSWITCH writes Application-UUID after the channel's headers: read from the end.
            if let uuid = event.lastValue(named: "Application-UUID"),
                let waiter = applications.removeValue(forKey: uuid)
            {
                return .succeedCompletion(waiter.result, event)
            }
        default:
            break
        }
        return .none
    }

    /// The connection's timer fired: every waiter whose deadline is past fails. A command that timed out keeps its
    /// place for its late reply; a job or application that timed out is forgotten.
    mutating func expire(now: NIODeadline) -> Expired {
        var expired = Expired()
        func keepEarliest(_ deadline: NIODeadline) {
            if expired.nextDeadline.map({ deadline < $0 }) ?? true { expired.nextDeadline = deadline }
        }
        for index in pending.indices {
            guard let deadline = pending[index].deadline, let reply = pending[index].reply else { continue }
            guard deadline.at <= now else {
                keepEarliest(deadline.at)
                continue
            }
            pending[index].reply = nil
            pending[index].deadline = nil
            let message = "no reply to '\(pending[index].command)' within \(Self.seconds(deadline.timeout)) s"
            expired.replies.append((reply, SwitchboardError(.commandTimedOut, message)))
        }
        func expireWaiters(_ waiters: inout [String: Waiter]) {
            for (uuid, waiter) in waiters {
                // The earlier of the two deadlines applies; on a tie, the hangup explains the failure better.
                let due = [waiter.hangupDeadline, waiter.deadline].compactMap { $0 }.min { $0.at < $1.at }
                guard let deadline = due else { continue }
                guard deadline.at <= now else {
                    keepEarliest(deadline.at)
                    continue
                }
                waiters[uuid] = nil
                let seconds = Self.seconds(deadline.timeout)
                let error =
                    waiter.hangupDeadline?.at == deadline.at
                    ? SwitchboardError(
                        .callHungUp,
                        "the call ended and '\(waiter.command)' did not complete within \(seconds) s after that"
                    )
                    : SwitchboardError(.commandTimedOut, "'\(waiter.command)' did not complete within \(seconds) s")
                expired.completions.append((waiter.result, error))
            }
        }
        expireWaiters(&jobs)
        expireWaiters(&applications)
        return expired
    }

    /// The call of an outbound socket ended: no application submitted from now on may run.
    ///
    /// - Parameter gracePeriod: How long the applications already running may still complete: with `linger`,
    ///   FreeSWITCH sends their CHANNEL_EXECUTE_COMPLETE after the notice. `nil` (the socket is about to close) fails
    ///   them at once. A grace period never extends an application's own, earlier deadline.
    mutating func callDidEnd(now: NIODeadline, gracePeriod: TimeAmount?) -> CallEnd {
        var end = CallEnd()
        if callEnded {
            // A second notice (linger, then the close): only what has no grace period yet is affected.
            guard gracePeriod == nil else { return end }
        }
        callEnded = true
        guard let gracePeriod else {
            end.failed = applications.values.map(\.result)
            applications.removeAll()
            return end
        }
        let grace = Deadline(gracePeriod, from: now)
        for uuid in applications.keys where applications[uuid]?.hangupDeadline == nil {
            applications[uuid]?.hangupDeadline = grace
        }
        if !applications.isEmpty { end.graceDeadline = grace?.at }
        return end
    }

    /// Whoever still waits when the connection closes.
    struct Closed {
        var replies: [AwaitedResult<CommandReply>] = []
        var jobs: [AwaitedResult<EventSocketEvent>] = []
        var applications: [AwaitedResult<EventSocketEvent>] = []

        /// Jobs and applications.
        var completions: [AwaitedResult<EventSocketEvent>] { jobs + applications }
    }

    /// The connection closed: every waiter fails.
    mutating func close() -> Closed {
        isClosed = true
        let closed = Closed(
            replies: pending.compactMap(\.reply),
            jobs: jobs.values.map(\.result),
            applications: applications.values.map(\.result)
        )
        pending.removeAll()
        jobs.removeAll()
        applications.removeAll()
        return closed
    }

    private static func seconds(_ timeout: TimeAmount) -> Double { Double(timeout.nanoseconds) / 1e9 }
}
