import EventSocket
import Testing
import XMPP

@testable import Rayo

@Suite("Dial")
struct RayoDialTests {
    static let gateways = [
        DialGateway(uriPrefix: "default", dialPrefix: "sofia/gateway/outbound/", strip: 0),
        DialGateway(uriPrefix: "sip:", dialPrefix: "sofia/external/", strip: 4),
        DialGateway(uriPrefix: "sip:+1", dialPrefix: "sofia/gateway/nanp/", strip: 5),
        DialGateway(uriPrefix: "tel:", dialPrefix: "sofia/gateway/outbound/", strip: 4),
    ]

    static let routes: [(String, String)] = [
        ("sip:bob@example.com", "sofia/external/bob@example.com"),
        ("sip:+15551234@carrier", "sofia/gateway/nanp/15551234@carrier"),
        ("tel:+4930123", "sofia/gateway/outbound/+4930123"),
        ("1000", "sofia/gateway/outbound/1000"),
        ("user/1000", "user/1000"),
        ("sofia/internal/1000@example.com", "sofia/internal/1000@example.com"),
    ]

    @Test("gateways: longest prefix, strip, default as fallback", arguments: routes)
    func gateway(_ to: String, _ dialString: String) {
        let machine = RayoMachine(settings: RayoSettings(domain: Harness.domain, dialGateways: Self.gateways))
        #expect(machine.dialString(for: to) == dialString)
    }

    @Test("without gateways the destination is the dial string")
    func noGateways() {
        let machine = RayoMachine(settings: RayoSettings(domain: Harness.domain))
        #expect(machine.dialString(for: "user/1000") == "user/1000")
    }

    @Test("dial: ref at once, bgapi originate with every variable, ringing once, answered, nested join after answer")
    func dial() {
        var harness = Harness(RayoSettings(domain: Harness.domain, dialGateways: Self.gateways))
        let a = harness.connect("usera")
        let callB = "6f3c2f7a-3333-4a3c-9b1e-00000000000b"
        harness.arrive(callB)
        let dial = RayoDial(
            to: "{sip_cid_type=pid}sip:bob@example.com",
            from: "sip:+15551234@example.com",
            timeout: .milliseconds(30_500),
            uri: "xmpp:ABCDEF01-0000-4000-8000-000000000001@rayo.localhost",
            headers: [RayoHeader(name: "JvbRoomName", value: "room,1@conference.example.com")],
            join: RayoJoin(target: .call(callB))
        )
        let uuid = "abcdef01-0000-4000-8000-000000000001"
        let actions = harness.iq(a, to: nil, id: "d", dial.element)
        let reply = actions.reply(to: "d")
        #expect(reply?.isResult == true)
        #expect(reply?.child("ref", namespace: RayoNamespace.core)?[attribute: "uri"] == "xmpp:\(uuid)@rayo.localhost")
        // The header value travels through originate's three escaping layers (DialStringEscaping): `,` → `\,` → `\\,`.
        #expect(
            actions.commands == [
                "bgapi originate {origination_uuid=\(uuid),origination_caller_id_number=+15551234,originate_timeout=31,"
                    + "sip_h_JvbRoomName=room\\\\,1@conference.example.com,rayo_dialed=true,park_after_bridge=true,"
                    + "hangup_after_bridge=false,sip_cid_type=pid}"
                    + "sofia/external/bob@example.com &park()"
            ]
        )
        harness.replyAll(actions, .ok("+OK \(uuid)\n"))
        #expect(harness.event("CHANNEL_PROGRESS", uuid).events(to: a) == ["ringing"])
        #expect(harness.event("CHANNEL_PROGRESS_MEDIA", uuid).events(to: a).isEmpty, "ringing once")
        let answered = harness.event("CHANNEL_ANSWER", uuid)
        #expect(answered.events(to: a) == ["answered"])
        #expect(
            answered.commands == [
                "api uuid_setvar \(uuid) park_after_bridge true", "api uuid_setvar \(callB) park_after_bridge true",
                "api uuid_bridge \(uuid) \(callB)",
            ]
        )
        harness.replyAll(answered)
        let bridged = harness.feed(.switchEvent(Events.bridge(uuid, callB)))
        #expect(bridged.events(to: a) == ["joined"], "call B has no controller to tell")
        let end = harness.hangup(uuid, cause: "NORMAL_CLEARING")
        #expect(end.presences(to: a).first?.endReason?.name == "hungup")
        #expect(end.releases.isEmpty, "a dialed call has no outbound socket session")
        harness.expectEachIQAnsweredOnce()
    }

    @Test("a failed originate ends the call with the mapped reason and leaves nothing behind")
    func dialFails() {
        var harness = Harness()
        let a = harness.connect("usera")
        let actions = harness.iq(a, to: nil, id: "d", RayoDial(to: "user/1001").element)
        guard let uri = actions.reply(to: "d")?.child("ref")?[attribute: "uri"] else {
            Issue.record("no ref")
            return
        }
        let end = harness.replyAll(actions, .ok("-ERR USER_NOT_REGISTERED\n"))
        let presence = end.presences(to: a).first
        #expect("xmpp:" + (presence?[attribute: "from"] ?? "") == uri)
        #expect(presence?.endReason?.name == "error")
        #expect(presence?.endReason?[attribute: "platform-code"] == "16")
        #expect(harness.machine.status.calls.isEmpty)
        // The hangup event that may follow finds nothing to end twice.
        let uuid = String(uri.dropFirst(5).prefix { $0 != "@" })
        #expect(harness.hangup(uuid, cause: "USER_NOT_REGISTERED").sent.isEmpty)
        harness.expectEachIQAnsweredOnce()
    }

    @Test("busy and no-answer on a dialed call")
    func dialBusy() {
        for (cause, reason) in [("USER_BUSY", "busy"), ("NO_ANSWER", "timeout"), ("CALL_REJECTED", "rejected")] {
            var harness = Harness()
            let a = harness.connect("usera")
            let actions = harness.iq(a, to: nil, id: "d", RayoDial(to: "user/1001", uri: "c-1@rayo.localhost").element)
            harness.event("CHANNEL_PROGRESS", "c-1")
            let end = harness.hangup("c-1", cause: cause)
            #expect(end.presences(to: a).first?.endReason?.name == reason)
            #expect(harness.replyAll(actions, .ok("-ERR \(cause)\n")).sent.isEmpty, "no second end")
        }
    }

    @Test("generated uuids come from the injected generator; a requested uuid in use is conflict")
    func uuids() {
        var first = Harness(seed: 42)
        var second = Harness(seed: 42)
        let a = first.connect("usera")
        let b = second.connect("usera")
        let one = first.iq(a, to: nil, id: "d", RayoDial(to: "user/1").element).reply(to: "d")
        let two = second.iq(b, to: nil, id: "d", RayoDial(to: "user/1").element).reply(to: "d")
        #expect(one?.child("ref")?[attribute: "uri"] == two?.child("ref")?[attribute: "uri"])
        let uuid = first.machine.status.calls.first?.uuid ?? ""
        #expect(uuid.count == 36)
        let again = first.iq(a, to: nil, id: "d2", RayoDial(to: "user/1", uri: uuid).element)
        #expect(again.reply(to: "d2")?.errorCondition == "conflict")
    }

    @Test("bad dials are bad-request with a clear text, never a crash")
    func badDials() {
        var harness = Harness()
        let a = harness.connect("usera")
        let cases: [(XMLElement, String)] = [
            (
                XMLElement("dial", namespace: RayoNamespace.core, ["to": "sip:x", "timeout": "1e3"]),
                "dial timeout '1e3' is not a number of milliseconds (0 to 86400000)"
            ),
            (
                XMLElement("dial", namespace: RayoNamespace.core, ["to": "{a=b"]),
                "dial to '{a=b' opens '{' without closing it"
            ),
            (XMLElement("dial", namespace: RayoNamespace.core, ["to": "{a=b}"]), "dial to '{a=b}' has no destination"),
            (
                XMLElement("dial", namespace: RayoNamespace.core, ["to": "sip:x", "uri": "xmpp:a b@c"]),
                "dial uri 'xmpp:a b@c' does not name a call id"
            ),
        ]
        for (index, (payload, text)) in cases.enumerated() {
            let reply = harness.iq(a, to: nil, id: "bad\(index)", payload).reply(to: "bad\(index)")
            #expect(reply?.errorCondition == "bad-request")
            #expect(reply?.errorText == text)
        }
        #expect(harness.machine.status.calls.isEmpty)
        harness.expectEachIQAnsweredOnce()
    }
}

@Suite("Dial races")
struct RayoDialRaceTests {
    @Test("a hangup before FreeSWITCH created the dialed channel is carried out when the channel appears")
    func hangupBeforeChannel() {
        var harness = Harness()
        let a = harness.connect("usera")
        let dial = harness.iq(a, to: nil, id: "d", RayoDial(to: "user/1001", uri: "early-1").element)
        let hangup = harness.command(a, "early-1", id: "h", .hangup(headers: []))
        let replied = harness.reply(hangup, matching: "api uuid_kill", .ok("-ERR No such channel!\n"))
        #expect(replied.reply(to: "h")?.isResult == true)
        let created = harness.event("CHANNEL_CREATE", "early-1")
        #expect(created.commands == ["api uuid_kill early-1 NORMAL_CLEARING"])
        let end = harness.hangup("early-1", cause: "ORIGINATOR_CANCEL")
        #expect(end.presences(to: a).first?.endReason?.name == "hangup-command")
        #expect(harness.replyAll(dial, .ok("-ERR ORIGINATOR_CANCEL\n")).sent.isEmpty)
        harness.expectEachIQAnsweredOnce()
    }

    @Test("a hangup whose originate then fails ends with hangup-command, once")
    func hangupThenOriginateFails() {
        var harness = Harness()
        let a = harness.connect("usera")
        let dial = harness.iq(a, to: nil, id: "d", RayoDial(to: "user/1001", uri: "early-2").element)
        let hangup = harness.command(a, "early-2", id: "h", .hangup(headers: []))
        harness.reply(hangup, matching: "api uuid_kill", .failed("-ERR No such channel!"))
        let end = harness.replyAll(dial, .ok("-ERR USER_NOT_REGISTERED\n"))
        #expect(end.presences(to: a).first?.endReason?.name == "hangup-command")
        #expect(harness.machine.status.calls.isEmpty)
        harness.expectEachIQAnsweredOnce()
    }
}
