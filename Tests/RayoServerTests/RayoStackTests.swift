import EventSocket
import Logging
import NIOCore
import NIOPosix
import Rayo
import RayoServer
import Switchboard
import SwitchboardTesting
import Testing
import XMPP
import XMPPServer
import XMPPTesting

private let rayo = "urn:xmpp:rayo:1"

/// The whole stack in one process: the XMPP c2s server and the Rayo service assembled by ``RayoServer``, an outbound
/// listener running its `rayo` handler, the simulated switch, and XMPP clients over loopback sockets.
@Suite("Rayo over XMPP, the whole stack", .timeLimit(.minutes(1)))
struct RayoStackTests {
    private func withStack(
        _ body:
            @Sendable (_ xmppPort: Int, _ callPort: Int, _ fake: FakeFreeSWITCH, _ server: RayoServer) async throws
            -> Void
    ) async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "show", with: .output(#"{"row_count":0}"#))
        fake.answer(api: "uuid_kill", with: .output("+OK\n"))
        let hashed = SCRAMStoredKeys.derive(password: "secret", hash: .sha256, salt: nil, iterations: 4096).encoded
        let configuration = RayoServerConfiguration(
            domain: "rayo.test",
            listeners: [.init(bind: "127.0.0.1", port: 0, allow: ["127.0.0.0/8"])],
            users: [.init(name: "usera", password: "1"), .init(name: "userb", passwordHashes: [hashed])],
            eventSocket: .init(port: fake.port)
        )
        let logger = Logger(label: "rayo-stack-test")
        let (addresses, addressContinuation) = AsyncStream.makeStream(of: [SocketAddress].self)
        let server = try RayoServer(
            configuration: configuration,
            logger: logger,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton
        ) { addressContinuation.yield($0) }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let listener = OutboundListener(
            configuration: OutboundConfiguration(port: 0),
            handler: server.callHandler,
            logger: logger
        ) { portContinuation.yield($0.port ?? 0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.xmppServer.run() }
            group.addTask { try await server.service.run() }
            group.addTask { try await listener.run() }
            var addressIterator = addresses.makeAsyncIterator()
            let xmppPort = try #require(await addressIterator.next()?.first?.port)
            var portIterator = ports.makeAsyncIterator()
            let callPort = await portIterator.next() ?? 0
            try await fake.waitForSubscribers(1)
            try await waitUntil { server.service.status.eventSocketUp }
            try await body(xmppPort, callPort, fake, server)
            group.cancelAll()
        }
        await fake.stop()
    }

    @Test("a client logs in, takes an offered call, answers and hangs up with the right stanzas")
    func offerAnswerHangup() async throws {
        try await withStack { xmppPort, callPort, fake, server in
            let client = try await XMPPTestClient.connect(host: "127.0.0.1", port: xmppPort, domain: "rayo.test")
            let jid = try await client.login(username: "usera", password: "1", mechanism: .plain, resource: "app")
            #expect(jid.description == "usera@rayo.test/app")
            client.sendPresence(show: .chat)
            try await waitUntil { server.service.status.clients.contains { $0.jid == jid.description && $0.available } }

            let uuid = UUIDString.random().lowercased()
            let call = Task { try await fake.placeCall(to: callPort, uuid: uuid) }
            let offer = try await client.waitFor { $0.name == "presence" && $0.child("offer", namespace: rayo) != nil }
            #expect(offer[attribute: "from"] == "\(uuid)@rayo.test")
            #expect(offer[attribute: "to"] == jid.description)

            var answer = XMLElement("iq", ["type": "set", "to": "\(uuid)@rayo.test"])
            answer.append(XMLElement("answer", namespace: rayo))
            let answerReply = Task { try await client.iq(answer) }
            try await fake.waitForCommand("sendmsg \(uuid)")
            fake.emit(.channel("CHANNEL_ANSWER", uuid: uuid))
            #expect(try await answerReply.value[attribute: "type"] == "result")
            _ = try await client.waitFor { $0.child("answered", namespace: rayo) != nil }

            var hangup = XMLElement("iq", ["type": "set", "to": "\(uuid)@rayo.test"])
            hangup.append(XMLElement("hangup", namespace: rayo))
            let hangupReply = Task { try await client.iq(hangup) }
            try await fake.waitForCommand("api uuid_kill \(uuid) NORMAL_CLEARING")
            fake.emit(
                .channel(
                    "CHANNEL_HANGUP_COMPLETE",
                    uuid: uuid,
                    variables: ["hangup_cause_q850": "16"],
                    extra: [("Hangup-Cause", "NORMAL_CLEARING")]
                )
            )
            #expect(try await hangupReply.value[attribute: "type"] == "result")
            let end = try await client.waitFor { $0.child("end", namespace: rayo) != nil }
            #expect(end[attribute: "type"] == "unavailable")
            #expect(end.child("end", namespace: rayo)?.elements.first?.name == "hangup-command")
            #expect(try await call.value.saidExit)
            await client.close()
        }
    }

    @Test("a user with a passwordHash logs in with SCRAM-SHA-256; a wrong password does not")
    func hashedPassword() async throws {
        try await withStack { xmppPort, _, _, _ in
            let client = try await XMPPTestClient.connect(host: "127.0.0.1", port: xmppPort, domain: "rayo.test")
            let jid = try await client.login(username: "userb", password: "secret", mechanism: .scramSHA256)
            #expect(jid.localpart == "userb")
            await client.close()
            let intruder = try await XMPPTestClient.connect(host: "127.0.0.1", port: xmppPort, domain: "rayo.test")
            await #expect(throws: (any Error).self) {
                try await intruder.login(username: "userb", password: "wrong", mechanism: .scramSHA256)
            }
            await intruder.close()
        }
    }

    @Test("a command to an unknown call over XMPP is item-not-found")
    func unknownCallOverXMPP() async throws {
        try await withStack { xmppPort, _, _, _ in
            let client = try await XMPPTestClient.connect(host: "127.0.0.1", port: xmppPort, domain: "rayo.test")
            try await client.login(username: "usera", password: "1", mechanism: .plain)
            var answer = XMLElement("iq", ["type": "set", "to": "nobody@rayo.test"])
            answer.append(XMLElement("answer", namespace: rayo))
            let reply = try await client.iq(answer)
            #expect(reply[attribute: "type"] == "error")
            #expect(reply.errorCondition == "item-not-found")
            await client.close()
        }
    }
}
