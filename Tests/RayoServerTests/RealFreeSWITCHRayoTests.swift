import EventSocket
import Foundation
import RayoServer
import Switchboard
import SwitchboardTesting
import Testing
import XMPP
import XMPPTesting

/// The Rayo server against a real FreeSWITCH (``SwitchboardTesting/TestSwitch``) with the test dialplan: calls reach it through the context
/// `peertest` (`loopback/outbound_<port>/peertest` runs `socket 127.0.0.1:<port> async full`), and an XMPP test client
/// takes offers, answers, dials, joins and hangs up. Every stanza checked here was produced from FreeSWITCH's own
/// events and replies. Each test hangs up its own calls (tagged `sbtest_tag`), never anyone else's.
@Suite(
    "Rayo against the real FreeSWITCH",
    .serialized,
    .enabled(if: RealSwitch.isUp, RealSwitch.skipReason),
    .timeLimit(.minutes(1))
)
struct RealFreeSWITCHRayoTests {
    private static let rayo = RealRayo.rayo
    private static let domain = RealRayo.domain

    @Test("an inbound call is offered with its caller, destination and headers, answered, and hung up by command")
    func inboundCallOfferedAnsweredAndHungUp() async throws {
        try await RealRayo.run { rayo, calls in
            let client = try await rayo.client()
            let legA = RealSwitch.newUUID()
            calls.add(legA)
            let originate = rayo.originateInbound(legA: legA)

            let (offer, callJID) = try await rayo.offer(to: client)
            let uuid = RealRayo.uuid(of: callJID)
            calls.add(uuid)
            #expect(callJID == "\(uuid)@\(Self.domain)")
            #expect(offer[attribute: "to"] == client.jid?.description)
            #expect(uuid != legA, "the call offered is the loopback leg that ran the socket application")
            let payload = try #require(offer.child("offer", namespace: Self.rayo))
            #expect(payload[attribute: "to"] == TestSwitch.current.outboundExtension(port: rayo.callPort))
            #expect(payload[attribute: "from"] == "15550123")
            let headers = payload.children("header", namespace: Self.rayo).map {
                ($0[attribute: "name"] ?? "", $0[attribute: "value"] ?? "")
            }
            #expect(headers.contains { $0 == ("X-Sbtest-Tag", rayo.tag) }, "headers: \(headers)")
            #expect(
                offer.child("c", namespace: "http://jabber.org/protocol/caps")?[attribute: "node"]
                    == "urn:xmpp:rayo:call:1"
            )

            let socket = try await RealSwitch.commandSocket()
            #expect(try await socket.api("uuid_getvar", "\(uuid) other_loopback_leg_uuid") == legA)

            let answer = try await rayo.set(client, to: callJID, "<answer xmlns='\(Self.rayo)'/>")
            #expect(answer[attribute: "type"] == "result")
            #expect(answer[attribute: "from"] == callJID)
            let answered = try await rayo.event("answered", from: callJID, on: client)
            #expect(answered[attribute: "to"] == client.jid?.description)
            // The caller's originate completes once the offered leg answered.
            #expect(try await originate.value.hasPrefix("+OK"))

            let hangup = try await rayo.set(client, to: callJID, "<hangup xmlns='\(Self.rayo)'/>")
            #expect(hangup[attribute: "type"] == "result")
            let end = try await rayo.event("end", from: callJID, on: client)
            #expect(end[attribute: "type"] == "unavailable")
            let reason = try #require(end.child("end", namespace: Self.rayo)?.elements.first)
            #expect(reason.name == "hangup-command")
            #expect(reason[attribute: "platform-code"] == nil)
            try await RealSwitch.eventually("both legs to be gone") {
                let offeredLeg = try await RealSwitch.exists(uuid, on: socket)
                let callingLeg = try await RealSwitch.exists(legA, on: socket)
                return !offeredLeg && !callingLeg
            }
            await socket.close()
            await client.close()
        }
    }

    @Test("the far end hanging up ends the call with hungup and Q.850 code 16")
    func farEndHangupEndsWithHungup() async throws {
        try await RealRayo.run { rayo, calls in
            let client = try await rayo.client()
            let legA = RealSwitch.newUUID()
            calls.add(legA)
            let originate = rayo.originateInbound(legA: legA)
            let (_, callJID) = try await rayo.offer(to: client)
            calls.add(RealRayo.uuid(of: callJID))
            #expect(
                try await rayo.set(client, to: callJID, "<answer xmlns='\(Self.rayo)'/>")[attribute: "type"] == "result"
            )
            _ = try await rayo.event("answered", from: callJID, on: client)
            _ = try await originate.value

            let socket = try await RealSwitch.commandSocket()
            #expect(try await socket.api("uuid_kill", "\(legA) NORMAL_CLEARING").hasPrefix("+OK"))
            await socket.close()

            let end = try await rayo.event("end", from: callJID, on: client)
            #expect(end[attribute: "type"] == "unavailable")
            let reason = try #require(end.child("end", namespace: Self.rayo)?.elements.first)
            #expect(reason.name == "hungup")
            #expect(reason[attribute: "platform-code"] == "16")
            await client.close()
        }
    }

    @Test("a dial to loopback/echo gets a ref, then answered, and ends by hangup command")
    func dialAnswered() async throws {
        try await RealRayo.run { rayo, calls in
            let client = try await rayo.client()
            let (ref, callJID) = try await rayo.dial(
                client,
                TestSwitch.current.destination("echo"),
                extra: (
                    " from='tel:+15550100'",
                    "<header name='X-Sbtest-Dial' value='\(rayo.tag)'/>"
                        + "<header name='X-Sbtest-Room' value='room 1, floor=2 &apos;east&apos;'/>"
                ),
                calls: calls
            )
            #expect(ref[attribute: "type"] == "result")
            #expect(ref[attribute: "from"] == Self.domain)
            #expect(callJID.hasSuffix("@\(Self.domain)"), "call JID \(callJID)")
            let uuid = RealRayo.uuid(of: callJID)

            let answered = try await rayo.event("answered", from: callJID, on: client)
            #expect(answered[attribute: "to"] == client.jid?.description)
            let socket = try await RealSwitch.commandSocket()
            // What the dial put on the channel: its tag, the caller id from `from`, the header as sip_h_.
            #expect(try await socket.api("uuid_getvar", "\(uuid) \(RealSwitch.tagVariable)") == rayo.tag)
            #expect(try await socket.api("uuid_getvar", "\(uuid) origination_caller_id_number") == "+15550100")
            #expect(try await socket.api("uuid_getvar", "\(uuid) sip_h_X-Sbtest-Dial") == rayo.tag)
            // Spaces, a comma, '=' and quotes reach the channel unchanged through originate's escaping layers.
            #expect(try await socket.api("uuid_getvar", "\(uuid) sip_h_X-Sbtest-Room") == "room 1, floor=2 'east'")

            let hangup = try await rayo.set(client, to: callJID, "<hangup xmlns='\(Self.rayo)'/>")
            #expect(hangup[attribute: "type"] == "result")
            let end = try await rayo.event("end", from: callJID, on: client)
            #expect(end.child("end", namespace: Self.rayo)?.elements.first?.name == "hangup-command")
            try await RealSwitch.eventually("the dialed call to be gone") {
                try await !RealSwitch.exists(uuid, on: socket)
            }
            await socket.close()
            await client.close()
        }
    }

    @Test("an offered call and a dialed call are joined and unjoined, with joined and unjoined on both")
    func joinAndUnjoin() async throws {
        try await RealRayo.run { rayo, calls in
            let client = try await rayo.client()
            let legA = RealSwitch.newUUID()
            calls.add(legA)
            let originate = rayo.originateInbound(legA: legA)
            let (_, inboundJID) = try await rayo.offer(to: client)
            let inbound = RealRayo.uuid(of: inboundJID)
            calls.add(inbound)
            #expect(
                try await rayo.set(client, to: inboundJID, "<answer xmlns='\(Self.rayo)'/>")[attribute: "type"]
                    == "result"
            )
            _ = try await rayo.event("answered", from: inboundJID, on: client)
            _ = try await originate.value

            let (_, dialedJID) = try await rayo.dial(client, TestSwitch.current.destination("echo"), calls: calls)
            let dialed = RealRayo.uuid(of: dialedJID)
            let uri = "xmpp:\(dialedJID)"
            _ = try await rayo.event("answered", from: dialedJID, on: client)

            let join = try await rayo.set(client, to: inboundJID, "<join xmlns='\(Self.rayo)' call-uri='\(uri)'/>")
            #expect(join[attribute: "type"] == "result", "join: \(join.serialized())")
            let joinedInbound = try await rayo.event("joined", from: inboundJID, on: client)
            let joinedDialed = try await rayo.event("joined", from: dialedJID, on: client)
            let inboundPeer = joinedInbound.child("joined", namespace: Self.rayo)?[attribute: "call-uri"] ?? ""
            let dialedPeer = joinedDialed.child("joined", namespace: Self.rayo)?[attribute: "call-uri"] ?? ""
            #expect(inboundPeer.contains(dialed) && dialedPeer.contains(inbound), "\(inboundPeer), \(dialedPeer)")
            // mod_rayo's form (the dial-join trace): xmpp:<uuid>@<domain>.
            #expect(inboundPeer == uri)
            #expect(dialedPeer == "xmpp:\(inboundJID)")
            let socket = try await RealSwitch.commandSocket()
            #expect(try await socket.api("uuid_getvar", "\(inbound) bridge_uuid") == dialed)

            // FreeSWITCH 1.10.12's CHANNEL_UNBRIDGE after `uuid_transfer <uuid> -both park inline` carries
            // Bridge-A-Unique-ID / Bridge-B-Unique-ID and variable_last_bridge_to, but no Other-Leg-Unique-ID: the
            // machine unjoins the call from every call it was bridged to.
            do {
                let unjoin = try await rayo.set(
                    client,
                    to: inboundJID,
                    "<unjoin xmlns='\(Self.rayo)' call-uri='\(uri)'/>",
                    timeout: .seconds(5)
                )
                #expect(unjoin[attribute: "type"] == "result", "unjoin: \(unjoin.serialized())")
                let unjoinedInbound = try await rayo.event(
                    "unjoined",
                    from: inboundJID,
                    on: client,
                    timeout: .seconds(5)
                )
                #expect(unjoinedInbound.child("unjoined", namespace: Self.rayo)?[attribute: "call-uri"] != nil)
                _ = try await rayo.event("unjoined", from: dialedJID, on: client, timeout: .seconds(5))
            }
            // Both calls outlive the unjoin.
            #expect(try await RealSwitch.exists(inbound, on: socket))
            #expect(try await RealSwitch.exists(dialed, on: socket))

            for callJID in [inboundJID, dialedJID] {
                #expect(
                    try await rayo.set(client, to: callJID, "<hangup xmlns='\(Self.rayo)'/>")[attribute: "type"]
                        == "result"
                )
                let end = try await rayo.event("end", from: callJID, on: client)
                #expect(end.child("end", namespace: Self.rayo)?.elements.first?.name == "hangup-command")
            }
            await socket.close()
            await client.close()
        }
    }

    @Test("a dial to an extension that does not exist ends with error and Q.850 code 3 (NO_ROUTE_DESTINATION)")
    func dialToNowhere() async throws {
        try await RealRayo.run { rayo, calls in
            let client = try await rayo.client()
            let (ref, callJID) = try await rayo.dial(
                client,
                TestSwitch.current.destination("nonexistent_ext_zz"),
                calls: calls
            )
            #expect(ref[attribute: "type"] == "result")
            let end = try await rayo.event("end", from: callJID, on: client)
            #expect(end[attribute: "type"] == "unavailable")
            let reason = try #require(end.child("end", namespace: Self.rayo)?.elements.first)
            #expect(reason.name == "error")
            #expect(reason[attribute: "platform-code"] == "3")
            #expect(client.unclaimedStanzas.allSatisfy { $0.child("answered", namespace: Self.rayo) == nil })
            await client.close()
        }
    }

    @Test("an offered call rejected busy hangs the caller up with USER_BUSY and ends with busy, code 17")
    func rejectBusy() async throws {
        try await RealRayo.run { rayo, calls in
            let client = try await rayo.client()
            let legA = RealSwitch.newUUID()
            calls.add(legA)
            let watcher = try await RealSwitch.commandSocket()
            try await watcher.connection.subscribe(to: ["CHANNEL_HANGUP_COMPLETE"])
            try await watcher.connection.addFilter(header: "Unique-ID", value: legA)
            let originate = rayo.originateInbound(legA: legA)
            let (_, callJID) = try await rayo.offer(to: client)
            calls.add(RealRayo.uuid(of: callJID))

            let reject = try await rayo.set(client, to: callJID, "<reject xmlns='\(Self.rayo)'><busy/></reject>")
            #expect(reject[attribute: "type"] == "result")
            let end = try await rayo.event("end", from: callJID, on: client)
            let reason = try #require(end.child("end", namespace: Self.rayo)?.elements.first)
            #expect(reason.name == "busy")
            #expect(reason[attribute: "platform-code"] == "17")

            // The caller's leg, seen on FreeSWITCH's own event socket.
            let hangup = try await Self.firstEvent(on: watcher) {
                $0.name == "CHANNEL_HANGUP_COMPLETE" && $0.uniqueID == legA
            }
            #expect(hangup["Hangup-Cause"] == "USER_BUSY")
            let outcome = await originate.result
            #expect(throws: (any Error).self) { try outcome.get() }
            if case .failure(let error) = outcome { #expect("\(error)".contains("USER_BUSY")) }
            await watcher.close()
            await client.close()
        }
    }

    @Test("a dial to a target that rejects busy ends with busy, code 17; the offer the dial caused ends too")
    func dialToBusyTarget() async throws {
        try await RealRayo.run { rayo, calls in
            let client = try await rayo.client()
            // The target is this server's own outbound listener: the call comes back as an offer, which is rejected.
            let (_, dialedJID) = try await rayo.dial(
                client,
                TestSwitch.current.outboundDestination(port: rayo.callPort),
                calls: calls
            )
            let dialed = RealRayo.uuid(of: dialedJID)
            let (_, offeredJID) = try await rayo.offer(to: client)
            let offered = RealRayo.uuid(of: offeredJID)
            calls.add(offered)
            #expect(offered != dialed)
            let socket = try await RealSwitch.commandSocket()
            #expect(try await socket.api("uuid_getvar", "\(offered) other_loopback_leg_uuid") == dialed)
            await socket.close()

            let reject = try await rayo.set(client, to: offeredJID, "<reject xmlns='\(Self.rayo)'><busy/></reject>")
            #expect(reject[attribute: "type"] == "result")
            let end = try await rayo.event("end", from: dialedJID, on: client)
            let reason = try #require(end.child("end", namespace: Self.rayo)?.elements.first)
            #expect(reason.name == "busy")
            #expect(reason[attribute: "platform-code"] == "17")
            _ = try await rayo.event("end", from: offeredJID, on: client)
            await client.close()
        }
    }

    /// The first event on `socket` that matches, within `timeout`.
    private static func firstEvent(
        on socket: CommandSocket,
        timeout: Duration = .seconds(20),
        where matches: @escaping @Sendable (EventSocketEvent) -> Bool
    ) async throws -> EventSocketEvent {
        try await withThrowingTaskGroup(of: EventSocketEvent?.self) { group in
            group.addTask {
                for await event in socket.events where matches(event) { return event }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let event = try await group.next() ?? nil else {
                throw RealRayoTimeout("no matching event within \(timeout)")
            }
            return event
        }
    }
}
