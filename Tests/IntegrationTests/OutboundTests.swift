import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Switchboard
import SwitchboardTesting
import TestSupport
import Testing

/// Calls that FreeSWITCH's `socket` application hands to an ``OutboundListener`` on a free port.
///
/// A test originates `loopback/outbound_<port>/peertest`: leg A has the test's `origination_uuid`, leg B runs the
/// dialplan's `socket` application and is the session the handler sees.
@Suite(
    .enabled(if: FreeSWITCHAvailability.isUp, FreeSWITCHAvailability.skipReason),
    .timeLimit(.minutes(1))
)
struct OutboundTests {
    // MARK: - (a) answer, playback, set, hangup by the handler

    @Test func answerPlaybackSetAndHangUp() async throws {
        let value = "hello \(Integration.uniqueTag())"
        let handler = ScriptedHandler { session, steps in
            await steps.record(.completed(try await session.execute("answer")))
            await steps.record(.playback(response: try await session.playback("tone_stream://%(200,0,440)")))
            try await session.set("sbtest_result", value)
            let fromChannelData = session.variable("sbtest_result")
            let fromGetvar = try await session.getVariable("sbtest_result")
            await steps.record(.variable(fromChannelData: fromChannelData, fromGetvar: fromGetvar))
            try await session.hangup()
        }

        let call = try await runCall(extension: "outbound", handler: handler) { _ in
            try await handler.waitUntilFinished()
        }

        let steps = await handler.steps.values
        #expect(steps.failure == nil, "the script failed: \(String(describing: steps.failure))")
        let session = try #require(steps.session)
        #expect(session.socketMode.isAsyncFull)
        #expect(session.uniqueID != call.legA)
        #expect(session.variable("other_loopback_leg_uuid") == call.legA)
        #expect(session.variable("loopback_leg") == "B")
        #expect(session.variable(Integration.tagVariable) == call.tag)

        let answer = try #require(steps.completions.first)
        #expect(answer.event.name == "CHANNEL_EXECUTE_COMPLETE")
        #expect(answer.event["Application"] == "answer")
        #expect(answer.event.uniqueID == session.uniqueID)

        // What FreeSWITCH 1.10.12 reports for a tone stream played to its end.
        #expect(steps.playbackResponses == ["FILE PLAYED"])

        // `set` is visible in the channel data refreshed from its completion, and to `getvar`.
        #expect(steps.variables.first?.fromChannelData == value)
        #expect(steps.variables.first?.fromGetvar == value)

        // The completions, as the handler's event callback saw them, in the order the script ran the applications.
        let completed = await handler.events.values
            .filter { $0.name == "CHANNEL_EXECUTE_COMPLETE" && $0["Application"] != "socket" }
            .compactMap { $0["Application"] }
        #expect(completed == ["answer", "playback", "set", "hangup"])
        #expect(call.sessionsStarted == 1)
    }

    // MARK: - (b) DTMF into play_and_get_digits

    @Test func playAndGetDigitsCollectsDTMFSentToTheOtherLeg() async throws {
        let handler = ScriptedHandler { session, steps in
            try await session.answer()
            let digits = try await session.playAndGetDigits(
                minDigits: 1,
                maxDigits: 4,
                tries: 1,
                // Long enough for the test to see the application start and send the digits, also under a sanitizer.
                timeout: TestTime.scaled(.seconds(8)),
                terminators: "#",
                prompt: "silence_stream://3000",
                variable: "sbtest_digits"
            )
            await steps.record(.digits(digits))
            try await session.hangup()
        }

        _ = try await runCall(extension: "outbound", handler: handler) { legA in
            try await handler.events.wait(for: "play_and_get_digits to start") { events in
                events.contains { $0.name == "CHANNEL_EXECUTE" && $0["Application"] == "play_and_get_digits" }
            }
            try await Integration.withCommandSocket { socket in
                // DTMF sent before the application listens is lost: send again when none arrived.
                for attempt in 1...3 {
                    try await Task.sleep(for: .seconds(1))
                    do {
                        _ = try await socket.api("uuid_send_dtmf", "\(legA) 42#")
                    } catch let error as EventSocketError where attempt > 1 {
                        // The call is gone: the events were slow, but the first sending reached the application,
                        // which returned, and the handler hung up. The checks below say whether it got the digits.
                        Integration.logger.info("not sent again: \(error)")
                        break
                    }
                    do {
                        try await handler.events.wait(timeout: .seconds(3), for: "DTMF events") { events in
                            events.contains { $0.name == "DTMF" }
                        }
                        break
                    } catch let error as IntegrationTimeout where attempt < 3 {
                        Integration.logger.warning("no DTMF arrived yet (\(error)); sending again")
                    }
                }
            }
            try await handler.waitUntilFinished()
        }

        let steps = await handler.steps.values
        #expect(steps.failure == nil, "the script failed: \(String(describing: steps.failure))")
        #expect(steps.digits == ["42"])
        let pressed = await handler.events.values.filter { $0.name == "DTMF" }.compactMap { $0["DTMF-Digit"] }
        // Each sending arrives whole and in order; a slow machine (the thread sanitizer) may have sent twice.
        let sendings = stride(from: 0, to: pressed.count, by: 3).map { Array(pressed[$0..<min($0 + 3, pressed.count)]) }
        #expect(!sendings.isEmpty && sendings.allSatisfy { $0 == ["4", "2", "#"] }, "\(pressed)")
    }

    // MARK: - (c) the far end hangs up during an endless playback

    @Test func farEndHangupEndsThePendingPlaybackAndLaterApplicationsThrowCallHungUp() async throws {
        let handler = ScriptedHandler { session, steps in
            try await session.answer()
            do {
                let response = try await session.playback("tone_stream://%(1000,0,440);loops=-1")
                await steps.record(.playback(response: response))
            } catch {
                await steps.record(.threw(application: "playback", error: error))
            }
            do {
                await steps.record(.completed(try await session.execute("set", "sbtest_after_hangup=1")))
            } catch {
                await steps.record(.threw(application: "set", error: error))
            }
        }

        _ = try await runCall(extension: "outbound", handler: handler) { legA in
            try await handler.events.wait(for: "the endless playback to start") { events in
                events.contains { $0.name == "CHANNEL_EXECUTE" && $0["Application"] == "playback" }
            }
            try await Task.sleep(for: .milliseconds(500))
            try await Integration.withCommandSocket { socket in _ = try await socket.api("uuid_kill", legA) }
            try await handler.waitUntilFinished()
        }

        let steps = await handler.steps.values
        #expect(steps.failure == nil, "the script failed: \(String(describing: steps.failure))")
        // FreeSWITCH sends the interrupted playback's CHANNEL_EXECUTE_COMPLETE before the linger notice, so the call
        // returns; failing it with callHungUp would also be right.
        if let playbackError = steps.error(of: "playback") {
            #expect((playbackError as? SwitchboardError)?.code == .callHungUp, "playback threw \(playbackError)")
        } else {
            let responses = steps.playbackResponses
            #expect(responses.count == 1)
            #expect(responses.first != "FILE PLAYED", "an endless playback cannot have played to its end")
        }

        #expect(steps.completions.isEmpty, "'set' ran after the hangup")
        let setError = try #require(steps.error(of: "set"), "'set' after the hangup did not throw")
        #expect((setError as? SwitchboardError)?.code == .callHungUp, "'set' threw \(setError)")

        let session = try #require(steps.session)
        #expect(session.hasHungUp)
        #expect(!session.connection.isActive)
    }

    // MARK: - (e) a socket that is neither async nor full

    @Test func syncSocketRunsAnswerAndHangup() async throws {
        let handler = ScriptedHandler { session, steps in
            await steps.record(.completed(try await session.execute("answer")))
            // Something that takes a moment, so that `originate` sees an answered call before it ends.
            await steps.record(.playback(response: try await session.playback("tone_stream://%(200,0,440)")))
            do {
                try await session.hangup(cause: "NORMAL_CLEARING")
            } catch {
                await steps.record(.threw(application: "hangup", error: error))
            }
        }

        _ = try await runCall(extension: "outbound_sync", handler: handler) { _ in
            try await handler.waitUntilFinished()
        }

        let steps = await handler.steps.values
        #expect(steps.failure == nil, "the script failed: \(String(describing: steps.failure))")
        let session = try #require(steps.session)
        #expect(!session.socketMode.isAsyncFull)
        #expect(!session.socketMode.isAsync)
        #expect(!session.socketMode.isFullControl)

        // In static mode FreeSWITCH answers each sendmsg once the application finished; its completion follows.
        #expect(steps.completions.first?.event["Application"] == "answer")
        #expect(steps.playbackResponses == ["FILE PLAYED"])

        // After `hangup`, FreeSWITCH sends a disconnect notice (not linger) and closes the static socket, sometimes
        // before the hangup's CHANNEL_EXECUTE_COMPLETE. `hangup()` counts that as done: it must not throw.
        #expect(steps.error(of: "hangup") == nil, "hangup threw \(String(describing: steps.error(of: "hangup")))")
        #expect(session.hasHungUp)
    }

    // MARK: - Running a call

    /// What ``runCall(extension:handler:_:)`` observed around the call.
    struct Call {
        var legA: String
        var tag: String
        var sessionsStarted: Int
    }

    /// Starts an outbound listener on a free port, originates a tagged call into `<extension>_<port>` whose leg A
    /// parks, runs `body` with leg A's UUID, waits (10 s at most) until the listener has no session left, and hangs
    /// up whatever is left of the call.
    func runCall(
        extension extensionPrefix: String,
        handler: ScriptedHandler,
        _ body: (String) async throws -> Void
    ) async throws -> Call {
        let tag = Integration.uniqueTag()
        let legA = Integration.newUUID()
        let port = NIOLockedValueBox<Int?>(nil)
        let listener = OutboundListener(
            configuration: OutboundConfiguration(
                host: TestSwitch.current.listenHost,
                port: 0,
                drainTimeout: .seconds(3)
            ),
            handler: handler,
            logger: Integration.logger
        ) { address in
            port.withLockedValue { $0 = address.port }
        }
        do {
            let call = try await Integration.withRunning(listener) {
                try await Integration.eventually("the outbound listener to bind") { port.withLockedValue { $0 } != nil }
                let boundPort = try #require(port.withLockedValue { $0 })
                let output = try await Integration.withCommandSocket { socket in
                    try await socket.backgroundAPI(
                        "originate",
                        Integration.callVariables(uuid: legA, tag: tag)
                            + TestSwitch.current.outboundDestination(
                                port: boundPort,
                                asyncFull: extensionPrefix == "outbound"
                            ) + " &park()",
                        timeout: .seconds(20)
                    )
                }
                #expect(output == "+OK \(legA)\n")
                try await body(legA)
                try await Integration.eventually(timeout: .seconds(10), "the listener's sessions to end") {
                    listener.activeSessions == 0
                }
                return Call(legA: legA, tag: tag, sessionsStarted: listener.sessionsStarted)
            }
            await Integration.hangUpOwnCalls(tag: tag, uuids: [legA])
            return call
        } catch {
            await Integration.hangUpOwnCalls(tag: tag, uuids: [legA])
            throw error
        }
    }
}

/// What a scripted handler reports, in order.
enum Step: Sendable {
    case session(OutboundSession)
    case completed(ApplicationResult)
    case playback(response: String?)
    case variable(fromChannelData: String?, fromGetvar: String?)
    case digits(String?)
    case threw(application: String, error: any Error)
    case failed(any Error)
    case finished
}

extension [Step] {
    var session: OutboundSession? {
        for case .session(let session) in self { return session }
        return nil
    }

    var completions: [ApplicationResult] {
        compactMap { step in
            guard case .completed(let result) = step else { return nil }
            return result
        }
    }

    var playbackResponses: [String?] {
        compactMap { step in
            guard case .playback(let response) = step else { return nil }
            return .some(response)
        }
    }

    var variables: [(fromChannelData: String?, fromGetvar: String?)] {
        compactMap { step in
            guard case .variable(let fromChannelData, let fromGetvar) = step else { return nil }
            return (fromChannelData, fromGetvar)
        }
    }

    var digits: [String?] {
        compactMap { step in
            guard case .digits(let digits) = step else { return nil }
            return .some(digits)
        }
    }

    /// The error an application of the script threw, when it was recorded.
    func error(of application: String) -> (any Error)? {
        for case .threw(let name, let error) in self where name == application { return error }
        return nil
    }

    /// The error the script itself threw.
    var failure: (any Error)? {
        for case .failed(let error) in self { return error }
        return nil
    }

    /// Whether the script returned or threw.
    var isFinished: Bool {
        contains { step in
            switch step {
            case .finished, .failed: true
            default: false
            }
        }
    }
}

/// An outbound handler that runs a test's script, recording the session, the script's steps and every event of its
/// call.
struct ScriptedHandler: OutboundHandler {
    let script: @Sendable (OutboundSession, Recorder<Step>) async throws -> Void
    let steps = Recorder<Step>()
    let events = Recorder<EventSocketEvent>()

    init(_ script: @escaping @Sendable (OutboundSession, Recorder<Step>) async throws -> Void) {
        self.script = script
    }

    func run(_ session: OutboundSession) async throws {
        await steps.record(.session(session))
        do {
            try await script(session, steps)
            await steps.record(.finished)
        } catch {
            await steps.record(.failed(error))
            throw error
        }
    }

    func handle(_ event: EventSocketEvent, in session: OutboundSession) async throws { await events.record(event) }

    /// Waits until the script returned or threw.
    func waitUntilFinished() async throws {
        try await steps.wait(for: "the handler's script to finish") { $0.isFinished }
    }
}
