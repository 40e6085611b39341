import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Switchboard
import SwitchboardTesting
import Testing

/// Applications that the caller's hangup ends must return their result, not throw: with `linger`, FreeSWITCH may send
/// the disconnect notice before the application's CHANNEL_EXECUTE_COMPLETE, and still sends the completion after it.
@Suite(
    .enabled(if: FreeSWITCHAvailability.isUp, FreeSWITCHAvailability.skipReason),
    .timeLimit(.minutes(3))
)
struct HangupRaceTests {
    /// The applications the calls run when `uuid_kill` ends them.
    enum Application: String, CaseIterable, Sendable {
        case bridge
        case playback
        case playAndGetDigits = "play_and_get_digits"
    }

    /// What one call's application did when the hangup ended it.
    struct Outcome: Sendable {
        var legA: String
        var application: String
        /// `nil` when the application returned its result.
        var error: String?
    }

    static let calls = 30
    static let callsAtOnce = 6

    @Test func everyApplicationRunningAtTheHangupReturnsItsResult() async throws {
        let tag = Integration.uniqueTag()
        let handler = HangupRaceHandler()
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
        let applications = (0..<Self.calls).map { Application.allCases[$0 % Application.allCases.count] }.shuffled()
        do {
            try await Integration.withRunning(listener) {
                try await Integration.eventually("the outbound listener to bind") { port.withLockedValue { $0 } != nil }
                let boundPort = try #require(port.withLockedValue { $0 })
                try await Integration.withCommandSocket { socket in
                    for start in stride(from: 0, to: applications.count, by: Self.callsAtOnce) {
                        let batch = applications[start..<min(start + Self.callsAtOnce, applications.count)]
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for application in batch {
                                group.addTask {
                                    try await Self.hangUpDuring(
                                        application,
                                        port: boundPort,
                                        tag: tag,
                                        handler: handler,
                                        socket: socket
                                    )
                                }
                            }
                            try await group.waitForAll()
                        }
                    }
                }
                try await Integration.eventually(timeout: .seconds(10), "the listener's sessions to end") {
                    listener.activeSessions == 0
                }
            }
            await Integration.hangUpOwnCalls(tag: tag)
        } catch {
            await Integration.hangUpOwnCalls(tag: tag)
            throw error
        }

        let outcomes = await handler.outcomes.values
        #expect(outcomes.count == Self.calls)
        let failed = outcomes.filter { $0.error != nil }
        let summary = failed.map { "\($0.application) on \($0.legA): \($0.error ?? "")" }.joined(separator: "\n")
        #expect(failed.isEmpty, "\(failed.count) of \(outcomes.count) applications threw:\n\(summary)")
        for application in Application.allCases {
            #expect(outcomes.contains { $0.application == application.rawValue })
        }
    }

    /// Places one tagged call whose handler runs `application`, waits until FreeSWITCH started it, waits a random
    /// moment, kills one of the call's two legs, and waits for the handler's outcome.
    static func hangUpDuring(
        _ application: Application,
        port: Int,
        tag: String,
        handler: HangupRaceHandler,
        socket: CommandSocket
    ) async throws {
        let legA = Integration.newUUID()
        let variables =
            "{origination_uuid=\(legA),\(Integration.tagVariable)=\(tag),sbtest_app=\(application.rawValue)}"
        let output = try await socket.backgroundAPI(
            "originate",
            variables + TestSwitch.current.outboundDestination(port: port) + " &park()",
            timeout: .seconds(20)
        )
        #expect(output == "+OK \(legA)\n")
        let started = try await handler.executions.wait(for: "\(application.rawValue) to start on \(legA)") { events in
            events.contains {
                $0.variable("other_loopback_leg_uuid") == legA && $0["Application"] == application.rawValue
            }
        }
        let session = started.first { $0.variable("other_loopback_leg_uuid") == legA }?.uniqueID
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...1500)))
        // Either the far leg (the hangup travels through loopback) or the socket's own channel.
        let victim = Bool.random() ? legA : (session ?? legA)
        _ = try? await socket.api("uuid_kill", victim)
        try await handler.outcomes.wait(for: "the outcome of \(application.rawValue) on \(legA)") { outcomes in
            outcomes.contains { $0.legA == legA }
        }
    }
}

/// Answers, then runs the application named by the call's `sbtest_app` variable until the hangup ends it; records
/// whether it returned or threw.
struct HangupRaceHandler: OutboundHandler {
    let outcomes = Recorder<HangupRaceTests.Outcome>()
    let executions = Recorder<EventSocketEvent>()

    func run(_ session: OutboundSession) async throws {
        let legA = session.variable("other_loopback_leg_uuid") ?? session.uniqueID
        let application = session.variable("sbtest_app") ?? "?"
        do {
            try await session.answer()
        } catch {
            await outcomes.record(.init(legA: legA, application: "answer", error: "\(error)"))
            return
        }
        do {
            switch HangupRaceTests.Application(rawValue: application) {
            case .bridge:
                let tag = session.variable(Integration.tagVariable) ?? "?"
                try await session.bridge(
                    TestSwitch.current.destination("echo"),
                    variables: [Integration.tagVariable: tag]
                )
            case .playback:
                try await session.playback("tone_stream://%(1000,0,440);loops=-1")
            case .playAndGetDigits:
                _ = try await session.playAndGetDigits(
                    minDigits: 1,
                    maxDigits: 4,
                    tries: 1,
                    timeout: .seconds(20),
                    prompt: "silence_stream://20000",
                    variable: "sbtest_digits"
                )
            case nil:
                throw IntegrationTimeout("unknown application '\(application)'")
            }
            await outcomes.record(.init(legA: legA, application: application, error: nil))
        } catch {
            await outcomes.record(.init(legA: legA, application: application, error: "\(error)"))
        }
    }

    func handle(_ event: EventSocketEvent, in session: OutboundSession) async throws {
        if event.name == "CHANNEL_EXECUTE" { await executions.record(event) }
    }
}
