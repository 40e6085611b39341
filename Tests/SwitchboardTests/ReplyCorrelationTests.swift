import EventSocket
import NIOCore
import Testing

@testable import Switchboard

@Suite("Reply correlation, without a channel")
struct ReplyCorrelationTests {
    func reply(_ text: String) -> CommandReply {
        CommandReply(EventSocketFrame(headers: ["Content-Type": "command/reply", "Reply-Text": text]))
    }

    func completion(_ name: String, _ header: String, _ uuid: String) -> EventSocketEvent {
        EventSocketEvent(headers: ["Event-Name": name, header: uuid])
    }

    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Registers a job or application waiter for the command `line`, at ``start``; returns its deadline.
    @discardableResult
    func register(
        _ correlation: inout ReplyCorrelation,
        _ completion: CommandRequest.Completion,
        _ line: String,
        timeout: TimeAmount? = nil
    ) throws -> NIODeadline? {
        correlation.awaitCompletion(completion, of: try EventSocketCommand(line: line), timeout: timeout, now: start)
    }

    @Test("replies go to commands first-in first-out")
    func inOrder() throws {
        var correlation = ReplyCorrelation()
        let first = AwaitedResult<CommandReply>()
        let second = AwaitedResult<CommandReply>()
        _ = correlation.commandWritten(
            try EventSocketCommand(line: "api a"),
            reply: first,
            timeout: nil,
            now: start
        )
        _ = correlation.commandWritten(
            try EventSocketCommand(line: "api b"),
            reply: second,
            timeout: nil,
            now: start
        )
        guard case .succeedReply(let waiter, let value) = correlation.replyReceived(reply("+OK a")) else {
            Issue.record("expected a reply for the first command")
            return
        }
        #expect(waiter === first)
        #expect(value.text == "+OK a")
        guard case .succeedReply(let next, _) = correlation.replyReceived(reply("+OK b")) else {
            Issue.record("expected a reply for the second command")
            return
        }
        #expect(next === second)
        guard case .unexpectedReply = correlation.replyReceived(reply("+OK stray")) else {
            Issue.record("a reply with no command waiting must be reported")
            return
        }
    }

    @Test("a timed-out command keeps its place: its late reply is dropped, the next command gets its own")
    func timeoutKeepsMatching() throws {
        var correlation = ReplyCorrelation()
        let slow = AwaitedResult<CommandReply>()
        let next = AwaitedResult<CommandReply>()
        let slowDeadline = correlation.commandWritten(
            try EventSocketCommand(line: "api slow"),
            reply: slow,
            timeout: .milliseconds(100),
            now: start
        )
        let nextDeadline = correlation.commandWritten(
            try EventSocketCommand(line: "api next"),
            reply: next,
            timeout: .seconds(5),
            now: start + .milliseconds(10)
        )
        #expect(slowDeadline == start + .milliseconds(100))
        #expect(nextDeadline == start + .milliseconds(5010))

        // Nothing is due before the first deadline; the timer is told to wake up for it.
        #expect(correlation.expire(now: start + .milliseconds(99)).replies.isEmpty)
        let expired = correlation.expire(now: start + .milliseconds(100))
        #expect(expired.replies.count == 1)
        #expect(expired.replies.first?.0 === slow)
        #expect(expired.replies.first?.1.code == .commandTimedOut)
        #expect(expired.replies.first?.1.message == "no reply to 'api slow' within 0.1 s")
        #expect(expired.nextDeadline == nextDeadline)
        // A second expiry at the same moment finds nothing more: the slow command no longer has a deadline.
        #expect(correlation.expire(now: start + .milliseconds(200)).replies.isEmpty)

        guard case .dropLateReply(let command) = correlation.replyReceived(reply("slow output")) else {
            Issue.record("the late reply must be dropped")
            return
        }
        #expect(command == "api slow")
        guard case .succeedReply(let waiter, let value) = correlation.replyReceived(reply("+OK next")) else {
            Issue.record("the next command must get the next reply")
            return
        }
        #expect(waiter === next)
        #expect(value.text == "+OK next")
        #expect(correlation.commandsInFlight == 0)
        #expect(correlation.expire(now: start + .seconds(10)).nextDeadline == nil)
    }

    @Test("application completions match by Application-UUID, never 'the next one'; jobs by Job-UUID")
    func completionsById() throws {
        var correlation = ReplyCorrelation()
        let answer = AwaitedResult<EventSocketEvent>()
        let playback = AwaitedResult<EventSocketEvent>()
        let job = AwaitedResult<EventSocketEvent>()
        try register(&correlation, .application("app-1", answer), "answer")
        try register(&correlation, .application("app-2", playback), "playback")
        try register(&correlation, .job("job-1", job), "bgapi status")
        // Another application's completion (e.g. the socket app itself) must not complete ours.
        guard case .none = correlation.eventReceived(completion("CHANNEL_EXECUTE_COMPLETE", "Application-UUID", "x"))
        else {
            Issue.record("an unrelated completion matched")
            return
        }
        guard case .none = correlation.eventReceived(completion("CHANNEL_EXECUTE", "Application-UUID", "app-2")) else {
            Issue.record("CHANNEL_EXECUTE is not a completion")
            return
        }
        guard
            case .succeedCompletion(let second, _) = correlation.eventReceived(
                completion("CHANNEL_EXECUTE_COMPLETE", "Application-UUID", "app-2")
            )
        else {
            Issue.record("app-2 did not match")
            return
        }
        #expect(second === playback)
        guard
            case .succeedCompletion(let jobWaiter, _) = correlation.eventReceived(
                completion("BACKGROUND_JOB", "Job-UUID", "job-1")
            )
        else {
            Issue.record("job-1 did not match")
            return
        }
        #expect(jobWaiter === job)
        // The call ends: the application still waiting fails; nothing else is left.
        let stranded = correlation.callDidEnd(now: start, gracePeriod: nil).failed
        #expect(stranded.count == 1)
        #expect(stranded.first === answer)
        #expect(correlation.close().completions.isEmpty)
    }

    @Test("completion deadlines: only due waiters fail and are forgotten; the next deadline is reported")
    func completionDeadlines() throws {
        var correlation = ReplyCorrelation()
        let quick = AwaitedResult<EventSocketEvent>()
        let slow = AwaitedResult<EventSocketEvent>()
        let patient = AwaitedResult<EventSocketEvent>()
        let command = AwaitedResult<CommandReply>()
        try register(&correlation, .job("quick", quick), "bgapi quick", timeout: .seconds(1))
        let slowDeadline = try register(
            &correlation,
            .application("slow", slow),
            "playback long.wav",
            timeout: .seconds(3)
        )
        try register(&correlation, .application("patient", patient), "park")
        let commandDeadline = correlation.commandWritten(
            try EventSocketCommand(line: "api status"),
            reply: command,
            timeout: .seconds(2),
            now: start
        )
        #expect(correlation.waitingCompletions == 3)

        let first = correlation.expire(now: start + .seconds(1))
        #expect(first.completions.count == 1)
        #expect(first.completions.first?.0 === quick)
        #expect(first.completions.first?.1.message == "'bgapi quick' did not complete within 1.0 s")
        #expect(first.replies.isEmpty)
        #expect(first.nextDeadline == commandDeadline)
        #expect(correlation.waitingCompletions == 2)
        // A waiter that went (its caller gave up) no longer counts for deadlines.
        #expect(correlation.forget(completion: "slow") === slow)
        let second = correlation.expire(now: start + .seconds(2))
        #expect(second.replies.count == 1)
        #expect(second.replies.first?.0 === command)
        #expect(second.nextDeadline == nil)
        #expect(slowDeadline == start + .seconds(3))
        #expect(correlation.waitingCompletions == 1)
        let left = correlation.close().completions
        #expect(left.count == 1)
        #expect(left.first === patient)
        #expect(correlation.waitingCompletions == 0)
    }

    @Test("closing fails every pending command, job and application")
    func closeFailsAll() throws {
        var correlation = ReplyCorrelation()
        _ = correlation.commandWritten(
            try EventSocketCommand(line: "api status"),
            reply: AwaitedResult(),
            timeout: .seconds(1),
            now: start
        )
        _ = correlation.awaitCompletion(
            .job("j", AwaitedResult()),
            of: try EventSocketCommand(line: "bgapi status"),
            timeout: nil,
            now: start
        )
        let waiters = correlation.close()
        #expect(waiters.replies.count == 1)
        #expect(waiters.completions.count == 1)
        #expect(correlation.isClosed)
        #expect(correlation.expire(now: start + .seconds(5)).replies.isEmpty)
    }

    // MARK: - The end of the call

    @Test("linger notice: running applications get a grace period; their completions after the notice still count")
    func graceAfterTheCallEnded() throws {
        var correlation = ReplyCorrelation()
        let bridge = AwaitedResult<EventSocketEvent>()
        let playback = AwaitedResult<EventSocketEvent>()
        try register(&correlation, .application("bridge", bridge), "bridge")
        try register(&correlation, .application("playback", playback), "playback")
        let end = correlation.callDidEnd(now: start + .seconds(1), gracePeriod: .seconds(2))
        #expect(end.failed.isEmpty, "nothing fails at the notice")
        #expect(end.graceDeadline == start + .seconds(3))
        #expect(correlation.callEnded)
        #expect(correlation.awaitsEvents, "events must still be looked into for the completions")

        // The bridge's completion comes after the notice: it succeeds.
        guard
            case .succeedCompletion(let completed, _) = correlation.eventReceived(
                completion("CHANNEL_EXECUTE_COMPLETE", "Application-UUID", "bridge")
            )
        else {
            Issue.record("the completion after the notice did not match")
            return
        }
        #expect(completed === bridge)
        // Nothing is due before the grace period ends; the timer is told to wake up for it.
        let early = correlation.expire(now: start + .milliseconds(2999))
        #expect(early.completions.isEmpty)
        #expect(early.nextDeadline == start + .seconds(3))
        // The playback never completes: it fails with callHungUp when the grace period ends.
        let due = correlation.expire(now: start + .seconds(3))
        #expect(due.completions.count == 1)
        #expect(due.completions.first?.0 === playback)
        #expect(due.completions.first?.1.code == .callHungUp)
        #expect(
            due.completions.first?.1.message
                == "the call ended and 'playback' did not complete within 2.0 s after that"
        )
        #expect(due.nextDeadline == nil)
        #expect(correlation.waitingCompletions == 0)
    }

    @Test("plain notice (the socket closes): running applications fail at once; a second notice adds nothing")
    func noGraceWhenTheSocketCloses() throws {
        var correlation = ReplyCorrelation()
        let park = AwaitedResult<EventSocketEvent>()
        let job = AwaitedResult<EventSocketEvent>()
        try register(&correlation, .application("park", park), "park")
        try register(&correlation, .job("job", job), "bgapi status")
        let end = correlation.callDidEnd(now: start, gracePeriod: nil)
        #expect(end.failed.count == 1)
        #expect(end.failed.first === park)
        #expect(end.graceDeadline == nil)
        #expect(correlation.waitingCompletions == 1, "a job is not an application of the call")
        #expect(correlation.callDidEnd(now: start, gracePeriod: nil).failed.isEmpty)
    }

    @Test("linger notice, then the plain notice before the grace period ends: what still waits fails then")
    func closeNoticeEndsTheGrace() throws {
        var correlation = ReplyCorrelation()
        let park = AwaitedResult<EventSocketEvent>()
        try register(&correlation, .application("park", park), "park")
        #expect(correlation.callDidEnd(now: start, gracePeriod: .seconds(2)).failed.isEmpty)
        // A repeated linger notice does not move the grace deadline.
        #expect(correlation.callDidEnd(now: start + .seconds(1), gracePeriod: .seconds(2)).graceDeadline == nil)
        #expect(correlation.expire(now: start + .seconds(1)).nextDeadline == start + .seconds(2))
        let end = correlation.callDidEnd(now: start + .seconds(1), gracePeriod: nil)
        #expect(end.failed.first === park)
        #expect(correlation.waitingCompletions == 0)
    }

    @Test("an application's own earlier deadline still applies during the grace period, as a timeout")
    func earlierTimeoutWins() throws {
        var correlation = ReplyCorrelation()
        let quick = AwaitedResult<EventSocketEvent>()
        let slow = AwaitedResult<EventSocketEvent>()
        try register(&correlation, .application("quick", quick), "playback a.wav", timeout: .seconds(1))
        try register(&correlation, .application("slow", slow), "playback b.wav", timeout: .seconds(60))
        let end = correlation.callDidEnd(now: start, gracePeriod: .seconds(2))
        #expect(end.graceDeadline == start + .seconds(2))
        let first = correlation.expire(now: start + .seconds(1))
        #expect(first.completions.first?.0 === quick)
        #expect(first.completions.first?.1.code == .commandTimedOut)
        #expect(first.nextDeadline == start + .seconds(2), "the grace period ends before the slow timeout")
        let second = correlation.expire(now: start + .seconds(2))
        #expect(second.completions.first?.0 === slow)
        #expect(second.completions.first?.1.code == .callHungUp)
    }

    @Test("closing during the grace period hands back the applications apart from the jobs")
    func closeDuringGrace() throws {
        var correlation = ReplyCorrelation()
        try register(&correlation, .application("park", AwaitedResult()), "park")
        try register(&correlation, .job("job", AwaitedResult()), "bgapi status")
        _ = correlation.callDidEnd(now: start, gracePeriod: .seconds(2))
        let closed = correlation.close()
        #expect(closed.applications.count == 1)
        #expect(closed.jobs.count == 1)
        #expect(closed.completions.count == 2)
    }

    @Test("an awaited result is delivered once, to a waiter that came before or after it")
    func awaitedResultDeliversOnce() async throws {
        func reply(_ text: String) -> CommandReply {
            CommandReply(EventSocketFrame(headers: ["Content-Type": "command/reply", "Reply-Text": text]))
        }
        let early = AwaitedResult<CommandReply>()
        #expect(early.succeed(reply("+OK 1")))
        #expect(!early.fail(CancellationError()))
        #expect(try await early.value().text == "+OK 1")

        let late = AwaitedResult<CommandReply>()
        async let waited = late.value()
        try await Task.sleep(for: .milliseconds(10))
        #expect(late.succeed(reply("+OK 2")))
        #expect(!late.succeed(reply("+OK 3")))
        #expect(try await waited.text == "+OK 2")

        let cancelled = AwaitedResult<CommandReply>()
        let task = Task { try await cancelled.value() }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(!cancelled.succeed(reply("+OK 4")))

        let closed = AwaitedResult<SocketClosed>()
        #expect(closed.succeed(SocketClosed()))
        _ = try await closed.value()
    }

    @Test("reconnect backoff grows exponentially to the maximum, with jitter below the nominal delay")
    func backoff() {
        let policy = ReconnectPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(2), jitter: 0.2)
        var generator = SystemRandomNumberGenerator()
        for failures in 0..<10 {
            let nominal = min(100.0 * Double(1 << failures), 2000)
            let delay = policy.delay(afterFailures: failures, using: &generator) / .milliseconds(1)
            #expect(delay <= nominal + 1)
            #expect(delay >= nominal * 0.8 - 1)
        }
    }
}
