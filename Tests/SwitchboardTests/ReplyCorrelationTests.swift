import EventSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import Switchboard

@Suite("Reply correlation, without a channel")
struct ReplyCorrelationTests {
    let loop = EmbeddedEventLoop()

    func reply(_ text: String) -> CommandReply {
        CommandReply(EventSocketFrame(headers: ["Content-Type": "command/reply", "Reply-Text": text]))
    }

    func completion(_ name: String, _ header: String, _ uuid: String) -> EventSocketEvent {
        EventSocketEvent(headers: ["Event-Name": name, header: uuid])
    }

    @Test("replies go to commands first-in first-out")
    func inOrder() throws {
        var correlation = ReplyCorrelation()
        let first = loop.makePromise(of: CommandReply.self)
        let second = loop.makePromise(of: CommandReply.self)
        _ = correlation.commandWritten("api a", promise: first)
        _ = correlation.commandWritten("api b", promise: second)
        guard case .succeedReply(let promise, let value, _) = correlation.replyReceived(reply("+OK a")) else {
            Issue.record("expected a reply for the first command")
            return
        }
        #expect(promise.futureResult === first.futureResult)
        #expect(value.text == "+OK a")
        guard case .succeedReply(let next, _, _) = correlation.replyReceived(reply("+OK b")) else {
            Issue.record("expected a reply for the second command")
            return
        }
        #expect(next.futureResult === second.futureResult)
        guard case .unexpectedReply = correlation.replyReceived(reply("+OK stray")) else {
            Issue.record("a reply with no command waiting must be reported")
            return
        }
        first.succeed(reply(""))
        second.succeed(reply(""))
    }

    @Test("a timed-out command keeps its place: its late reply is dropped, the next command gets its own")
    func timeoutKeepsMatching() throws {
        var correlation = ReplyCorrelation()
        let slow = loop.makePromise(of: CommandReply.self)
        let next = loop.makePromise(of: CommandReply.self)
        let slowID = correlation.commandWritten("api slow", promise: slow)
        _ = correlation.commandWritten("api next", promise: next)
        guard case .failReply(let failed, let error) = correlation.timedOut(slowID, after: .milliseconds(100)) else {
            Issue.record("expected the timeout to fail the slow command")
            return
        }
        #expect(error.code == .commandTimedOut)
        #expect(error.message.contains("api slow"))
        failed.fail(error)
        guard case .dropLateReply(let command) = correlation.replyReceived(reply("slow output")) else {
            Issue.record("the late reply must be dropped")
            return
        }
        #expect(command == "api slow")
        guard case .succeedReply(let promise, let value, _) = correlation.replyReceived(reply("+OK next")) else {
            Issue.record("the next command must get the next reply")
            return
        }
        #expect(promise.futureResult === next.futureResult)
        #expect(value.text == "+OK next")
        next.succeed(value)
    }

    @Test("application completions match by Application-UUID, never 'the next one'; jobs by Job-UUID")
    func completionsById() throws {
        var correlation = ReplyCorrelation()
        let answer = loop.makePromise(of: EventSocketEvent.self)
        let playback = loop.makePromise(of: EventSocketEvent.self)
        let job = loop.makePromise(of: EventSocketEvent.self)
        correlation.awaitApplication("app-1", promise: answer)
        correlation.awaitApplication("app-2", promise: playback)
        correlation.awaitJob("job-1", promise: job)
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
            case .succeedCompletion(let second, _, _) = correlation.eventReceived(
                completion("CHANNEL_EXECUTE_COMPLETE", "Application-UUID", "app-2")
            )
        else {
            Issue.record("app-2 did not match")
            return
        }
        #expect(second.futureResult === playback.futureResult)
        guard
            case .succeedCompletion(let jobPromise, _, _) = correlation.eventReceived(
                completion("BACKGROUND_JOB", "Job-UUID", "job-1")
            )
        else {
            Issue.record("job-1 did not match")
            return
        }
        #expect(jobPromise.futureResult === job.futureResult)
        // The call ends: the application still waiting fails; nothing else is left.
        let stranded = correlation.callDidEnd()
        #expect(stranded.count == 1)
        #expect(stranded.first?.futureResult === answer.futureResult)
        #expect(correlation.close().completions.isEmpty)
        for promise in [answer, playback, job] { promise.fail(CancellationError()) }
    }

    @Test("a completion's timeout goes with its waiter: handed back on success, cancelled when forgotten or ended")
    func completionTimeoutsGoWithTheirWaiters() {
        var correlation = ReplyCorrelation()
        func timer() -> Scheduled<Void> { loop.scheduleTask(in: .seconds(30)) {} }
        func isCancelled(_ task: Scheduled<Void>) -> Bool {
            let cancelled = NIOLockedValueBox(false)
            task.futureResult.whenFailure { error in
                cancelled.withLockedValue { $0 = (error as? EventLoopError) == .cancelled }
            }
            return cancelled.withLockedValue { $0 }
        }
        let promises = (0..<4).map { _ in loop.makePromise(of: EventSocketEvent.self) }
        let timers = (0..<4).map { _ in timer() }
        correlation.awaitApplication("done", promise: promises[0])
        correlation.awaitJob("forgotten", promise: promises[1])
        correlation.awaitApplication("stranded", promise: promises[2])
        correlation.awaitJob("closed", promise: promises[3])
        for (uuid, task) in zip(["done", "forgotten", "stranded", "closed"], timers) {
            correlation.setCompletionTimeout(task, for: uuid)
        }
        #expect(correlation.waitingCompletions == 4)

        guard
            case .succeedCompletion(_, _, let handedBack) = correlation.eventReceived(
                completion("CHANNEL_EXECUTE_COMPLETE", "Application-UUID", "done")
            )
        else {
            Issue.record("the application did not complete")
            return
        }
        #expect(handedBack?.futureResult === timers[0].futureResult)
        #expect(correlation.forget(completion: "forgotten")?.futureResult === promises[1].futureResult)
        #expect(isCancelled(timers[1]))
        #expect(correlation.callDidEnd().count == 1)
        #expect(isCancelled(timers[2]))
        #expect(!isCancelled(timers[3]))
        #expect(correlation.close().completions.count == 1)
        #expect(isCancelled(timers[3]))
        #expect(correlation.waitingCompletions == 0)

        // A timeout for a waiter that is already gone is cancelled at once.
        let late = timer()
        correlation.setCompletionTimeout(late, for: "done")
        #expect(isCancelled(late))
        timers[0].cancel()
        for promise in promises { promise.fail(CancellationError()) }
    }

    @Test("closing fails every pending command, job and application")
    func closeFailsAll() {
        var correlation = ReplyCorrelation()
        let command = loop.makePromise(of: CommandReply.self)
        let job = loop.makePromise(of: EventSocketEvent.self)
        _ = correlation.commandWritten("api status", promise: command)
        correlation.awaitJob("j", promise: job)
        let waiters = correlation.close()
        #expect(waiters.replies.count == 1)
        #expect(waiters.completions.count == 1)
        #expect(correlation.isClosed)
        command.fail(CancellationError())
        job.fail(CancellationError())
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
