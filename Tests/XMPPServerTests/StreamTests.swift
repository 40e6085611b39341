import Foundation
import NIOCore
import NIOPosix
import SwitchboardTesting
import Testing
import XMPP
import XMPPServer
import XMPPTesting

@Suite("Stream errors, ACL, shutdown, fixtures")
struct StreamTests {
    /// Sends raw bytes and returns the stream error condition the server closed the stream with.
    private func streamError(
        for raw: [String],
        limits: XMPPServerConfiguration.Limits = .init()
    ) async throws
        -> (condition: String?, client: XMPPTestClient)
    {
        var result: (String?, XMPPTestClient)?
        try await withServer(limits: limits) { harness in
            let client = try await harness.client()
            for chunk in raw { client.send(raw: chunk) }
            try await client.waitUntilClosed()
            result = (client.streamErrorCondition, client)
        }
        return try #require(result)
    }

    private let header = StreamHeader.client(to: testDomain)

    @Test("a stream header with the wrong default namespace gets invalid-namespace")
    func badNamespace() async throws {
        let (condition, client) = try await streamError(for: [
            "<?xml version='1.0'?><stream:stream to='rayo.localhost' xmlns='jabber:server' "
                + "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
        ])
        #expect(condition == "invalid-namespace")
        // The server's header came first, as RFC 6120 §4.9.1.1 asks.
        #expect(client.streamHeaders.count == 1)
    }

    @Test("a stream header for another domain gets host-unknown")
    func wrongHost() async throws {
        let (condition, client) = try await streamError(for: [StreamHeader.client(to: "example.org")])
        #expect(condition == "host-unknown")
        #expect(client.streamHeaders.first?[attribute: "from"] == testDomain)
    }

    @Test("a stream header without version 1.0 gets unsupported-version")
    func oldVersion() async throws {
        let (condition, _) = try await streamError(for: [
            "<stream:stream to='rayo.localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
        ])
        #expect(condition == "unsupported-version")
    }

    @Test("bytes that are not well-formed get not-well-formed")
    func notWellFormed() async throws {
        let (condition, _) = try await streamError(for: [header, "<presence><show>chat</presence>"])
        #expect(condition == "not-well-formed")
    }

    @Test("a DOCTYPE gets restricted-xml")
    func doctype() async throws {
        let (condition, _) = try await streamError(for: [
            "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x 'y'>]>" + String(header.dropFirst(21))
        ])
        #expect(condition == "restricted-xml")
    }

    @Test("an oversized stanza gets policy-violation")
    func oversized() async throws {
        var limits = XMPPServerConfiguration.Limits()
        limits.stream.maxStanzaBytes = 2_048
        let body = String(repeating: "x", count: 4_096)
        let (condition, _) = try await streamError(
            for: [header, "<message to='a@rayo.localhost'><body>\(body)</body></message>"],
            limits: limits
        )
        #expect(condition == "policy-violation")
    }

    @Test("a connection from outside the allow list is closed at once and logged")
    func aclDeny() async throws {
        try await withServer(allow: [try CIDR("10.0.0.0/8"), try CIDR("::1/128")]) { harness in
            let client = try await harness.client()
            client.send(raw: header)
            try await client.waitUntilClosed()
            #expect(client.streamHeaders.isEmpty)
            #expect(harness.server.connectionCount == 0)
            let line = harness.logs.all.first { $0.contains("outside the listener's allow list") }
            #expect(line?.contains("xmpp.peer=127.0.0.1") == true)
        }
        try await withServer(allow: [try CIDR("127.0.0.0/8")]) { harness in
            let client = try await harness.loggedInClient()
            #expect(client.jid != nil)
            await client.close()
        }
    }

    @Test("connections beyond maxConnections are closed at once")
    func maxConnections() async throws {
        var limits = XMPPServerConfiguration.Limits()
        limits.maxConnections = 1
        try await withServer(limits: limits) { harness in
            let first = try await harness.loggedInClient()
            let second = try await harness.client()
            second.send(raw: header)
            try await second.waitUntilClosed()
            #expect(second.streamHeaders.isEmpty)
            let pong = try await first.iq(ping())
            #expect(pong[attribute: "type"] == "result")
            await first.close()
        }
    }

    @Test("a client that does not read is dropped once maxPendingOutputBytes are queued for it")
    func slowReader() async throws {
        var limits = XMPPServerConfiguration.Limits()
        limits.maxPendingOutputBytes = 65_536
        try await withServer(limits: limits) { harness in
            let client = try await harness.loggedInClient()
            let jid = try #require(client.jid)
            try await client.channel.setOption(ChannelOptions.autoRead, value: false).get()
            let router = try #require(harness.service.router)
            let message = XMLElement(
                "message",
                ["to": jid.description, "from": "call@rayo.localhost"],
                children: [.element(XMLElement("body", children: [.text(String(repeating: "x", count: 4_096))]))]
            )
            // Far more than the kernel's socket buffers hold: the server's queue must reach the limit.
            var routed = 0
            while routed < 20_000, router.route(message) { routed += 1 }
            try await harness.service.waitFor(.offline(jid), timeout: .seconds(10))
            #expect(harness.logs.all.contains { $0.contains("does not read") })
            // The server may have reset the connection already.
            try? await client.channel.close()
        }
    }

    @Test("graceful shutdown ends every stream with system-shutdown and run() returns")
    func gracefulShutdown() async throws {
        let service = RecordingService()
        var clients: [XMPPTestClient] = []
        var jid: JID?
        try await withServer(service: service) { harness in
            let bound = try await harness.loggedInClient()
            jid = bound.jid
            let unbound = try await harness.client()
            try await unbound.openStream()
            clients = [bound, unbound]
        }
        // withServer returned: run() has returned after the graceful shutdown.
        for client in clients {
            try await client.waitUntilClosed()
            #expect(client.streamErrorCondition == "system-shutdown")
        }
        let offline = try #require(jid)
        #expect(service.events.last == .offline(offline))
    }

    @Test("cancelling run() also ends every stream and returns")
    func cancellation() async throws {
        let service = RecordingService()
        let (addresses, continuation) = AsyncStream.makeStream(of: [SocketAddress].self)
        let server = XMPPServer(
            configuration: XMPPServerConfiguration(
                domain: testDomain,
                listeners: [.init(host: "127.0.0.1", port: 0), .init(host: "127.0.0.1", port: 0)]
            ),
            credentials: testCredentials,
            service: service,
            logger: LogRecorder(includesMetadata: true).logger(),
            onListening: { continuation.yield($0) }
        )
        let running = Task { try await server.run() }
        var iterator = addresses.makeAsyncIterator()
        let ports = try #require(await iterator.next()).compactMap(\.port)
        #expect(ports.count == 2)
        var clients: [XMPPTestClient] = []
        for port in ports {
            let client = try await XMPPTestClient.connect(host: "127.0.0.1", port: port, domain: testDomain)
            try await client.login(username: "usera", password: "1")
            clients.append(client)
        }
        #expect(server.sessionCount == 2)
        running.cancel()
        try await running.value
        for client in clients {
            try await client.waitUntilClosed()
            #expect(client.streamErrorCondition == "system-shutdown")
        }
        #expect(server.connectionCount == 0)
        #expect(server.sessionCount == 0)
        #expect(service.events.filter { if case .offline = $0 { true } else { false } }.count == 2)
    }

    @Test("log lines never carry the wire's line breaks")
    func logInjection() async throws {
        try await withServer { harness in
            let client = try await harness.client()
            client.send(
                raw: "<stream:stream to='evil&#10;INFO forged line' xmlns='jabber:client' "
                    + "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
            )
            try await client.waitUntilClosed()
            let lines = harness.logs.all
            #expect(lines.contains { $0.contains("evil\\nINFO forged line") })
            #expect(lines.allSatisfy { !$0.contains("\n") })
        }
    }
}

@Suite("mod_rayo fixtures replayed over a socket")
struct FixtureReplayTests {
    /// The top-level elements of a fixture direction, stream headers included, split at each stream restart.
    private func elements(_ fixture: String, _ file: String) throws -> [XMLStreamEvent] {
        let bytes = try [UInt8](Data(contentsOf: fixtureURL(fixture, file)))
        let parser = XMLStreamParser()
        var events: [XMLStreamEvent] = []
        // Feed a byte at a time so a restart can reset the parser exactly where the new stream begins.
        var index = 0
        while index < bytes.count {
            let produced = try parser.parse([bytes[index]])
            index += 1
            for event in produced {
                events.append(event)
                if case .stanza(let stanza) = event, stanza.name == "success" { parser.reset() }
            }
        }
        return events
    }

    private func stanzas(_ events: [XMLStreamEvent]) -> [XMLElement] {
        events.compactMap {
            if case .stanza(let stanza) = $0 { return stanza.resolved() }
            return nil
        }
    }

    @Test("rayo-errors: a bad PLAIN password gets the same answer as from mod_rayo")
    func rayoErrors() async throws {
        let sent = try String(decoding: Data(contentsOf: fixtureURL("rayo-errors", "to-freeswitch.bin")), as: UTF8.self)
        let expected = stanzas(try elements("rayo-errors", "from-freeswitch.bin"))
        try #require(expected.count >= 2, "the capture parsed to \(expected.count) stanzas")
        try await withServer { harness in
            let client = try await harness.client()
            client.send(raw: sent)
            let features = try await client.nextStanza()
            let failure = try await client.nextStanza()
            #expect(client.streamHeaders.first?[attribute: "from"] == "rayo.localhost")
            #expect(client.streamHeaders.first?[attribute: "version"] == "1.0")
            // mod_rayo offered PLAIN only; we offer it among stronger mechanisms.
            let offered = features.child("mechanisms", namespace: XMPPNamespace.sasl)?.children("mechanism").map(\.text)
            #expect(offered?.contains("PLAIN") == true)
            #expect(failure.resolved() == expected[1])
            await client.close()
        }
    }

    @Test("rayo-errors-authenticated: the stanzas for the service reach it in order, the ping answer matches")
    func rayoErrorsAuthenticated() async throws {
        let sent = try String(
            decoding: Data(contentsOf: fixtureURL("rayo-errors-authenticated", "to-freeswitch.bin")),
            as: UTF8.self
        )
        let expected = stanzas(try elements("rayo-errors-authenticated", "from-freeswitch.bin"))
        try #require(expected.count >= 2, "the capture parsed to \(expected.count) stanzas")
        let restart = try #require(sent.range(of: "<?xml", range: sent.index(after: sent.startIndex)..<sent.endIndex))
        let closing = try #require(sent.range(of: "</stream:stream>"))
        try await withServer { harness in
            let client = try await harness.client()
            client.send(raw: String(sent[..<restart.lowerBound]))
            _ = try await client.nextStanza()
            #expect(try await client.nextStanza().resolved() == expected[1])
            client.send(raw: String(sent[restart.lowerBound..<closing.lowerBound]))
            let jid = try #require(JID("usera@rayo.localhost/fixture-rayo-errors"))
            let pong = try await client.waitFor { $0[attribute: "id"] == "ping1" }
            #expect(pong.canonical == expected.last?.canonical)
            // The four Rayo requests are the service's to answer: it got them in order, from the full JID.
            try await harness.service.waitUntil { $0.count >= 6 }
            let ids = harness.service.events.compactMap { event -> String? in
                guard case .stanza(let stanza, let from) = event, from == jid else { return nil }
                #expect(stanza[attribute: "from"] == jid.description)
                return stanza[attribute: "id"]
            }
            #expect(ids == ["nocall1", "malformed1", "unsupported1", "unknownns1"])
            client.send(raw: "</stream:stream>")
            try await client.waitUntilClosed()
            try await harness.service.waitFor(.offline(jid))
        }
    }

    @Test("rayo-c2s-call: the login part gets the same answers as from mod_rayo")
    func rayoLogin() async throws {
        let sent = try String(
            decoding: Data(contentsOf: fixtureURL("rayo-c2s-call", "to-freeswitch.bin")),
            as: UTF8.self
        )
        let expected = stanzas(try elements("rayo-c2s-call", "from-freeswitch.bin"))
        try #require(expected.count >= 5, "the capture parsed to \(expected.count) stanzas")
        // Client bytes up to the presence, split where the client waited for the server.
        let restart = try #require(sent.range(of: "<?xml", range: sent.index(after: sent.startIndex)..<sent.endIndex))
        let presenceEnd = try #require(sent.range(of: "</presence>"))
        let login = String(sent[..<restart.lowerBound])
        let bound = String(sent[restart.lowerBound..<presenceEnd.upperBound])
        try await withServer { harness in
            let client = try await harness.client()
            client.send(raw: login)
            let features = try await client.nextStanza()
            let success = try await client.nextStanza()
            #expect(features.child("mechanisms", namespace: XMPPNamespace.sasl) != nil)
            #expect(success.resolved() == expected[1])
            client.send(raw: bound)
            var answers: [XMLElement] = []
            for _ in 0..<3 { answers.append(try await client.nextStanza().resolved()) }
            // Features: bind and session, as mod_rayo (ours marks session optional, RFC 6121 style).
            #expect(answers[0].child("bind", namespace: XMPPNamespace.bind) != nil)
            #expect(answers[0].child("session", namespace: XMPPNamespace.session) != nil)
            #expect(answers[1] == expected[3])  // the bind result with usera@rayo.localhost/fixture-rayo-c2s-call-sip
            #expect(answers[2] == expected[4])  // the bare session result
            let jid = try #require(JID("usera@rayo.localhost/fixture-rayo-c2s-call-sip"))
            try await harness.service.waitFor(.presence(jid, .available(show: .chat)))
            #expect(harness.service.events == [.online(jid), .presence(jid, .available(show: .chat))])
            await client.close()
        }
    }
}
