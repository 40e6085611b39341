import EventSocket
import Foundation
import Testing
import XMPP

@testable import Rayo

/// The client stanzas of the mod_rayo captures produce replies equivalent to mod_rayo's (ids kept, stamps ignored).
@Suite("mod_rayo captures")
struct RayoFixtureTests {
    /// Stanzas for the Rayo service: not the transport's bind, session and ping.
    static func isRayo(_ stanza: XMLElement) -> Bool {
        guard let id = stanza[attribute: "id"] else { return true }
        return !["bind1", "sess1"].contains(id)
    }

    /// Component traffic (part 2): the output and input IQs and the presences from component JIDs.
    static func isComponent(_ stanza: XMLElement) -> Bool {
        ["output1", "input1"].contains(stanza[attribute: "id"] ?? "") || (stanza[attribute: "from"] ?? "").contains("/")
    }

    @Test(
        "rayo-c2s-call (SIP) and rayo-c2s-call-loopback: offer, answer, answered, hangup, end",
        arguments: [
            ("rayo-c2s-call", "usera@rayo.localhost/fixture-rayo-c2s-call-sip", true),
            ("rayo-c2s-call-loopback", "usera@rayo.localhost/fixture-rayo-c2s-call", false),
        ]
    )
    func call(_ capture: String, _ clientJID: String, _ sip: Bool) throws {
        let fromSwitch = try CapturedStream.stanzas(capture, "from-freeswitch.bin").filter {
            Self.isRayo($0) && !Self.isComponent($0)
        }
        let toSwitch = try CapturedStream.stanzas(capture, "to-freeswitch.bin").filter(Self.isRayo)
        #expect(fromSwitch.map(\.name) == ["presence", "iq", "presence", "iq", "presence"])
        let offer = try #require(fromSwitch.first)
        let uuid = try #require(offer[attribute: "from"]?.split(separator: "@").first.map(String.init))
        let client = try #require(JID(clientJID))

        var harness = Harness()
        var produced: [XMLElement] = []
        harness.feed(.client(.online(client)))
        for stanza in toSwitch {
            switch stanza.name {
            case "presence":
                let show = stanza.child("show")?.text
                let presence: ClientPresence =
                    stanza[attribute: "type"] == "unavailable"
                    ? .unavailable : .available(show: show.flatMap(ClientPresence.Show.init(rawValue:)))
                harness.feed(.client(.presence(client, presence)))
                if presence != .unavailable { produced += harness.arrive(uuid, sip: sip).sent }
            case "iq" where !Self.isComponent(stanza):
                let actions = harness.stanza(stanza, from: client)
                produced += actions.sent
                produced += harness.replyAll(actions).sent
                switch stanza[attribute: "id"] {
                case "answer1": produced += harness.event("CHANNEL_ANSWER", uuid).sent
                case "hangup1": produced += harness.hangup(uuid).sent
                default: break
                }
            default:
                break
            }
        }
        harness.feed(.client(.offline(client)))
        #expect(produced.map(\.normalized) == fromSwitch.map(\.normalized))
        harness.expectEachIQAnsweredOnce()
    }

    @Test("rayo-errors-authenticated: nocall, malformed dial, unsupported command, unknown namespace, ping")
    func errors() throws {
        let fromSwitch = try CapturedStream.stanzas("rayo-errors-authenticated", "from-freeswitch.bin").filter(
            Self.isRayo
        )
        let toSwitch = try CapturedStream.stanzas("rayo-errors-authenticated", "to-freeswitch.bin").filter(Self.isRayo)
        let client = try #require(JID("usera@rayo.localhost/fixture-rayo-errors"))
        var harness = Harness()
        harness.feed(.client(.online(client)))
        var produced: [XMLElement] = []
        for stanza in toSwitch where stanza.name == "iq" {
            produced += harness.stanza(stanza, from: client).sent
        }
        #expect(produced.count == 5)
        #expect(produced.map(\.normalized) == fromSwitch.map(\.normalized))
        harness.expectEachIQAnsweredOnce()
    }
}
