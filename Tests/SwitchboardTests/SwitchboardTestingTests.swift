import EventSocket
import Foundation
import Handlers
import Logging
import NIOCore
import Switchboard
import SwitchboardTesting
import Testing

/// The testing kit itself: `FakeFreeSWITCH.runCall`, the caller's identity in `CallScript`, simulated bridges and
/// hangups, all over real loopback sockets with the real `OutboundListener`.
@Suite("SwitchboardTesting: runCall, caller identity, bridge outcomes, hangup causes")
struct SwitchboardTestingTests {
    @Test("runCall reports the applications, variables, events and hangup of a call")
    func runCallReportsTheCall() async throws {
        let call = try await FakeFreeSWITCH.runCall(DemoIVR(), script: CallScript(digits: "42#"))
        #expect(call.applications.map(\.name) == ["answer", "play_and_get_digits", "set", "playback", "hangup"])
        #expect(call.applications[2].argument == "switchboard_result=42")
        #expect(call.variables["switchboard_result"] == "42")
        #expect(call.ending == .hangupApplication(cause: "NORMAL_CLEARING"))
        #expect(call.hangupCause == "NORMAL_CLEARING")
        #expect(call.handlerError == nil)
        #expect(call.saidExit)
        let names = call.events.map { $0["Event-Name"] ?? "" }
        #expect(names.first == "CHANNEL_PARK")
        #expect(names.last == "CHANNEL_HANGUP_COMPLETE")
        #expect(names.filter { $0 == "CHANNEL_EXECUTE_COMPLETE" }.count == 5)
        #expect(call.events.last?["variable_hangup_cause"] == "NORMAL_CLEARING")
    }

    @Test("runCall reports the error the handler threw, and the call as the handler left it")
    func runCallReportsTheHandlersError() async throws {
        struct LookupFailed: Error, Equatable { var account: String }
        let handler = ClosureOutboundHandler { session in
            try await session.answer()
            throw LookupFailed(account: "4711")
        }
        let logs = LogRecorder()
        let call = try await FakeFreeSWITCH.runCall(handler, logger: logs.logger())
        #expect(call.handlerError as? LookupFailed == LookupFailed(account: "4711"))
        let failure = try Regex(
            #"error handler ObservedHandler<ClosureOutboundHandler> failed on call \#(call.record.uuid): LookupFailed\(account: "4711"\)"#
        )
        #expect(logs.all.contains { $0.wholeMatch(of: failure) != nil }, "\(logs.all)")
        #expect(call.applications.map(\.name) == ["answer"])
        #expect(call.ending == .stillUp)
        #expect(call.hangupCause == nil)
        #expect(call.saidExit)
    }

    @Test("a caller's hangup the handler does not catch is reported as callHungUp")
    func runCallReportsAnUncaughtHangup() async throws {
        let handler = ClosureOutboundHandler { session in
            try await session.answer()
            _ = try await session.playback("long.wav")
            try await session.set("after", "the hangup")
        }
        let call = try await FakeFreeSWITCH.runCall(handler, script: CallScript(callerHangsUpDuring: "playback"))
        #expect((call.handlerError as? SwitchboardError)?.code == .callHungUp)
        #expect(call.ending == .caller)
        #expect(call.hangupCause == "NORMAL_CLEARING")
    }

    @Test("a listener stopped just after its calls ended logs no warning; runCall logs nothing at all")
    func stoppingAfterTheCallsIsQuiet() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let logs = LogRecorder()
        // Cancelled as soon as the switch saw the socket close, while the listener may still be closing its side.
        for _ in 0..<10 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (_, port) = try await startOutboundListener(DemoIVR(), logger: logs.logger(), in: &group)
                _ = try await fake.placeCall(to: port, script: CallScript(digits: "1#"))
                group.cancelAll()
            }
        }
        await fake.stop()
        #expect(logs.all.filter { $0.hasPrefix("warning") || $0.hasPrefix("error") } == [])
        #expect(!logs.all.contains { $0.contains("draining") })

        let quiet = LogRecorder()
        var logger = quiet.logger()
        logger.logLevel = .info
        _ = try await FakeFreeSWITCH.runCall(DemoIVR(), script: CallScript(digits: "1#"), logger: logger)
        #expect(quiet.all.filter { !$0.hasPrefix("info") } == [])
        #expect(!quiet.all.contains { $0.contains("draining") || $0.contains("closing") })
    }

    @Test("runCall on a running switch uses its API answers")
    func runCallOnARunningSwitch() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "db", with: .output("gold"))
        let tier = Collector<String>()
        let handler = ClosureOutboundHandler { session in
            tier.append(try await session.connection.api("db", "select/tiers/4711"))
            try await session.hangup()
        }
        let call = try await fake.runCall(handler)
        await fake.stop()
        #expect(tier.all == ["gold"])
        #expect(call.commands.contains { $0.line == "api db select/tiers/4711" })
    }

    @Test("the caller's name, number, destination and any header reach the channel data and every event")
    func callerIdentity() async throws {
        let seen = Collector<String?>()
        let handler = ClosureOutboundHandler { session in
            for header in [
                "Caller-Caller-ID-Name", "Caller-Caller-ID-Number", "Channel-Orig-Caller-ID-Name", "Caller-ANI",
                "Caller-Destination-Number", "Channel-Destination-Number", "Caller-Context", "X-Tenant",
            ] {
                seen.append(session[header])
            }
            try await session.answer()
            seen.append(session.channelData["Caller-Caller-ID-Name"])
            try await session.hangup()
        }
        let script = CallScript(
            callerIDName: "Ana María Ñúñez",
            callerIDNumber: "+15551234567",
            destination: "1000",
            headers: ["Caller-Context": "sales", "X-Tenant": "acme"]
        )
        let call = try await FakeFreeSWITCH.runCall(handler, script: script)
        #expect(
            seen.all == [
                "Ana María Ñúñez", "+15551234567", "Ana María Ñúñez", "+15551234567", "1000", "1000", "sales", "acme",
                "Ana María Ñúñez",
            ]
        )
        for event in call.events {
            #expect(event["Caller-Caller-ID-Name"] == "Ana María Ñúñez")
            #expect(event["Channel-Caller-ID-Number"] == "+15551234567")
            #expect(event["X-Tenant"] == "acme")
            // As FreeSWITCH places it: the name just before the number.
            let names = event.headers.map(\.name)
            let number = try #require(names.firstIndex(of: "Caller-Caller-ID-Number"))
            #expect(names[number - 1] == "Caller-Caller-ID-Name")
        }
    }

    @Test("without a caller name in the script, there is no caller name header, as for a real call without one")
    func noCallerName() async throws {
        let name = Collector<String?>()
        let call = try await FakeFreeSWITCH.runCall(
            ClosureOutboundHandler { session in name.append(session["Caller-Caller-ID-Name"]) }
        )
        #expect(name.all == [nil])
        #expect(call.events.allSatisfy { $0["Caller-Caller-ID-Number"] == "0000000000" })
    }

    @Test("sendmsg call-command: hangup is recorded with the cause sent")
    func hangupCommand() async throws {
        let handler = ClosureOutboundHandler { session in
            try await session.answer()
            let reply = try await session.connection.send(.hangup(cause: "CALL_REJECTED"))
            #expect(!reply.isError)
        }
        let call = try await FakeFreeSWITCH.runCall(handler)
        #expect(call.ending == .hangupCommand(cause: "CALL_REJECTED"))
        #expect(call.hangupCause == "CALL_REJECTED")
        let hangup = try #require(call.events.first { $0["Event-Name"] == "CHANNEL_HANGUP" })
        #expect(hangup["Hangup-Cause"] == "CALL_REJECTED")
        #expect(call.events.last?["variable_hangup_cause"] == "CALL_REJECTED")
    }

    // MARK: - Bridges

    /// Answers, bridges, then runs one more application and hangs up if it can; reports what the handler saw.
    private static func bridgingHandler(_ seen: Collector<String>) -> ClosureOutboundHandler {
        ClosureOutboundHandler { session in
            try await session.answer()
            let started = ContinuousClock.now
            let result = try await session.bridge("sofia/gateway/carrier/15551234567")
            let elapsed = ContinuousClock.now - started
            seen.append(elapsed >= .milliseconds(40) ? "took at least 40 ms" : "took \(elapsed)")
            for name in [
                "originate_disposition", "DIALSTATUS", "originate_failed_cause", "bridge_hangup_cause",
                "last_bridge_hangup_cause",
            ] {
                seen.append("\(name)=\(result.variable(name) ?? "-")")
            }
            do {
                _ = try await session.playback("after-the-bridge.wav")
                try await session.hangup()
            } catch let error as SwitchboardError where error.code == .callHungUp {
                seen.append("then callHungUp")
            }
        }
    }

    @Test("answered, the far end hangs up: the bridge returns after its duration and the call goes on")
    func bridgeAnsweredFarEndHangsUp() async throws {
        let seen = Collector<String>()
        let call = try await FakeFreeSWITCH.runCall(
            Self.bridgingHandler(seen),
            script: CallScript(bridges: [.answered(farEndHangsUpAfter: .milliseconds(40), cause: "CALL_REJECTED")])
        )
        #expect(
            seen.all == [
                "took at least 40 ms", "originate_disposition=SUCCESS", "DIALSTATUS=SUCCESS",
                "originate_failed_cause=-", "bridge_hangup_cause=CALL_REJECTED",
                "last_bridge_hangup_cause=CALL_REJECTED",
            ]
        )
        #expect(call.applications.map(\.name) == ["answer", "bridge", "playback", "hangup"])
        #expect(call.ending == .hangupApplication(cause: "NORMAL_CLEARING"))
        #expect(call.hangupCause == "NORMAL_CLEARING")
        let bridged = try #require(call.events.first { $0["Event-Name"] == "CHANNEL_BRIDGE" })
        let unbridged = try #require(call.events.first { $0["Event-Name"] == "CHANNEL_UNBRIDGE" })
        #expect(bridged["Other-Leg-Unique-ID"] == call.variables["bridge_uuid"])
        #expect(bridged["Bridge-A-Unique-ID"] == call.uuid)
        #expect(bridged["Other-Leg-Destination-Number"] == "15551234567")
        #expect(unbridged["variable_bridge_hangup_cause"] == "CALL_REJECTED")
    }

    @Test("answered, the caller hangs up: the bridge returns, the call has ended")
    func bridgeAnsweredCallerHangsUp() async throws {
        let seen = Collector<String>()
        let call = try await FakeFreeSWITCH.runCall(
            Self.bridgingHandler(seen),
            script: CallScript(bridges: [.answered(callerHangsUpAfter: .milliseconds(40))])
        )
        #expect(
            seen.all == [
                "took at least 40 ms", "originate_disposition=SUCCESS", "DIALSTATUS=SUCCESS",
                "originate_failed_cause=-", "bridge_hangup_cause=NORMAL_CLEARING", "last_bridge_hangup_cause=-",
                "then callHungUp",
            ]
        )
        #expect(call.applications.map(\.name) == ["answer", "bridge"])
        #expect(call.ending == .caller)
        #expect(call.hangupCause == "NORMAL_CLEARING")
    }

    @Test("busy: FreeSWITCH hangs up the call with USER_BUSY")
    func bridgeBusy() async throws {
        let seen = Collector<String>()
        let call = try await FakeFreeSWITCH.runCall(Self.bridgingHandler(seen), script: CallScript(bridges: [.busy]))
        #expect(
            seen.all.dropFirst() == [
                "originate_disposition=USER_BUSY", "DIALSTATUS=BUSY",
                "originate_failed_cause=USER_BUSY", "bridge_hangup_cause=-", "last_bridge_hangup_cause=USER_BUSY",
                "then callHungUp",
            ]
        )
        #expect(call.ending == .afterBridge(cause: "USER_BUSY"))
        #expect(call.hangupCause == "USER_BUSY")
        #expect(!call.events.contains { $0["Event-Name"] == "CHANNEL_BRIDGE" })
    }

    @Test("no answer: the bridge fails with NO_ANSWER after ringing, and the call stays up")
    func bridgeNoAnswer() async throws {
        let seen = Collector<String>()
        let call = try await FakeFreeSWITCH.runCall(
            Self.bridgingHandler(seen),
            script: CallScript(bridges: [.noAnswer], applicationDuration: .milliseconds(40))
        )
        #expect(
            seen.all == [
                "took at least 40 ms", "originate_disposition=NO_ANSWER", "DIALSTATUS=NOANSWER",
                "originate_failed_cause=NO_ANSWER", "bridge_hangup_cause=-", "last_bridge_hangup_cause=NO_ANSWER",
            ]
        )
        #expect(call.applications.map(\.name) == ["answer", "bridge", "playback", "hangup"])
        #expect(call.ending == .hangupApplication(cause: "NORMAL_CLEARING"))
    }

    @Test("a failure with a cause: FreeSWITCH hangs up the call with that cause")
    func bridgeFailed() async throws {
        let seen = Collector<String>()
        let call = try await FakeFreeSWITCH.runCall(
            Self.bridgingHandler(seen),
            script: CallScript(bridges: [.failed(cause: "NO_ROUTE_DESTINATION")])
        )
        #expect(seen.all.contains("DIALSTATUS=NO_ROUTE_DESTINATION"))
        #expect(seen.all.last == "then callHungUp")
        #expect(call.ending == .afterBridge(cause: "NO_ROUTE_DESTINATION"))
        #expect(call.hangupCause == "NO_ROUTE_DESTINATION")
    }

    @Test("continue_on_fail keeps the call up after a busy bridge; the next bridge gets the next outcome")
    func bridgeContinueOnFail() async throws {
        let dispositions = Collector<String>()
        let handler = ClosureOutboundHandler { session in
            try await session.set("continue_on_fail", "NORMAL_TEMPORARY_FAILURE,USER_BUSY")
            for agent in ["user/1001", "user/1002"] {
                let result = try await session.bridge(agent)
                dispositions.append(result.variable("originate_disposition") ?? "-")
                if result.variable("originate_disposition") == "SUCCESS" { break }
            }
            try await session.hangup()
        }
        let call = try await FakeFreeSWITCH.runCall(
            handler,
            script: CallScript(bridges: [.busy, .answered()])
        )
        #expect(dispositions.all == ["USER_BUSY", "SUCCESS"])
        #expect(call.applications.map(\.name) == ["set", "bridge", "bridge", "hangup"])
        #expect(call.ending == .hangupApplication(cause: "NORMAL_CLEARING"))
        // A bridge on a call not yet answered answers it when the far end answers.
        let names = call.events.map { $0["Event-Name"] ?? "" }
        let answer = try #require(names.firstIndex(of: "CHANNEL_ANSWER"))
        #expect(names[answer + 1] == "CHANNEL_BRIDGE")
    }

    @Test("hangup_after_bridge: the far end's hangup ends the call with its cause")
    func bridgeHangupAfterBridge() async throws {
        let seen = Collector<String>()
        let call = try await FakeFreeSWITCH.runCall(
            Self.bridgingHandler(seen),
            script: CallScript(
                variables: ["hangup_after_bridge": "true"],
                bridges: [.answered(cause: "CALL_REJECTED")]
            )
        )
        #expect(seen.all.last == "then callHungUp")
        #expect(call.ending == .afterBridge(cause: "CALL_REJECTED"))
        #expect(call.hangupCause == "CALL_REJECTED")
    }

    /// What FreeSWITCH sent on each recorded call (`Tests/Fixtures/esl/outbound-bridge-*`,
    /// `outbound-hangup-command`) and what the simulated switch sends for the same commands and outcome agree, event
    /// by event, in the headers a handler reads about a bridge and a hangup.
    @Test(arguments: RecordedCall.all)
    func theSimulatedSwitchSendsWhatFreeSWITCHSent(_ recorded: RecordedCall) async throws {
        let real = try RecordedCall.events(recorded.capture).map { event in
            RecordedCall.summary(uuid: event.uniqueID ?? "") { event[$0] }
        }
        let call = try await FakeFreeSWITCH.runCall(recorded.handler, script: recorded.script)
        let simulated = call.events.map { event in RecordedCall.summary(uuid: call.uuid) { event[$0] } }
        // Left out: CHANNEL_PARK (FreeSWITCH sends it only when the channel parks before the first sendmsg arrives)
        // and what the socket application's own end adds (CHANNEL_UNPARK, its completion, CHANNEL_STATE).
        let relevant = { (summary: [String]) in
            !["CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_STATE"].contains(summary[0]) && summary[1] != "socket"
        }
        let expected = real.filter(relevant)
        let actual = simulated.filter(relevant)
        #expect(expected.map(\.[0]).contains("CHANNEL_HANGUP_COMPLETE"))
        #expect(actual.count == expected.count)
        for (index, (want, got)) in zip(expected, actual).enumerated() {
            #expect(got == want, "event \(index)")
        }
    }
}

/// A recorded FreeSWITCH call and how to replay it on the simulated switch.
struct RecordedCall: Sendable, CustomTestStringConvertible {
    var capture: String
    var script: CallScript
    var handler: ClosureOutboundHandler

    var testDescription: String { capture }

    static let all: [RecordedCall] = [
        bridge("outbound-bridge-far-end-hangup", .answered(cause: "CALL_REJECTED")),
        bridge("outbound-bridge-caller-hangup", .answered(callerHangsUpAfter: .zero)),
        bridge("outbound-bridge-busy", .busy),
        bridge("outbound-bridge-no-answer", .noAnswer),
        bridge("outbound-bridge-failed", .failed(cause: "NO_ROUTE_DESTINATION")),
        bridge("outbound-bridge-continue-on-fail", .busy, set: "continue_on_fail=NORMAL_TEMPORARY_FAILURE,USER_BUSY"),
        bridge(
            "outbound-bridge-hangup-after-bridge",
            .answered(cause: "CALL_REJECTED"),
            set: "hangup_after_bridge=true"
        ),
        RecordedCall(
            capture: "outbound-hangup-command",
            script: CallScript(),
            handler: ClosureOutboundHandler { session in
                try await session.answer()
                _ = try await session.connection.send(.hangup(cause: "CALL_REJECTED"))
            }
        ),
    ]

    /// The capture client's commands: [`set`,] answer, bridge, and `hangup` when the call is still up.
    private static func bridge(_ capture: String, _ outcome: BridgeOutcome, set setting: String? = nil) -> Self {
        RecordedCall(
            capture: capture,
            script: CallScript(bridges: [outcome]),
            handler: ClosureOutboundHandler { session in
                if let setting { try await session.execute("set", setting) }
                try await session.answer()
                let result = try await session.bridge("loopback/echo/peertest")
                if result.event["Answer-State"] != "hangup" { try await session.hangup() }
            }
        )
    }

    /// The events FreeSWITCH sent in a capture.
    static func events(_ capture: String) throws -> [EventSocketEvent] {
        let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/esl/\(capture)/from-freeswitch.bin")
        var buffer = ByteBuffer(bytes: try Data(contentsOf: file))
        var decoder = EventSocketFrameDecoder()
        var events: [EventSocketEvent] = []
        while let frame = try decoder.decode(buffer: &buffer) {
            if frame.contentType.isEvent { events.append(try EventSocketEvent(frame: frame)) }
        }
        return events
    }

    /// The headers compared, with the channel's own UUID and the far end's written as roles, not values.
    static func summary(uuid: String, _ header: (String) -> String?) -> [String] {
        let farEnd = header("variable_originated_legs")?.split(separator: ";").first.map(String.init)
        func role(_ value: String?) -> String {
            guard let value else { return "-" }
            if value == uuid { return "<channel>" }
            if let farEnd, value.hasPrefix(farEnd) { return "<far end>" + value.dropFirst(farEnd.count) }
            return value
        }
        let named = ["Application-Response", "Answer-State", "Channel-Call-State", "Hangup-Cause", "Other-Type"]
        let variables = [
            "endpoint_disposition", "originate_disposition", "DIALSTATUS", "originate_failed_cause",
            "last_bridge_hangup_cause", "bridge_hangup_cause", "hangup_cause", "last_bridge_role",
            "continue_on_fail", "hangup_after_bridge",
        ]
        let farEndIDs = [
            "Bridge-A-Unique-ID", "Bridge-B-Unique-ID", "Other-Leg-Unique-ID", "variable_signal_bond",
            "variable_originate_signal_bond", "variable_bridge_uuid", "variable_last_bridge_to", "variable_bridge_to",
            "variable_originate_causes",
        ]
        var summary = [header("Event-Name") ?? "-", header("Application") ?? "-"]
        summary += named.map { "\($0)=\(header($0) ?? "-")" }
        summary += variables.map { "\($0)=\(header("variable_" + $0) ?? "-")" }
        summary += farEndIDs.map { "\($0)=\(role(header($0)))" }
        let legs = header("variable_originated_legs").map { String($0.prefix { $0 != ";" }) }
        summary.append("originated_legs=\(role(legs))")
        return summary
    }
}
