import Foundation
import Testing
import XMPP

@Suite("Stanzas, stream errors and headers")
struct StanzaTests {
    static let client = XMPPNamespace.client

    /// The same bytes as mod_rayo's answer, except that `xmlns` comes before `xml:lang` on `<text>` (the serializer
    /// always writes the namespace first).
    @Test func errorReplyMatchesModRayoBytes() throws {
        let request = try XMLElement.parse(
            "<iq xmlns='jabber:client' type='set' id='malformed1' to='rayo.localhost' "
                + "from='usera@rayo.localhost/fixture-rayo-errors'><dial xmlns='urn:xmpp:rayo:1'/></iq>"
        )
        let reply = XMLElement.errorReply(
            to: request,
            error: StanzaError(.badRequest, text: "missing dial to attribute")
        )
        #expect(
            reply.serialized(inScopeNamespace: Self.client)
                == "<iq type='error' id='malformed1' to='usera@rayo.localhost/fixture-rayo-errors' from='rayo.localhost'>"
                + "<dial xmlns='urn:xmpp:rayo:1'/><error type='modify'><bad-request "
                + "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' "
                + "xml:lang='en'>missing dial to attribute</text></error></iq>"
        )
    }

    /// The fixture's error stanzas, rebuilt from the requests, resolve to the same elements mod_rayo sent.
    @Test func errorRepliesEqualTheFixture() throws {
        let capture = try Capture(folder: "rayo-errors-authenticated")
        let requests = try Self.stanzas(capture, .toFreeSWITCH)
        let replies = try Self.stanzas(capture, .fromFreeSWITCH).filter { $0[attribute: "type"] == "error" }
        let cases: [(String, StanzaError)] = [
            ("nocall1", StanzaError(.itemNotFound)),
            ("malformed1", StanzaError(.badRequest, text: "missing dial to attribute")),
            ("unsupported1", StanzaError(.featureNotImplemented)),
            ("unknownns1", StanzaError(.featureNotImplemented)),
        ]
        for (id, error) in cases {
            var request = try #require(requests.first { $0[attribute: "id"] == id })
            request[attribute: "from"] = "usera@rayo.localhost/fixture-rayo-errors"
            let expected = try #require(replies.first { $0[attribute: "id"] == id })
            let built = XMLElement.errorReply(to: request, error: error)
            #expect(built.resolved(inScopeNamespace: Self.client) == expected, "\(id)")
            #expect(StanzaError(stanza: expected) == error)
        }
    }

    static func stanzas(_ capture: Capture, _ direction: Direction) throws -> [XMLElement] {
        let bytes = try capture.bytes(direction)
        let events = try FixtureStreamTests.parse(
            chunks: [bytes],
            restarts: FixtureStreamTests.restartOffsets(bytes, direction: direction)
        )
        return events.compactMap {
            if case .stanza(let stanza) = $0 { return stanza }
            return nil
        }
    }

    @Test func resultReplySwapsAddresses() {
        let request = XMLElement(
            "iq",
            ["type": "get", "id": "ping1", "to": "rayo.localhost", "from": "u@rayo.localhost/r"]
        )
        #expect(
            XMLElement.resultReply(to: request).serialized()
                == "<iq type='result' id='ping1' to='u@rayo.localhost/r' from='rayo.localhost'/>"
        )
        let withPayload = XMLElement.resultReply(
            to: request,
            payload: XMLElement("ref", namespace: "urn:xmpp:rayo:1", ["uri": "xmpp:c@d/output-1"])
        )
        #expect(
            withPayload.serialized()
                == "<iq type='result' id='ping1' to='u@rayo.localhost/r' from='rayo.localhost'><ref "
                + "xmlns='urn:xmpp:rayo:1' uri='xmpp:c@d/output-1'/></iq>"
        )
    }

    @Test func defaultErrorTypesFollowModRayo() {
        #expect(StanzaError(.badRequest).type == .modify)
        #expect(StanzaError(.featureNotImplemented).type == .modify)
        #expect(StanzaError(.itemNotFound).type == .cancel)
        #expect(StanzaError(.serviceUnavailable).type == .cancel)
        #expect(StanzaError(.unexpectedRequest).type == .wait)
        #expect(StanzaError(.internalServerError).type == .wait)
        #expect(StanzaError(.notAuthorized).type == .auth)
        #expect(StanzaError(.conflict, type: .modify).type == .modify)
        #expect(
            StanzaError(.itemNotFound).element.serialized(inScopeNamespace: Self.client)
                == "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
        )
    }

    @Test func streamErrorsSerialize() {
        #expect(
            StreamError(.notWellFormed).serialized
                == "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        )
        #expect(
            StreamError(.policyViolation, text: "a < b").serialized
                == "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xml:lang='en' "
                + "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>a &lt; b</text></stream:error>"
        )
        #expect(XMLStreamError(.restrictedXML, "x").streamError.condition == .restrictedXML)
    }

    @Test func streamHeadersParse() throws {
        let parser = XMLStreamParser()
        let server = try parser.parse(Array((StreamHeader.server(domain: "rayo.localhost", id: "abc")).utf8))
        guard case .streamStart(let root)? = server.first else {
            Issue.record("no stream start")
            return
        }
        #expect(root[attribute: "from"] == "rayo.localhost" && root[attribute: "id"] == "abc")
        #expect(root[attribute: "xml:lang"] == "en" && root[attribute: "version"] == "1.0")
        #expect(parser.streamContentNamespace == XMPPNamespace.client)
        #expect(
            StreamHeader.server(domain: "d", id: "1", to: "u@d")
                == "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                + "xmlns:stream='http://etherx.jabber.org/streams' to='u@d' from='d' id='1' xml:lang='en' version='1.0'>"
        )
        #expect(
            StreamHeader.client(to: "rayo.localhost")
                == "<?xml version='1.0'?><stream:stream to='rayo.localhost' xmlns='jabber:client' "
                + "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
        )
        let error = try parser.parse(Array((StreamError(.conflict).serialized + StreamHeader.closing).utf8))
        #expect(error.count == 2)
        #expect(error.last == .streamEnd)
    }

    @Test func delayStampsAreUTC() {
        #expect(
            XMPPDelay.element(secondsSince1970: 1_795_417_474).serialized()
                == "<delay xmlns='urn:xmpp:delay' stamp='2026-11-23T07:04:34Z'/>"
        )
        #expect(XMPPDelay.timestamp(secondsSince1970: 0) == "1970-01-01T00:00:00Z")
        #expect(XMPPDelay.timestamp(secondsSince1970: 951_782_400) == "2000-02-29T00:00:00Z")
        #expect(XMPPDelay.timestamp(secondsSince1970: -1) == "1969-12-31T23:59:59Z")
        #expect(XMPPDelay.timestamp(secondsSince1970: 4_102_444_799) == "2099-12-31T23:59:59Z")
        let date = Date(timeIntervalSince1970: 1_795_417_474.9)
        #expect(XMPPDelay.element(stamp: date, from: "rayo.localhost")[attribute: "stamp"] == "2026-11-23T07:04:34Z")
        // Every day of a few years against Foundation's calendar.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: Int64(-800), to: 30_000, by: 37) {
            let seconds = day * 86_400 + 3_723
            let parts = calendar.dateComponents(
                [.year, .month, .day],
                from: Date(timeIntervalSince1970: TimeInterval(seconds))
            )
            let expected = String(format: "%04d-%02d-%02dT01:02:03Z", parts.year!, parts.month!, parts.day!)
            #expect(XMPPDelay.timestamp(secondsSince1970: seconds) == expected)
        }
    }

    @Test func capsVerificationFollowsXEP0115Example() {
        // XEP-0115 §5.2: identity client/pc//Exodus 0.9.1 and four features.
        let identities = [DiscoIdentity(category: "client", type: "pc", name: "Exodus 0.9.1")]
        let features = [
            "http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#info",
            "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/caps",
        ]
        #expect(XMPPCaps.verification(identities: identities, features: features) == "QgayPKawpkPSDYmwT/WM94uAlu0=")
        let element = XMPPCaps.element(node: "urn:xmpp:rayo:call:1", identities: identities, features: features)
        #expect(
            element.serialized()
                == "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='urn:xmpp:rayo:call:1' "
                + "ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
        )
    }
}
