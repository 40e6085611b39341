import Foundation
import NIOCore
import TestSupport
import Testing
import XMPP
import XMPPServer
import XMPPTesting

@Suite("Bound sessions: presence, ping, disco, roster, routing")
struct StanzaTests {
    @Test("broadcast presence becomes presence events, in order")
    func presence() async throws {
        try await withServer { harness in
            let client = try await harness.loggedInClient(resource: "r")
            let jid = try #require(client.jid)
            client.sendPresence(show: .chat)
            client.send(try XMLElement.parse("<presence xmlns='jabber:client'><show>dnd</show></presence>"))
            client.sendPresence(show: nil)
            client.sendUnavailablePresence()
            try await harness.service.waitFor(.presence(jid, .unavailable))
            #expect(
                harness.service.events == [
                    .online(jid), .presence(jid, .available(show: .chat)), .presence(jid, .available(show: .dnd)),
                    .presence(jid, .available(show: nil)), .presence(jid, .unavailable),
                ]
            )
            await client.close()
            try await harness.service.waitFor(.offline(jid))
        }
    }

    @Test("the server answers pings, disco#info, disco#items and roster gets")
    func serverIQs() async throws {
        try await withServer { harness in
            let client = try await harness.loggedInClient()
            let pong = try await client.iq(ping(to: testDomain))
            #expect(pong[attribute: "type"] == "result")
            #expect(pong[attribute: "from"] == testDomain)
            let bare = try await client.iq(ping())
            #expect(bare[attribute: "type"] == "result")

            let info = try await client.iq(
                XMLElement(
                    "iq",
                    ["type": "get", "to": testDomain],
                    children: [.element(XMLElement("query", namespace: XMPPNamespace.discoInfo))]
                )
            )
            let query = try #require(info.child("query", namespace: XMPPNamespace.discoInfo))
            let identity = try #require(query.child("identity"))
            #expect(identity[attribute: "category"] == "server")
            #expect(identity[attribute: "type"] == "im")
            let features = Set(query.children("feature").compactMap { $0[attribute: "var"] })
            #expect(features.isSuperset(of: [XMPPNamespace.discoInfo, XMPPNamespace.ping, "urn:xmpp:rayo:1"]))

            let items = try await client.iq(
                XMLElement(
                    "iq",
                    ["type": "get", "to": testDomain],
                    children: [.element(XMLElement("query", namespace: XMPPNamespace.discoItems))]
                )
            )
            #expect(items[attribute: "type"] == "result")
            #expect(items.child("query", namespace: XMPPNamespace.discoItems)?.elements.isEmpty == true)

            let roster = try await client.iq(
                XMLElement(
                    "iq",
                    ["type": "get"],
                    children: [.element(XMLElement("query", namespace: XMPPNamespace.roster))]
                )
            )
            #expect(roster[attribute: "type"] == "result")
            #expect(roster.child("query", namespace: XMPPNamespace.roster)?.elements.isEmpty == true)
            // None of these reached the service, and nothing else arrived.
            #expect(harness.service.events.count == 1)
            #expect(client.unclaimedStanzas.isEmpty)
            await client.close()
        }
    }

    @Test("an idle client is pinged; one that answers stays")
    func idlePingAnswered() async throws {
        var limits = XMPPServerConfiguration.Limits()
        limits.pingInterval = .milliseconds(200)
        limits.pingTimeout = .seconds(5)
        try await withServer(limits: limits) { harness in
            let client = try await harness.loggedInClient()
            let ping = try await client.waitFor { $0.child("ping", namespace: XMPPNamespace.ping) != nil }
            #expect(ping[attribute: "type"] == "get")
            #expect(ping[attribute: "from"] == testDomain)
            #expect(ping[attribute: "to"] == client.jid?.description)
            client.send(XMLElement.resultReply(to: ping))
            // Pinged again after the next silence (well before the 5 s ping timeout): still connected, and the answer
            // never reached the service.
            _ = try await client.waitFor(timeout: .seconds(3)) {
                $0.child("ping", namespace: XMPPNamespace.ping) != nil
            }
            #expect(!client.isStreamClosed)
            #expect(harness.service.events.count == 1)
            #expect(client.takeUnclaimedStanzas().allSatisfy { $0.child("ping", namespace: XMPPNamespace.ping) != nil })
            #expect(client.unclaimedStanzas.isEmpty)
            await client.close()
        }
    }

    @Test("an idle client that does not answer the ping is dropped with connection-timeout")
    func idlePingUnanswered() async throws {
        var limits = XMPPServerConfiguration.Limits()
        // Long enough for the login (bind, then the session IQ) to finish on a loaded machine before the drop.
        limits.pingInterval = TestTime.scaled(.seconds(1))
        limits.pingTimeout = .seconds(1)
        try await withServer(limits: limits) { harness in
            let client = try await harness.loggedInClient()
            let jid = try #require(client.jid)
            // The ping itself is checked by the test above; on a loaded machine the whole exchange (ping, 200 ms,
            // drop) can be over before this task looks, so only the outcome is awaited here.
            try await client.waitUntilClosed(timeout: TestTime.scaled(.seconds(10)))
            #expect(client.streamErrorCondition == "connection-timeout")
            try await harness.service.waitFor(.offline(jid))
        }
    }

    @Test("stanzas between clients are delivered with the sender's full JID")
    func clientToClient() async throws {
        try await withServer { harness in
            let alice = try await harness.loggedInClient(resource: "a")
            let bob = try await harness.loggedInClient(username: "userb", password: "secret-b", resource: "b")
            let aliceJID = try #require(alice.jid)
            let bobJID = try #require(bob.jid)
            alice.send(
                XMLElement(
                    "message",
                    ["to": bobJID.description, "from": "forged@elsewhere", "id": "m1"],
                    children: [.element(XMLElement("body", children: [.text("hello")]))]
                )
            )
            let message = try await bob.waitFor { $0.name == "message" }
            #expect(message[attribute: "from"] == aliceJID.description)
            #expect(message.child("body")?.text == "hello")
            // To the bare JID: every resource.
            bob.send(XMLElement("message", ["to": "usera@rayo.localhost", "id": "m2"]))
            let back = try await alice.waitFor { $0.name == "message" }
            #expect(back[attribute: "from"] == bobJID.description)
            // An iq to another user is delivered and its answer comes back.
            let reply = Task { try await bob.waitFor { $0.name == "iq" } }
            let requestTask = Task { try await alice.iq(ping(to: bobJID.description)) }
            let request = try await reply.value
            #expect(request[attribute: "from"] == aliceJID.description)
            bob.send(XMLElement.resultReply(to: request))
            let answer = try await requestTask.value
            #expect(answer[attribute: "from"] == bobJID.description)
            // An iq to the other user's bare JID is answered by the server, not fanned out.
            let account = try await alice.iq(ping(to: "userb@rayo.localhost"))
            #expect(account.stanzaErrorCondition == "service-unavailable")
            #expect(account[attribute: "from"] == "userb@rayo.localhost")
            #expect(harness.service.events.filter { if case .stanza = $0 { true } else { false } }.isEmpty)
            await alice.close()
            await bob.close()
        }
    }

    @Test("stanzas for the domain's entities reach the service with the client's full JID, and the router answers")
    func toTheService() async throws {
        let service = RecordingService(answersIQs: true)
        try await withServer(service: service) { harness in
            let client = try await harness.loggedInClient(resource: "r")
            let jid = try #require(client.jid)
            let call = "9bce73ea-2bfe-4d52-930e-80fb03a60f5d@rayo.localhost"
            let answer = try await client.iq(
                XMLElement(
                    "iq",
                    ["type": "set", "to": call, "from": "userb@rayo.localhost/forged"],
                    children: [.element(XMLElement("answer", namespace: "urn:xmpp:rayo:1"))]
                )
            )
            #expect(answer[attribute: "type"] == "result")
            #expect(answer[attribute: "from"] == call)
            let dial = try await client.iq(
                XMLElement(
                    "iq",
                    ["type": "set", "to": testDomain],
                    children: [.element(XMLElement("dial", namespace: "urn:xmpp:rayo:1", ["to": "sip:a@b"]))]
                )
            )
            #expect(dial[attribute: "type"] == "result")
            let stanzas = service.events.compactMap { event -> XMLElement? in
                guard case .stanza(let stanza, let from) = event, from == jid else { return nil }
                return stanza
            }
            #expect(stanzas.count == 2)
            #expect(stanzas.allSatisfy { $0[attribute: "from"] == jid.description })
            #expect(stanzas.first?.child("answer", namespace: "urn:xmpp:rayo:1") != nil)
            // The router reaches a bare JID's resources, and says when nobody is there.
            let router = try #require(service.router)
            #expect(router.route(XMLElement("message", ["to": "usera@rayo.localhost", "from": call])))
            let routed = try await client.waitFor { $0.name == "message" }
            #expect(routed[attribute: "from"] == call)
            #expect(!router.route(XMLElement("message", ["to": "nobody@rayo.localhost"])))
            await client.close()
        }
    }

    @Test("answers leave in request order, also when the service answers at once")
    func answerOrder() async throws {
        try await withServer(service: RecordingService(answersIQs: true)) { harness in
            let client = try await harness.loggedInClient()
            client.send(
                raw: "<iq type='get' id='p1' to='rayo.localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
                    + "<iq type='set' id='s1' to='call@rayo.localhost'><answer xmlns='urn:xmpp:rayo:1'/></iq>"
                    + "<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>"
            )
            var ids: [String?] = []
            for _ in 0..<3 { ids.append(try await client.nextStanza()[attribute: "id"]) }
            #expect(ids == ["p1", "s1", "p2"])
            await client.close()
        }
    }

    @Test("what the service sends on .online follows the bind result")
    func onlineThenStanzas() async throws {
        try await withServer(service: RecordingService(greetsOnOnline: true)) { harness in
            let client = try await harness.client()
            try await client.openStream()
            try await client.authenticate(username: "usera", password: "1", mechanism: .plain)
            client.send(
                raw: "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource>"
                    + "</bind></iq>"
            )
            #expect(try await client.nextStanza()[attribute: "id"] == "b1")
            #expect(try await client.nextStanza()[attribute: "id"] == "hello")
            await client.close()
        }
    }

    @Test("a 'to' that is not a JID gets jid-malformed; another domain gets remote-server-not-found")
    func badAddresses() async throws {
        try await withServer { harness in
            let client = try await harness.loggedInClient()
            let malformed = try await client.iq(ping(to: "a@b@c"))
            #expect(malformed[attribute: "type"] == "error")
            #expect(malformed.stanzaErrorCondition == "jid-malformed")
            let remote = try await client.iq(ping(to: "example.org"))
            #expect(remote.stanzaErrorCondition == "remote-server-not-found")
            #expect(harness.service.events.count == 1)
            await client.close()
        }
    }

    @Test("the client's </stream:stream> is answered with ours and the session goes offline once")
    func clientCloses() async throws {
        try await withServer { harness in
            let client = try await harness.loggedInClient()
            let jid = try #require(client.jid)
            client.send(raw: "</stream:stream>")
            try await client.waitUntilClosed()
            #expect(client.streamError == nil)
            try await harness.service.waitFor(.offline(jid))
            #expect(harness.service.events == [.online(jid), .offline(jid)])
        }
    }

    @Test("a dropped connection reports the session offline")
    func dropped() async throws {
        try await withServer { harness in
            let client = try await harness.loggedInClient()
            let jid = try #require(client.jid)
            try await client.channel.close()
            try await harness.service.waitFor(.offline(jid))
        }
    }
}
