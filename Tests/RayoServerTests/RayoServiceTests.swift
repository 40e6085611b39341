import EventSocket
import Rayo
import RayoServer
import Switchboard
import SwitchboardTesting
import Testing
import XMPP

private let rayo = "urn:xmpp:rayo:1"
private let domain = RayoHarness.domain

@Suite("Rayo service over the event socket", .timeLimit(.minutes(1)))
struct RayoServiceTests {
    @Test("an offered call is answered and hung up with the right stanzas and commands")
    func offerAnswerHangup() async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            let call = harness.placeCall(variables: ["sip_from_uri": "1000@example.com"])
            let callJID = "\(call.uuid)@\(domain)"

            let offer = try await client.presence(with: "offer").presence
            #expect(offer[attribute: "from"] == callJID)
            #expect(offer.child("offer", namespace: rayo)?[attribute: "from"] == "sip:1000@example.com")

            try client.set("answer1", to: callJID, "<answer xmlns='\(rayo)'/>")
            try await harness.fake.waitForCommand("sendmsg \(call.uuid)")
            let sendmsg = try #require(harness.fake.commands.last { $0.line == "sendmsg \(call.uuid)" })
            #expect(sendmsg.headers["execute-app-name"] == "answer")
            harness.fake.emit(.channel("CHANNEL_ANSWER", uuid: call.uuid))
            let (answerReply, beforeAnswer) = try await client.reply(to: "answer1")
            #expect(answerReply[attribute: "type"] == "result")
            #expect(answerReply[attribute: "from"] == callJID)
            var answered = beforeAnswer.first { $0.child("answered", namespace: rayo) != nil }
            if answered == nil { answered = try await client.presence(with: "answered").presence }
            #expect(answered?[attribute: "from"] == callJID)

            try client.set("hangup1", to: callJID, "<hangup xmlns='\(rayo)'/>")
            try await harness.fake.waitForCommand("api uuid_kill \(call.uuid) NORMAL_CLEARING")
            harness.hangUp(call.uuid)
            let (hangupReply, beforeHangup) = try await client.reply(to: "hangup1")
            #expect(hangupReply[attribute: "type"] == "result")
            var end = beforeHangup.first { $0.child("end", namespace: rayo) != nil }
            if end == nil { end = try await client.presence(with: "end").presence }
            #expect(end?[attribute: "type"] == "unavailable")
            #expect(end?.child("end", namespace: rayo)?.childNames == ["hangup-command"])

            let record = try await call.record.value
            #expect(record.saidExit, "the call's socket is released once the call ended")
            #expect(harness.service.status.calls.isEmpty)
        }
    }

    @Test("the second client to command an offered call gets conflict")
    func conflict() async throws {
        try await RayoHarness.run { harness in
            let first = harness.client("usera@\(domain)/one")
            let second = harness.client("userb@\(domain)/two")
            let call = harness.placeCall()
            let callJID = "\(call.uuid)@\(domain)"
            _ = try await first.presence(with: "offer")
            _ = try await second.presence(with: "offer")

            try first.set("a1", to: callJID, "<answer xmlns='\(rayo)'/>")
            try await harness.fake.waitForCommand("sendmsg \(call.uuid)")
            try second.set("a2", to: callJID, "<answer xmlns='\(rayo)'/>")
            let refused = try await second.reply(to: "a2").reply
            #expect(refused[attribute: "type"] == "error")
            #expect(refused.errorCondition == "conflict")

            harness.fake.emit(.channel("CHANNEL_ANSWER", uuid: call.uuid))
            #expect(try await first.reply(to: "a1").reply[attribute: "type"] == "result")
            harness.hangUp(call.uuid)
            _ = try await call.record.value
        }
    }

    @Test("a command to a call nobody offered is item-not-found")
    func unknownCall() async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            try client.set("x1", to: "00000000-0000-0000-0000-000000000000@\(domain)", "<answer xmlns='\(rayo)'/>")
            let reply = try await client.reply(to: "x1").reply
            #expect(reply[attribute: "type"] == "error")
            #expect(reply.errorCondition == "item-not-found")
        }
    }

    @Test("a call offered to someone else is item-not-found for the others")
    func offerTo() async throws {
        try await RayoHarness.run { harness in
            let chosen = harness.client("usera@\(domain)/app")
            let other = harness.client("userb@\(domain)/app")
            let call = harness.placeCall(variables: ["rayo_offer_to": "usera"])
            _ = try await chosen.presence(with: "offer")
            try other.set("o1", to: "\(call.uuid)@\(domain)", "<answer xmlns='\(rayo)'/>")
            let reply = try await other.reply(to: "o1")
            #expect(reply.reply.errorCondition == "item-not-found")
            #expect(!reply.before.contains { $0.child("offer", namespace: rayo) != nil }, "userb got no offer")
            harness.hangUp(call.uuid)
            _ = try await call.record.value
        }
    }

    @Test(
        "every end reason reaches the client with its Q.850 code",
        arguments: [
            ("NORMAL_CLEARING", "16", "hungup"), ("USER_BUSY", "17", "busy"), ("NO_ANSWER", "19", "timeout"),
            ("CALL_REJECTED", "21", "rejected"), ("NETWORK_OUT_OF_ORDER", "38", "error"),
        ]
    )
    func endReasons(_ cause: String, _ q850: String, _ reason: String) async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            let call = harness.placeCall()
            _ = try await client.presence(with: "offer")
            harness.hangUp(call.uuid, cause: cause, q850: q850)
            let end = try #require(try await client.presence(with: "end").presence.child("end", namespace: rayo))
            let child = try #require(end.elements.first)
            #expect(child.name == reason)
            #expect(child[attribute: "platform-code"] == q850)
            _ = try await call.record.value
        }
    }

    @Test("the hangup-command end reason")
    func hangupCommandEnd() async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            let call = harness.placeCall()
            _ = try await client.presence(with: "offer")
            try client.set("h1", to: "\(call.uuid)@\(domain)", "<hangup xmlns='\(rayo)'/>")
            try await harness.fake.waitForCommand("api uuid_kill \(call.uuid)")
            harness.hangUp(call.uuid)
            let end = try await client.presence(with: "end").presence.child("end", namespace: rayo)
            #expect(end?.childNames == ["hangup-command"])
            _ = try await call.record.value
        }
    }

    @Test("a dial goes through the longest matching gateway, rings and is answered")
    func dialWithGateways() async throws {
        var settings = RayoSettings(domain: domain)
        settings.dialGateways = [
            DialGateway(uriPrefix: "default", dialPrefix: "sofia/gateway/outbound/"),
            DialGateway(uriPrefix: "sip:", dialPrefix: "sofia/external/"),
            DialGateway(uriPrefix: "tel:", dialPrefix: "sofia/gateway/pstn/", strip: 4),
        ]
        try await RayoHarness.run(settings: settings) { harness in
            let client = harness.client("usera@\(domain)/app")
            try client.set("d1", to: domain, "<dial xmlns='\(rayo)' to='tel:+15551234' from='sip:rayo@example.com'/>")
            let reply = try await client.reply(to: "d1").reply
            #expect(reply[attribute: "type"] == "result")
            let ref = try #require(reply.child("ref", namespace: rayo)?[attribute: "uri"])
            let uuid = String(ref.dropFirst("xmpp:".count).prefix { $0 != "@" })
            try await harness.fake.waitForCommand("bgapi originate")
            let originate = try #require(harness.fake.commands.first { $0.line.hasPrefix("bgapi originate") })
            #expect(originate.line.contains("}sofia/gateway/pstn/+15551234 "), "\(originate.line)")
            #expect(originate.line.contains("origination_uuid=\(uuid)"), "\(originate.line)")

            harness.fake.emit(.channel("CHANNEL_PROGRESS", uuid: uuid))
            #expect(try await client.presence(with: "ringing").presence[attribute: "from"] == "\(uuid)@\(domain)")
            harness.fake.emit(.channel("CHANNEL_ANSWER", uuid: uuid))
            _ = try await client.presence(with: "answered")
            harness.hangUp(uuid)
            _ = try await client.presence(with: "end")
        }
    }

    @Test("two calls are joined and unjoined")
    func joinAndUnjoin() async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            let a = harness.placeCall()
            _ = try await client.presence(with: "offer")
            let b = harness.placeCall()
            _ = try await client.presence(with: "offer")
            for (id, call) in [("aa", a), ("ab", b)] {
                try client.set(id, to: "\(call.uuid)@\(domain)", "<answer xmlns='\(rayo)'/>")
                try await harness.fake.waitForCommand("sendmsg \(call.uuid)")
                harness.fake.emit(.channel("CHANNEL_ANSWER", uuid: call.uuid))
                _ = try await client.reply(to: id)
            }
            try client.set(
                "j1",
                to: "\(a.uuid)@\(domain)",
                "<join xmlns='\(rayo)' call-uri='xmpp:\(b.uuid)@\(domain)'/>"
            )
            try await harness.fake.waitForCommand("api uuid_bridge \(a.uuid) \(b.uuid)")
            harness.fake.emit(.channel("CHANNEL_BRIDGE", uuid: a.uuid, extra: [("Other-Leg-Unique-ID", b.uuid)]))
            let (joinReply, beforeJoin) = try await client.reply(to: "j1")
            #expect(joinReply[attribute: "type"] == "result")
            var joined = beforeJoin.filter { $0.child("joined", namespace: rayo) != nil }
            while joined.count < 2 { joined.append(try await client.presence(with: "joined").presence) }
            #expect(Set(joined.compactMap { $0[attribute: "from"] }) == ["\(a.uuid)@\(domain)", "\(b.uuid)@\(domain)"])

            try client.set(
                "u1",
                to: "\(a.uuid)@\(domain)",
                "<unjoin xmlns='\(rayo)' call-uri='xmpp:\(b.uuid)@\(domain)'/>"
            )
            try await waitUntil { harness.fake.commands.count { $0.line.hasPrefix("api uuid_transfer") } > 0 }
            harness.fake.emit(.channel("CHANNEL_UNBRIDGE", uuid: a.uuid, extra: [("Other-Leg-Unique-ID", b.uuid)]))
            #expect(try await client.reply(to: "u1").reply[attribute: "type"] == "result")
            harness.hangUp(a.uuid)
            harness.hangUp(b.uuid)
            _ = try await a.record.value
            _ = try await b.record.value
        }
    }

    @Test("the event socket dropping mid-command answers the IQ exactly once, and the service reconnects")
    func eventSocketDropMidCommand() async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            let call = harness.placeCall()
            _ = try await client.presence(with: "offer")
            harness.fake.answer(api: "uuid_kill", with: .disconnect)
            try client.set("h1", to: "\(call.uuid)@\(domain)", "<hangup xmlns='\(rayo)'/>")
            let reply = try await client.reply(to: "h1").reply
            #expect(reply[attribute: "type"] == "error")

            // Back: the call is gone in FreeSWITCH's list, so it ended meanwhile.
            harness.fake.answer(api: "uuid_kill", with: .output("+OK\n"))
            try await waitUntil { harness.fake.connectionsAccepted >= 2 }
            try await harness.fake.waitForSubscribers(1)
            try await waitUntil { harness.service.status.eventSocketUp }
            try await waitUntil { harness.service.status.calls.isEmpty }
            let later = harness.router.pending(for: client.address)
            #expect(!later.contains { $0.name == "iq" && $0[attribute: "id"] == "h1" }, "no second answer: \(later)")
            _ = try await call.record.value
        }
    }

    @Test("a controlled call is hung up when its client leaves (whenClientLeaves hangup)")
    func clientLeaves() async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            let call = harness.placeCall()
            _ = try await client.presence(with: "offer")
            try client.set("a1", to: "\(call.uuid)@\(domain)", "<answer xmlns='\(rayo)'/>")
            try await harness.fake.waitForCommand("sendmsg \(call.uuid)")
            harness.fake.emit(.channel("CHANNEL_ANSWER", uuid: call.uuid))
            _ = try await client.reply(to: "a1")
            client.leave()
            try await harness.fake.waitForCommand("api uuid_kill \(call.uuid)")
            harness.hangUp(call.uuid)
            _ = try await call.record.value
        }
    }

    @Test("an offer nobody takes is hung up with NORMAL_TEMPORARY_FAILURE after the offer timeout")
    func offerTimeout() async throws {
        var settings = RayoSettings(domain: domain)
        settings.offerTimeout = .milliseconds(200)
        try await RayoHarness.run(settings: settings) { harness in
            let client = harness.client("usera@\(domain)/app")
            let call = harness.placeCall()
            _ = try await client.presence(with: "offer")
            try await harness.fake.waitForCommand("api uuid_kill \(call.uuid) NORMAL_TEMPORARY_FAILURE")
            harness.hangUp(call.uuid, cause: "NORMAL_TEMPORARY_FAILURE", q850: "41")
            _ = try await call.record.value
        }
    }

    @Test("with no client available the call goes back at once")
    func nobodyAvailable() async throws {
        try await RayoHarness.run { harness in
            let call = harness.placeCall()
            try await harness.fake.waitForCommand("api uuid_kill \(call.uuid) NORMAL_TEMPORARY_FAILURE")
            harness.hangUp(call.uuid, cause: "NORMAL_TEMPORARY_FAILURE", q850: "41")
            _ = try await call.record.value
        }
    }

    @Test("the console's status lists clients and calls; its commands get their reply stanza")
    func consoleCommand() async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            let call = harness.placeCall()
            _ = try await client.presence(with: "offer")
            let console = RayoConsole(service: harness.service)
            let status = await console.respond(to: .status)
            #expect(status.lines.contains { $0.contains(call.uuid) }, "\(status.lines)")
            #expect(status.lines.contains { $0.contains("usera@\(domain)/app available") }, "\(status.lines)")
            #expect(!status.lines.contains { $0.contains("console@") }, "the console is not listed as a client")
            // The Rayo machine has no admin role yet: the console sees only calls offered to it, so a command to
            // this call gets item-not-found like any other client's would (see the report).
            let reply = await console.respond(
                to: .command(to: "\(call.uuid)@\(domain)", xml: "<hangup xmlns='\(rayo)'/>")
            )
            #expect(reply.failure == "the command failed")
            #expect(reply.lines.first?.contains("item-not-found") == true, "\(reply)")
            #expect(reply.lines.first?.contains("to='console@\(domain)/console'") == true, "\(reply)")
            harness.hangUp(call.uuid)
            _ = try await call.record.value
            let bad = await console.respond(to: .command(to: "x@\(domain)", xml: "<answer"))
            #expect(bad.failure?.contains("XML") == true)
            let notJID = await console.respond(to: .command(to: "@@", xml: "<answer xmlns='\(rayo)'/>"))
            #expect(notJID.failure?.contains("not a JID") == true)
        }
    }

    @Test("console msg and presence reach the client and the machine")
    func consoleMessageAndPresence() async throws {
        try await RayoHarness.run { harness in
            let client = harness.client("usera@\(domain)/app")
            let console = RayoConsole(service: harness.service)
            #expect(await console.respond(to: .message(to: client.address, text: "hello")).failure == nil)
            let message = try await client.next()
            #expect(message.name == "message")
            #expect(message.child("body")?.text == "hello")
            #expect(await console.respond(to: .message(to: "nobody@\(domain)/x", text: "hi")).failure != nil)
            #expect(await console.respond(to: .presence(of: client.address, online: false)).failure == nil)
            try await waitUntil {
                harness.service.status.clients.contains { $0.jid == client.address && !$0.available }
            }
        }
    }
}

@Suite("Rayo service helpers")
struct RayoServiceHelperTests {
    @Test("channel uuids are read from show channels as json")
    func channelList() {
        let json = #"{"row_count":2,"rows":[{"uuid":"a-1","direction":"inbound"},{"uuid": "b-2","cid_name":"x"}]}"#
        #expect(RayoService.channelUUIDs(fromShowChannelsJSON: json) == ["a-1", "b-2"])
        #expect(RayoService.channelUUIDs(fromShowChannelsJSON: #"{"row_count":0}"#).isEmpty)
        #expect(RayoService.channelUUIDs(fromShowChannelsJSON: "-ERR no reply").isEmpty)
    }

    @Test("rayo_offer_to lists users and JIDs")
    func offerTargets() {
        #expect(RayoService.offerTargets(" usera, userb@rayo.test ,,") == ["usera", "userb@rayo.test"])
        #expect(RayoService.offerTargets("").isEmpty)
    }

    @Test("console requests read and write as lines")
    func consoleLines() throws {
        let requests: [ConsoleRequest] = [
            .status, .command(to: "a@b", xml: "<x a='1'/>"), .message(to: "a@b/c", text: "two words"),
            .presence(of: "a@b/c", online: true), .presence(of: "a@b/c", online: false),
        ]
        for request in requests {
            #expect(try ConsoleRequest.parse(Substring(request.line)) == request)
        }
        #expect(throws: ConsoleRequest.ParseError.self) { try ConsoleRequest.parse("presence a@b/c away") }
        #expect(throws: ConsoleRequest.ParseError.self) { try ConsoleRequest.parse("") }
        var response = ConsoleResponse()
        for line in ConsoleResponse(lines: ["one", "two\nthree"], failure: "bad\nthing").wireText.split(separator: "\n")
        {
            if response.read(line: line) { break }
        }
        #expect(response == ConsoleResponse(lines: ["one", "two", "three"], failure: "bad thing"))
    }
}
