import Testing
import XMPP

@testable import Rayo

@Suite("The urn:xmpp:rayo:1 model")
struct RayoModelTests {
    static let commands: [RayoCommand] = [
        .accept(headers: [RayoHeader(name: "X-Account", value: "42")], earlyMedia: false),
        .accept(headers: [], earlyMedia: true),
        .answer(headers: [RayoHeader(name: "X-Answered-By", value: "app")]),
        .redirect(to: "sip:help@example.com", headers: []),
        .reject(reason: .busy, headers: []),
        .reject(reason: .decline, headers: [RayoHeader(name: "Reason", value: "Q.850;cause=21")]),
        .reject(reason: .error, headers: []),
        .hangup(headers: [RayoHeader(name: "X-Why", value: "done")]),
        .join(RayoJoin(target: .call("9f00061e-1111-4a3c-9b1e-000000000001"), direction: .send, media: .direct)),
        .join(RayoJoin(target: .mixer("room1"), direction: .recv)),
        .unjoin(.call("9f00061e-1111-4a3c-9b1e-000000000001")),
        .unjoin(.mixer("room1")),
        .dial(
            RayoDial(
                to: "sip:bob@example.com",
                from: "tel:+15551234",
                timeout: .milliseconds(30_000),
                uri: "xmpp:abc@rayo.localhost",
                headers: [RayoHeader(name: "JvbRoomName", value: "room@conference.example.com")],
                join: RayoJoin(target: .mixer("room1"))
            )
        ),
    ]

    @Test("every command serializes and parses back to itself", arguments: commands)
    func commandRoundTrip(_ command: RayoCommand) throws {
        #expect(try RayoCommand.parse(command.element.resolved()) == command)
    }

    static let events: [RayoEvent] = [
        .offer(
            to: "sip:rayo@example.com",
            from: "sip:alice@example.com",
            headers: [RayoHeader(name: "via", value: "x")]
        ),
        .ringing(headers: []),
        .answered(headers: [RayoHeader(name: "variable-foo", value: "bar")]),
        .joined(.call("abc")),
        .unjoined(.mixer("room1")),
        .startedSpeaking(callURI: "abc"),
        .stoppedSpeaking(callURI: "abc"),
        .end(RayoEnd(reason: .hangupCommand)),
        .end(RayoEnd(reason: .busy, platformCode: "17")),
        .end(RayoEnd(reason: .error, platformCode: "41", headers: [RayoHeader(name: "variable-x", value: "y")])),
    ]

    @Test("every event serializes and parses back to itself", arguments: events)
    func eventRoundTrip(_ event: RayoEvent) throws {
        #expect(try RayoEvent.parse(event.element.resolved()) == event)
    }

    @Test("serialization matches mod_rayo's bytes")
    func bytes() {
        #expect(
            RayoEvent.end(RayoEnd(reason: .error, platformCode: "41")).element.serialized()
                == "<end xmlns='urn:xmpp:rayo:1'><error platform-code='41'/></end>"
        )
        #expect(
            RayoComplete(.hangup).element.serialized()
                == "<complete xmlns='urn:xmpp:rayo:ext:1'><hangup xmlns='urn:xmpp:rayo:ext:complete:1'/></complete>"
        )
        #expect(
            RayoRef(jid: "a@rayo.localhost/output-1").element.serialized()
                == "<ref xmlns='urn:xmpp:rayo:1' uri='xmpp:a@rayo.localhost/output-1'/>"
        )
        #expect(RayoStop().element.serialized() == "<stop xmlns='urn:xmpp:rayo:ext:1'/>")
    }

    static let malformed: [(String, [XMLAttribute], [XMLElement], String)] = [
        ("dial", [], [], "missing dial to attribute"),
        ("dial", [XMLAttribute("to", "")], [], "missing dial to attribute"),
        ("dial", [XMLAttribute("to", "sip:a b")], [], "dial to 'sip:a b' contains whitespace"),
        (
            "dial", [XMLAttribute("to", "sip:a"), XMLAttribute("timeout", "soon")], [],
            "dial timeout 'soon' is not a number of milliseconds (0 to 86400000)"
        ),
        (
            "dial", [XMLAttribute("to", "sip:a"), XMLAttribute("timeout", "-5")], [],
            "dial timeout '-5' is not a number of milliseconds (0 to 86400000)"
        ),
        ("redirect", [], [], "missing redirect to attribute"),
        ("join", [], [], "missing join call-uri or mixer-name attribute"),
        (
            "join", [XMLAttribute("mixer-name", "m"), XMLAttribute("direction", "sideways")], [],
            "join direction 'sideways' is not duplex, send or recv"
        ),
        (
            "join", [XMLAttribute("mixer-name", "m"), XMLAttribute("media", "carrier-pigeon")], [],
            "join media 'carrier-pigeon' is not bridge or direct"
        ),
        (
            "join", [XMLAttribute("mixer-name", "m"), XMLAttribute("call-uri", "c")], [],
            "join has both call-uri and mixer-name"
        ),
        (
            "join", [XMLAttribute("mixer-name", "a room")], [],
            "join mixer-name 'a room' must be letters, digits, '-', '_' or '.'"
        ),
        ("unjoin", [], [], "missing unjoin call-uri or mixer-name attribute"),
        ("reject", [], [XMLElement("maybe")], "reject reason 'maybe' is not busy, decline or error"),
        ("answer", [], [XMLElement("header", ["value": "x"])], "missing header name attribute"),
        (
            "answer", [], [XMLElement("header", ["name": "X-A", "value": "a\r\nInjected: 1"])],
            "header 'X-A' value contains a line break"
        ),
        (
            "answer", [], [XMLElement("header", ["name": "X A", "value": "x"])],
            "header name 'X A' is not a SIP header name"
        ),
        ("accept", [XMLAttribute("early-media", "perhaps")], [], "accept early-media 'perhaps' is not true or false"),
    ]

    @Test("bad attributes are parse errors naming element and attribute, never crashes", arguments: malformed)
    func parseErrors(_ name: String, _ attributes: [XMLAttribute], _ children: [XMLElement], _ message: String) {
        let element = XMLElement(
            name,
            namespace: RayoNamespace.core,
            attributes: attributes,
            children: children.map { .element($0) }
        )
        #expect(
            throws: RayoParseError(
                element: message.hasPrefix("header") || message.contains("header name") ? "header" : name,
                message: message
            )
        ) {
            _ = try RayoCommand.parse(element.resolved())
        }
    }

    @Test("unknown elements and exec are not commands")
    func unknown() throws {
        #expect(try RayoCommand.parse(XMLElement("exec", namespace: RayoNamespace.core, ["api": "system"])) == nil)
        #expect(try RayoCommand.parse(XMLElement("frobnicate", namespace: RayoNamespace.core)) == nil)
        #expect(try RayoCommand.parse(XMLElement("answer", namespace: "urn:example")) == nil)
    }

    @Test("call-uri in every form names the uuid; a dial uri gives the requested uuid")
    func callURIs() throws {
        for uri in ["xmpp:ABC-1@rayo.localhost", "abc-1@rayo.localhost", "abc-1"] {
            let element = XMLElement("join", namespace: RayoNamespace.core, ["call-uri": uri])
            #expect(try RayoJoinTarget(parsing: element) == .call("abc-1"))
        }
        #expect(try RayoDial(to: "sip:a", uri: "xmpp:Wanted-1@rayo.localhost").requestedUUID() == "wanted-1")
        #expect(throws: RayoParseError.self) { try RayoDial(to: "sip:a", uri: "xmpp:bad uuid@x").requestedUUID() }
    }

    @Test("hangup causes map to end reasons and Q.850 codes")
    func causes() {
        #expect(HangupCause.q850("NORMAL_CLEARING") == 16)
        #expect(HangupCause.q850("ORIGINATOR_CANCEL") == 16)
        #expect(HangupCause.q850("NORMAL_TEMPORARY_FAILURE") == 41)
        #expect(HangupCause.q850("NOT_A_CAUSE") == nil)
        #expect(HangupCause.endReason("USER_BUSY") == .busy)
        #expect(HangupCause.endReason("NO_ANSWER") == .timeout)
        #expect(HangupCause.endReason("ALLOTTED_TIMEOUT") == .timeout)
        #expect(HangupCause.endReason("CALL_REJECTED") == .rejected)
        #expect(HangupCause.endReason("USER_NOT_REGISTERED") == .error)
        #expect(HangupCause.endReason("NORMAL_CLEARING") == .hungup)
        #expect(HangupCause.endReason("ORIGINATOR_CANCEL") == .hungup)
    }

    @Test("XEP-0082 stamps")
    func stamps() {
        #expect(XMPPDelay.timestamp(secondsSince1970: 0) == "1970-01-01T00:00:00Z")
        #expect(XMPPDelay.timestamp(secondsSince1970: 1_795_417_474) == "2026-11-23T07:04:34Z")
        #expect(XMPPDelay.timestamp(secondsSince1970: 951_782_400) == "2000-02-29T00:00:00Z")
    }
}
