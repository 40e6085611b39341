import EventSocket
import Foundation
import Testing
import XMPP

@testable import Rayo

@Suite("Call commands, events and races")
struct RayoCallTests {
    static let callA = "6f3c2f7a-2222-4a3c-9b1e-00000000000a"
    static let callB = "6f3c2f7a-2222-4a3c-9b1e-00000000000b"

    /// The states a call can be in when a command arrives.
    enum State: String, CaseIterable, CustomTestStringConvertible {
        case offered, accepted, answered, dialing, ringing, dialedAnswered, ending
        var testDescription: String { rawValue }
    }

    /// A harness with one client and call A in `state` (B offered too, for joins).
    static func setUp(_ state: State) -> (Harness, JID) {
        var harness = Harness()
        let client = harness.connect("usera")
        switch state {
        case .offered:
            harness.arrive(callA)
        case .accepted:
            harness.arrive(callA)
            harness.replyAll(
                harness.command(client, callA, id: "setup-accept", .accept(headers: [], earlyMedia: false))
            )
        case .answered:
            harness.arrive(callA)
            harness.replyAll(harness.command(client, callA, id: "setup-answer", .answer(headers: [])))
            harness.event("CHANNEL_ANSWER", callA)
        case .dialing, .ringing, .dialedAnswered:
            let dial = harness.iq(
                client,
                to: nil,
                id: "setup-dial",
                RayoDial(to: "sofia/external/bob@example.com", uri: "xmpp:\(callA)@rayo.localhost").element
            )
            harness.replyAll(dial, .ok("+OK \(callA)"))
            if state != .dialing { harness.event("CHANNEL_PROGRESS", callA) }
            if state == .dialedAnswered { harness.event("CHANNEL_ANSWER", callA) }
        case .ending:
            harness.arrive(callA)
            harness.replyAll(harness.command(client, callA, id: "setup-hangup", .hangup(headers: [])))
        }
        harness.arrive(callB)
        return (harness, client)
    }

    enum Expected: Equatable {
        case request(String)
        case result
        case error(String)
    }

    static let joinB = RayoCommand.join(RayoJoin(target: .call(callB)))

    /// Every command in every state: what the machine asks FreeSWITCH for, or how it answers at once.
    static let table: [(State, RayoCommand, Expected)] = {
        let a = callA
        var rows: [(State, RayoCommand, Expected)] = []
        let accept = RayoCommand.accept(headers: [], earlyMedia: false)
        let answer = RayoCommand.answer(headers: [])
        let redirect = RayoCommand.redirect(to: "sip:help@example.com", headers: [])
        let reject = RayoCommand.reject(reason: .busy, headers: [])
        let hangup = RayoCommand.hangup(headers: [])
        let unjoin = RayoCommand.unjoin(.call(callB))
        let mixer = RayoCommand.join(RayoJoin(target: .mixer("room1"), direction: .recv))
        for state in [State.offered, .accepted] {
            rows += [
                (state, accept, .request("execute ring_ready on \(a)")),
                (state, answer, .request("execute answer on \(a)")),
                (state, redirect, .request("execute redirect sip:help@example.com on \(a)")),
                (state, reject, .request("api uuid_kill \(a) USER_BUSY")),
                (state, hangup, .request("api uuid_kill \(a) NORMAL_CLEARING")),
                (state, joinB, .request("api uuid_bridge \(a) \(callB)")),
                (state, unjoin, .error("unexpected-request")),
                (state, mixer, .request("execute conference room1@default+flags{mute} on \(a)")),
            ]
        }
        rows += [
            (.answered, accept, .result),
            (.answered, answer, .result),
            (.answered, redirect, .request("api uuid_deflect \(a) sip:help@example.com")),
            (.answered, reject, .error("unexpected-request")),
            (.answered, hangup, .request("api uuid_kill \(a) NORMAL_CLEARING")),
            (.answered, joinB, .request("api uuid_bridge \(a) \(callB)")),
            (.answered, unjoin, .error("unexpected-request")),
            (.answered, mixer, .request("execute conference room1@default+flags{mute} on \(a)")),
        ]
        for state in [State.dialing, .ringing] {
            rows += [
                (state, accept, .error("unexpected-request")),
                (state, answer, .error("unexpected-request")),
                (state, redirect, .error("unexpected-request")),
                (state, reject, .error("unexpected-request")),
                (state, hangup, .request("api uuid_kill \(a) NORMAL_CLEARING")),
                (state, unjoin, .error("unexpected-request")),
            ]
        }
        rows += [
            (.dialedAnswered, accept, .error("unexpected-request")),
            (.dialedAnswered, answer, .result),
            (.dialedAnswered, redirect, .request("api uuid_deflect \(a) sip:help@example.com")),
            (.dialedAnswered, reject, .error("unexpected-request")),
            (.dialedAnswered, hangup, .request("api uuid_kill \(a) NORMAL_CLEARING")),
            (.dialedAnswered, mixer, .request("execute conference room1@default+flags{mute} on \(a)")),
        ]
        for command in [accept, answer, redirect, reject, hangup, joinB, unjoin, mixer] {
            rows.append((.ending, command, .error("unexpected-request")))
        }
        return rows
    }()

    @Test("every command in every call state", arguments: table)
    func commandInState(_ state: State, _ command: RayoCommand, _ expected: Expected) {
        var (harness, client) = Self.setUp(state)
        if case .join(let join) = command, case .call = join.target,
            state == .dialing || state == .ringing || state == .dialedAnswered
        {
            // The dialer was not offered call B: it cannot see it.
            let actions = harness.command(client, Self.callA, id: "cmd", command)
            #expect(actions.reply(to: "cmd")?.errorCondition == "item-not-found")
            return
        }
        let actions = harness.command(client, Self.callA, id: "cmd", command)
        let commands = actions.commands.filter { !$0.hasPrefix("api uuid_setvar") }
        switch expected {
        case .request(let line):
            #expect(commands == [line])
            #expect(actions.reply(to: "cmd") == nil, "answered only when the switch confirms")
        case .result:
            #expect(actions.reply(to: "cmd")?.isResult == true)
            #expect(commands.isEmpty)
        case .error(let condition):
            #expect(actions.reply(to: "cmd")?.errorCondition == condition)
            #expect(commands.isEmpty)
        }
    }

    @Test("answer: reply headers first, result on CHANNEL_ANSWER, then <answered/>")
    func answer() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let actions = harness.command(
            a,
            Self.callA,
            id: "ans",
            .answer(headers: [RayoHeader(name: "X-Tag", value: "v 1")])
        )
        #expect(
            actions.commands == ["api uuid_setvar \(Self.callA) sip_rh_X-Tag v 1", "execute answer on \(Self.callA)"]
        )
        let replied = harness.replyAll(actions)
        #expect(replied.reply(to: "ans") == nil)
        let answered = harness.event("CHANNEL_ANSWER", Self.callA, [("Answer-State", "answered")])
        #expect(answered.sent.map(\.name) == ["iq", "presence"])
        #expect(answered.reply(to: "ans")?.isResult == true)
        #expect(answered.events(to: a) == ["answered"])
        harness.expectEachIQAnsweredOnce()
    }

    @Test("accept with early media pre-answers")
    func earlyMedia() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let actions = harness.command(a, Self.callA, id: "acc", .accept(headers: [], earlyMedia: true))
        #expect(actions.commands == ["execute pre_answer on \(Self.callA)"])
        #expect(harness.replyAll(actions).reply(to: "acc")?.isResult == true)
    }

    @Test("a failed request is answered with its error text; a dropped connection with service-unavailable")
    func failedRequests() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let first = harness.command(a, Self.callA, id: "r1", .redirect(to: "sip:x@y", headers: []))
        let failed = harness.replyAll(first, .ok("-ERR no such application\n"))
        #expect(failed.reply(to: "r1")?.errorCondition == "internal-server-error")
        #expect(failed.reply(to: "r1")?.errorText == "-ERR no such application")
        let second = harness.command(a, Self.callA, id: "r2", .hangup(headers: []))
        #expect(harness.replyAll(second, .disconnected).reply(to: "r2")?.errorCondition == "service-unavailable")
        // The hangup failed: a later end is not hangup-command.
        let end = harness.hangup(Self.callA)
        #expect(end.presences(to: a).first?.endReason?.name == "hungup")
        harness.expectEachIQAnsweredOnce()
    }

    @Test("hangup: result, then <end><hangup-command/> without platform-code, to every client offered")
    func hangup() {
        var harness = Harness()
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        harness.arrive(Self.callA)
        let actions = harness.command(
            a,
            Self.callA,
            id: "h",
            .hangup(headers: [RayoHeader(name: "X-Reason", value: "done")])
        )
        #expect(
            actions.commands == [
                "api uuid_setvar \(Self.callA) sip_rh_X-Reason done", "api uuid_kill \(Self.callA) NORMAL_CLEARING",
            ]
        )
        #expect(harness.replyAll(actions, .ok("+OK")).reply(to: "h")?.isResult == true)
        let end = harness.hangup(Self.callA)
        for client in [a, b] {
            let reason = end.presences(to: client).first?.endReason
            #expect(reason?.name == "hangup-command")
            #expect(reason?[attribute: "platform-code"] == nil)
        }
        let after = harness.command(a, Self.callA, id: "after", .answer(headers: []))
        #expect(after.reply(to: "after")?.errorCondition == "item-not-found")
        harness.expectEachIQAnsweredOnce()
    }

    static let endReasons: [(String, String?, String, String?)] = [
        ("NORMAL_CLEARING", "16", "hungup", "16"),
        ("ORIGINATOR_CANCEL", "16", "hungup", "16"),
        ("USER_BUSY", "17", "busy", "17"),
        ("NO_ANSWER", "19", "timeout", "19"),
        ("NO_USER_RESPONSE", "18", "timeout", "18"),
        ("ALLOTTED_TIMEOUT", "16", "timeout", "16"),
        ("CALL_REJECTED", "21", "rejected", "21"),
        ("NORMAL_TEMPORARY_FAILURE", "41", "error", "41"),
        ("USER_NOT_REGISTERED", "", "error", "16"),
        ("UNALLOCATED_NUMBER", "1", "error", "1"),
    ]

    @Test("every end reason with its platform-code", arguments: endReasons)
    func endReason(_ cause: String, _ q850: String?, _ reason: String, _ code: String?) {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let end = harness.hangup(Self.callA, cause: cause, q850: q850)
        let element = end.presences(to: a).first
        #expect(element?[attribute: "type"] == "unavailable")
        #expect(element?.endReason?.name == reason)
        #expect(element?.endReason?[attribute: "platform-code"] == code)
    }

    @Test("reject maps busy, decline and error to their hangup causes", arguments: RayoRejectReason.allCases)
    func reject(_ reason: RayoRejectReason) {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let actions = harness.command(a, Self.callA, id: "rej", .reject(reason: reason, headers: []))
        #expect(actions.commands == ["api uuid_kill \(Self.callA) \(reason.hangupCause)"])
    }

    @Test("an answer pending when the call ends gets item-not-found, once")
    func answerPendingAtEnd() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.replyAll(harness.command(a, Self.callA, id: "ans", .answer(headers: [])))
        let end = harness.hangup(Self.callA, cause: "ORIGINATOR_CANCEL")
        #expect(end.reply(to: "ans")?.errorCondition == "item-not-found")
        #expect(end.events(to: a) == ["end"])
        harness.event("CHANNEL_ANSWER", Self.callA)  // a stray late event changes nothing
        harness.expectEachIQAnsweredOnce()
    }

    @Test("a hangup whose end arrives before its reply is answered with a result, once")
    func hangupEndBeforeReply() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let actions = harness.command(a, Self.callA, id: "h", .hangup(headers: []))
        let end = harness.hangup(Self.callA)
        #expect(end.reply(to: "h")?.isResult == true)
        #expect(end.presences(to: a).first?.endReason?.name == "hangup-command")
        harness.replyAll(actions)
        harness.expectEachIQAnsweredOnce()
    }

    @Test("join two calls: result after CHANNEL_BRIDGE, joined to both; unjoin after CHANNEL_UNBRIDGE")
    func joinCalls() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.arrive(Self.callB)
        harness.replyAll(harness.command(a, Self.callB, id: "ansB", .answer(headers: [])))
        harness.event("CHANNEL_ANSWER", Self.callB)
        let join = harness.command(a, Self.callA, id: "j", Self.joinB)
        #expect(
            join.commands == [
                "api uuid_setvar \(Self.callA) park_after_bridge true",
                "api uuid_setvar \(Self.callB) park_after_bridge true",
                "api uuid_bridge \(Self.callA) \(Self.callB)",
            ]
        )
        #expect(harness.replyAll(join, .ok("+OK")).reply(to: "j") == nil)
        let second = harness.command(a, Self.callA, id: "j2", .join(RayoJoin(target: .mixer("m"))))
        #expect(second.reply(to: "j2")?.errorCondition == "unexpected-request")
        let bridged = harness.feed(.switchEvent(Events.bridge(Self.callA, Self.callB)))
        #expect(bridged.reply(to: "j")?.isResult == true)
        #expect(
            bridged.presences(to: a).compactMap { $0.child("joined")?[attribute: "call-uri"] } == [
                callURI(Self.callB), callURI(Self.callA),
            ]
        )
        let unjoin = harness.command(a, Self.callA, id: "u", .unjoin(.call(Self.callB)))
        #expect(unjoin.commands == ["api uuid_transfer \(Self.callA) -both park inline"])
        harness.replyAll(unjoin)
        // After `uuid_transfer -both`, FreeSWITCH 1.10.12's CHANNEL_UNBRIDGE names no other leg (seen against the
        // real switch): the call left every bridge it was in.
        let unbridged = harness.feed(.switchEvent(Events.channel("CHANNEL_UNBRIDGE", Self.callA, [])))
        #expect(unbridged.reply(to: "u")?.isResult == true)
        #expect(unbridged.events(to: a) == ["unjoined", "unjoined"])
        harness.expectEachIQAnsweredOnce()
    }

    @Test("hangup during join: the join is answered item-not-found once, the other side hears nothing odd")
    func hangupDuringJoin() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.arrive(Self.callB)
        let join = harness.command(a, Self.callA, id: "j", Self.joinB)
        harness.replyAll(join)
        let end = harness.hangup(Self.callB)
        #expect(end.reply(to: "j")?.errorCondition == "item-not-found")
        harness.hangup(Self.callA)
        harness.expectEachIQAnsweredOnce()
        #expect(harness.machine.status.calls.isEmpty)
    }

    @Test(
        "join a mixer: conference on the profile with flags, member id from add-member, mixer presence, unjoin by hup"
    )
    func mixer() {
        var harness = Harness(RayoSettings(domain: Harness.domain, mixerConferenceProfile: "wideband"))
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.arrive(Self.callB)
        let join = harness.command(a, Self.callA, id: "j", .join(RayoJoin(target: .mixer("room1"), direction: .send)))
        #expect(join.commands == ["execute conference room1@wideband+flags{deaf} on \(Self.callA)"])
        harness.replyAll(join)
        var actions = harness.feed(
            .switchEvent(Events.conference("add-member", Self.callA, name: "room1", member: "7"))
        )
        #expect(actions.reply(to: "j")?.isResult == true)
        let fromMixer = actions.presences(to: a).filter { $0[attribute: "from"] == "room1@rayo.localhost" }
        #expect(fromMixer.first?.child("joined")?[attribute: "call-uri"] == callURI(Self.callA))
        #expect(harness.machine.status.mixers == [RayoStatus.Mixer(name: "room1", members: [Self.callA])])
        actions = harness.feed(.switchEvent(Events.conference("start-talking", Self.callA, name: "room1", member: "7")))
        #expect(actions.events(to: a) == ["started-speaking"])
        let unjoin = harness.command(a, Self.callA, id: "u", .unjoin(.mixer("room1")))
        #expect(unjoin.commands == ["api conference room1 hup 7"])
        harness.replyAll(unjoin)
        actions = harness.feed(.switchEvent(Events.conference("del-member", Self.callA, name: "room1", member: "7")))
        #expect(actions.reply(to: "u")?.isResult == true)
        #expect(harness.machine.status.mixers.isEmpty, "the mixer is destroyed with its last member")
        harness.expectEachIQAnsweredOnce()
    }

    @Test("a join whose conference application ends without a member fails")
    func mixerJoinFails() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.replyAll(harness.command(a, Self.callA, id: "j", .join(RayoJoin(target: .mixer("room1")))))
        let actions = harness.event(
            "CHANNEL_EXECUTE_COMPLETE",
            Self.callA,
            [("Application", "conference"), ("Application-Response", "_none_")]
        )
        #expect(actions.reply(to: "j")?.errorCondition == "internal-server-error")
        harness.expectEachIQAnsweredOnce()
    }

    @Test(
        "event socket lost: in-flight commands get service-unavailable once; new commands too; restore ends vanished calls"
    )
    func eventSocketLost() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.arrive(Self.callB)
        let answer = harness.command(a, Self.callA, id: "ans", .answer(headers: []))
        let hangup = harness.command(a, Self.callB, id: "hup", .hangup(headers: []))
        harness.replyAll(answer + hangup, .disconnected)
        var actions = harness.feed(.eventSocketLost)
        actions = harness.command(a, Self.callA, id: "while-down", .answer(headers: []))
        #expect(actions.reply(to: "while-down")?.errorCondition == "service-unavailable")
        let unknown = harness.command(a, "00000000-0000-0000-0000-000000000000", id: "unknown", .answer(headers: []))
        #expect(unknown.reply(to: "unknown")?.errorCondition == "item-not-found")
        actions = harness.feed(.eventSocketRestored(liveCalls: [Self.callA.uppercased()]))
        #expect(actions.presences(to: a).map { $0[attribute: "from"] } == ["\(Self.callB)@rayo.localhost"])
        #expect(actions.presences(to: a).first?.endReason?.name == "error")
        #expect(harness.machine.status.calls.map(\.uuid) == [Self.callA])
        harness.expectEachIQAnsweredOnce()
    }

    @Test("event socket lost with replies still unknown: each IQ answered once, late replies ignored")
    func lostBeforeReplies() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let answer = harness.command(a, Self.callA, id: "ans", .answer(headers: []))
        let lost = harness.feed(.eventSocketLost)
        #expect(lost.reply(to: "ans")?.errorCondition == "service-unavailable")
        harness.replyAll(answer, .ok("+OK"))
        harness.event("CHANNEL_ANSWER", Self.callA)
        harness.expectEachIQAnsweredOnce()
    }

    @Test("maxIdle: an idle call is hung up; a joined call is not")
    func maxIdle() {
        var harness = Harness(RayoSettings(domain: Harness.domain, maxIdle: .seconds(60)))
        let a = harness.connect("usera")
        let arrival = harness.arrive(Self.callA)
        #expect(arrival.timersStarted.contains("max-idle(\(Self.callA))"))
        harness.advance(.seconds(30))
        harness.replyAll(harness.command(a, Self.callA, id: "ans", .answer(headers: [])))
        harness.event("CHANNEL_ANSWER", Self.callA)
        harness.advance(.seconds(30))
        var actions = harness.feed(.timerFired(TimerID(.idle(call: Self.callA))))
        #expect(actions.requests.isEmpty, "only 30 s since the answer")
        #expect(actions.timersStarted == ["max-idle(\(Self.callA))"])
        harness.advance(.seconds(30))
        actions = harness.feed(.timerFired(TimerID(.idle(call: Self.callA))))
        #expect(actions.commands == ["api uuid_kill \(Self.callA) ALLOTTED_TIMEOUT"])
        let end = harness.hangup(Self.callA, cause: "ALLOTTED_TIMEOUT")
        #expect(end.presences(to: a).first?.endReason?.name == "timeout")

        var joined = Harness(RayoSettings(domain: Harness.domain, maxIdle: .seconds(60)))
        let b = joined.connect("userb")
        joined.arrive(Self.callA)
        joined.arrive(Self.callB)
        joined.replyAll(joined.command(b, Self.callA, id: "j", Self.joinB))
        joined.feed(.switchEvent(Events.bridge(Self.callA, Self.callB)))
        joined.advance(.seconds(600))
        actions = joined.feed(.timerFired(TimerID(.idle(call: Self.callA))))
        #expect(actions.requests.isEmpty)
    }

    @Test("message to a call becomes uuid_send_message; a multi-line body is refused")
    func message() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        var message = XMLElement(
            "message",
            namespace: XMPPNamespace.client,
            ["to": "\(Self.callA)@rayo.localhost", "id": "m1"]
        )
        message.append(XMLElement("body", children: [.text("hello there")]))
        let actions = harness.stanza(message, from: a)
        #expect(actions.commands == ["api uuid_send_message \(Self.callA) hello there"])
        message.children = [.element(XMLElement("body", children: [.text("two\nlines")]))]
        #expect(harness.stanza(message, from: a).sent.first?.errorCondition == "bad-request")
    }

    @Test("exec, components and unknown commands are feature-not-implemented")
    func unsupported() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let exec = harness.iq(
            a,
            to: nil,
            id: "exec",
            XMLElement("exec", namespace: RayoNamespace.core, ["api": "system", "args": "rm -rf /"])
        )
        #expect(exec.reply(to: "exec")?.errorCondition == "feature-not-implemented")
        #expect(exec.requests.isEmpty)
        let execCall = harness.iq(
            a,
            to: Self.callA,
            id: "exec2",
            XMLElement("exec", namespace: RayoNamespace.core, ["api": "system"])
        )
        #expect(execCall.reply(to: "exec2")?.errorCondition == "feature-not-implemented")
        for (index, namespace) in ComponentNamespaces.all.sorted().enumerated() {
            let id = "component\(index)"
            let actions = harness.iq(a, to: Self.callA, id: id, XMLElement("output", namespace: namespace))
            #expect(actions.reply(to: id)?.errorCondition == "feature-not-implemented")
        }
        harness.expectEachIQAnsweredOnce()
    }
}

@Suite("Status and event variables")
struct RayoStatusTests {
    static let callA = "6f3c2f7a-7777-4a3c-9b1e-00000000000a"

    @Test("status lists clients, calls with state, controller and offers, and survives a JSON round trip")
    func status() throws {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.connect("userb", presence: .available(show: .dnd))
        harness.arrive(Self.callA)
        harness.replyAll(harness.command(a, Self.callA, id: "acc", .accept(headers: [], earlyMedia: false)))
        let status = harness.machine.status
        #expect(status.clients.map(\.available) == [true, false])
        #expect(
            status.calls == [
                RayoStatus.Call(
                    uuid: Self.callA,
                    direction: "inbound",
                    state: "accepted",
                    controller: a.description,
                    offeredTo: [a.description],
                    joinedTo: []
                )
            ]
        )
        #expect(status.eventSocketUp)
        let data = try JSONEncoder().encode(status)
        #expect(try JSONDecoder().decode(RayoStatus.self, from: data) == status)
    }

    @Test("addVariablesToEvents puts the event's channel variables on answered and end")
    func variables() {
        var harness = Harness(RayoSettings(domain: Harness.domain, addVariablesToEvents: true))
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.replyAll(harness.command(a, Self.callA, id: "ans", .answer(headers: [])))
        let answered = harness.event("CHANNEL_ANSWER", Self.callA, [("variable_account", "42")])
        let header = answered.presences(to: a).first?.child("answered")?.child("header")
        #expect(header?[attribute: "name"] == "variable-account")
        #expect(header?[attribute: "value"] == "42")
        let end = harness.hangup(Self.callA)
        let names = end.presences(to: a).first?.child("end")?.children("header").compactMap { $0[attribute: "name"] }
        #expect(names?.contains("variable-hangup_cause_q850") == true)
    }
}

@Suite("Mixers with several members")
struct RayoMixerTests {
    static let callA = "6f3c2f7a-8888-4a3c-9b1e-00000000000a"
    static let callB = "6f3c2f7a-8888-4a3c-9b1e-00000000000b"

    @Test("mixer presence goes to the controllers of every member call; the mixer lives until its last member leaves")
    func twoMembers() {
        var harness = Harness(RayoSettings(domain: Harness.domain, offerAlgorithm: .roundRobin))
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        harness.arrive(Self.callA)  // to usera
        harness.arrive(Self.callB)  // to userb
        for (client, call, member) in [(a, Self.callA, "1"), (b, Self.callB, "2")] {
            let join = harness.command(client, call, id: "j\(member)", .join(RayoJoin(target: .mixer("room9"))))
            #expect(join.commands == ["execute conference room9@default on \(call)"])
            harness.replyAll(join)
            harness.feed(.switchEvent(Events.conference("add-member", call, name: "room9", member: member)))
        }
        let mixerJID = "room9@rayo.localhost"
        let joinedSeenByA = harness.actions.presences(to: a).filter { $0[attribute: "from"] == mixerJID }
        #expect(
            joinedSeenByA.compactMap { $0.child("joined")?[attribute: "call-uri"] } == [
                callURI(Self.callA), callURI(Self.callB),
            ]
        )
        var actions = harness.feed(
            .switchEvent(Events.conference("start-talking", Self.callB, name: "room9", member: "2"))
        )
        #expect(actions.events(to: a) == ["started-speaking"])
        #expect(actions.events(to: b) == ["started-speaking"])
        actions = harness.hangup(Self.callA)
        #expect(actions.presences(to: b).first?.child("unjoined")?[attribute: "call-uri"] == callURI(Self.callA))
        #expect(harness.machine.status.mixers == [RayoStatus.Mixer(name: "room9", members: [Self.callB])])
        harness.feed(.switchEvent(Events.conference("del-member", Self.callB, name: "room9", member: "2")))
        #expect(harness.machine.status.mixers.isEmpty)
        let stranger = harness.connect("userc")
        let iq = harness.iq(stranger, to: mixerJID, id: "m", XMLElement("anything", namespace: RayoNamespace.core))
        #expect(iq.reply(to: "m")?.errorCondition == "item-not-found")
        harness.expectEachIQAnsweredOnce()
    }
}

/// The `call-uri` the machine puts in events, as mod_rayo: `xmpp:<uuid>@<domain>`.
private func callURI(_ uuid: String) -> String { "xmpp:\(uuid)@rayo.localhost" }
