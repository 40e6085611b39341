import EventSocket
import Testing
import XMPP

@testable import Rayo

@Suite("Offers, control and visibility")
struct RayoOfferTests {
    static let callA = "6f3c2f7a-1111-4a3c-9b1e-00000000000a"
    static let callB = "6f3c2f7a-1111-4a3c-9b1e-00000000000b"

    static func settings(_ algorithm: OfferAlgorithm) -> RayoSettings {
        RayoSettings(domain: Harness.domain, offerAlgorithm: algorithm)
    }

    @Test("all: every available client gets the offer, with caps and delay; dnd, away, xa and online-only do not")
    func offerAll() {
        var harness = Harness()
        let chat = harness.connect("usera")
        let plain = harness.connect("userb", presence: .available(show: nil))
        let dnd = harness.connect("userc", presence: .available(show: .dnd))
        let away = harness.connect("userd", presence: .available(show: .away))
        let xa = harness.connect("usere", presence: .available(show: .xa))
        let online = harness.connect("userf", presence: nil)
        let gone = harness.connect("userg")
        harness.feed(.client(.presence(gone, .unavailable)))
        let actions = harness.arrive(Self.callA)
        #expect(actions.events(to: chat) == ["offer"])
        #expect(actions.events(to: plain) == ["offer"])
        for client in [dnd, away, xa, online, gone] { #expect(actions.presences(to: client).isEmpty) }
        let offer = actions.presences(to: chat)[0]
        #expect(offer[attribute: "from"] == "\(Self.callA)@rayo.localhost")
        #expect(offer.child("c", namespace: XMPPNamespace.caps)?[attribute: "node"] == RayoNamespace.call)
        #expect(offer.child("delay", namespace: XMPPNamespace.delay)?[attribute: "stamp"] == "2026-11-23T07:04:34Z")
        #expect(actions.timersStarted.contains("offer-timeout(\(Self.callA))"))
    }

    @Test("first: the longest-online available client, then the next one after the offer timeout")
    func offerFirst() {
        var harness = Harness(Self.settings(.first))
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        var actions = harness.arrive(Self.callA)
        #expect(actions.events(to: a) == ["offer"])
        #expect(actions.presences(to: b).isEmpty)
        actions = harness.feed(.timerFired(TimerID(.offer(call: Self.callA))))
        #expect(actions.events(to: b) == ["offer"])
        #expect(actions.presences(to: a).isEmpty)
        // Nobody left: hung up with NORMAL_TEMPORARY_FAILURE; the end (error, 41) goes to both.
        actions = harness.feed(.timerFired(TimerID(.offer(call: Self.callA))))
        #expect(actions.commands == ["api uuid_kill \(Self.callA) NORMAL_TEMPORARY_FAILURE"])
        actions = harness.hangup(Self.callA, cause: "NORMAL_TEMPORARY_FAILURE")
        for client in [a, b] {
            let end = actions.presences(to: client).first
            #expect(end?[attribute: "type"] == "unavailable")
            #expect(end?.endReason?.name == "error")
            #expect(end?.endReason?[attribute: "platform-code"] == "41")
        }
        #expect(actions.releases == [Self.callA])
    }

    @Test("random: a seeded generator picks reproducibly, and only among clients not tried")
    func offerRandom() {
        func picks(seed: UInt64) -> [String] {
            var harness = Harness(Self.settings(.random), seed: seed)
            let clients = ["usera", "userb", "userc"].map { harness.connect($0) }
            var order: [String] = []
            var actions = harness.arrive(Self.callA)
            for _ in 0..<3 {
                let offered = clients.filter { !actions.presences(to: $0).isEmpty }
                #expect(offered.count == 1)
                order += offered.map { $0.localpart ?? "" }
                actions = harness.feed(.timerFired(TimerID(.offer(call: Self.callA))))
            }
            #expect(actions.commands == ["api uuid_kill \(Self.callA) NORMAL_TEMPORARY_FAILURE"])
            return order
        }
        let first = picks(seed: 7)
        #expect(first == picks(seed: 7))
        #expect(Set(first) == ["usera", "userb", "userc"])
        let orders = Set((1...12).map { picks(seed: $0) })
        #expect(orders.count > 1, "different seeds give different orders")
    }

    @Test("round-robin: calls rotate fairly over three clients in the order they came online")
    func roundRobin() {
        var harness = Harness(Self.settings(.roundRobin))
        let clients = ["usera", "userb", "userc"].map { harness.connect($0) }
        var counts: [JID: Int] = [:]
        var sequence: [String] = []
        for index in 0..<9 {
            let uuid = "6f3c2f7a-1111-4a3c-9b1e-0000000001\(index)0"
            let actions = harness.arrive(uuid)
            let offered = clients.filter { !actions.presences(to: $0).isEmpty }
            #expect(offered.count == 1)
            for client in offered {
                counts[client, default: 0] += 1
                sequence.append(client.localpart ?? "")
            }
        }
        #expect(sequence == ["usera", "userb", "userc", "usera", "userb", "userc", "usera", "userb", "userc"])
        #expect(counts.values.allSatisfy { $0 == 3 })
        // A client going unavailable is skipped; the rotation goes on over the others.
        harness.feed(.client(.presence(clients[0], .available(show: .dnd))))
        let next = harness.arrive("6f3c2f7a-1111-4a3c-9b1e-000000000999")
        #expect(next.events(to: clients[1]) == ["offer"])
    }

    @Test("nobody available: the call is hung up with NORMAL_TEMPORARY_FAILURE at once")
    func nobody() {
        var harness = Harness()
        harness.connect("usera", presence: .available(show: .dnd))
        let actions = harness.arrive(Self.callA)
        #expect(actions.sent.isEmpty)
        #expect(actions.commands == ["api uuid_kill \(Self.callA) NORMAL_TEMPORARY_FAILURE"])
    }

    @Test("offerTo restricts the offer to named users or bare JIDs")
    func offerTo() {
        var harness = Harness()
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        let c = harness.connect("userc")
        let actions = harness.arrive(Self.callA, offerTo: ["userb", "userc@rayo.localhost"])
        #expect(actions.presences(to: a).isEmpty)
        #expect(actions.events(to: b) == ["offer"])
        #expect(actions.events(to: c) == ["offer"])
    }

    @Test("an empty offerTo list restricts nothing")
    func emptyOfferTo() {
        var harness = Harness()
        let a = harness.connect("usera")
        #expect(harness.arrive(Self.callA, offerTo: []).events(to: a) == ["offer"])
    }

    @Test("re-offer after the timeout goes to clients that became available meanwhile")
    func reoffer() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        let b = harness.connect("userb")
        let actions = harness.feed(.timerFired(TimerID(.offer(call: Self.callA))))
        #expect(actions.events(to: b) == ["offer"])
        #expect(actions.presences(to: a).isEmpty)
    }

    @Test("the first client to command controls the call; the other gets conflict; a third client sees nothing")
    func conflict() {
        var harness = Harness()
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        harness.arrive(Self.callA)
        let stranger = harness.connect("userc")  // online after the offer: never offered
        let first = harness.command(a, Self.callA, id: "a1", .accept(headers: [], earlyMedia: false))
        #expect(first.commands == ["execute ring_ready on \(Self.callA)"])
        let second = harness.command(b, Self.callA, id: "b1", .answer(headers: []))
        #expect(second.reply(to: "b1")?.errorCondition == "conflict")
        #expect(second.requests.isEmpty)
        let third = harness.command(stranger, Self.callA, id: "c1", .hangup(headers: []))
        #expect(third.reply(to: "c1")?.errorCondition == "item-not-found")
        #expect(third.reply(to: "c1")?[attribute: "from"] == "\(Self.callA)@rayo.localhost")
        harness.replyAll(first)
        harness.expectEachIQAnsweredOnce()
        #expect(harness.machine.status.calls.first?.controller == a.description)
    }

    @Test("an invalid command does not take control")
    func invalidDoesNotControl() {
        var harness = Harness()
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        harness.arrive(Self.callA)
        let bad = harness.iq(a, to: Self.callA, id: "bad", XMLElement("redirect", namespace: RayoNamespace.core))
        #expect(bad.reply(to: "bad")?.errorCondition == "bad-request")
        #expect(bad.reply(to: "bad")?.errorText == "missing redirect to attribute")
        let good = harness.command(b, Self.callA, id: "good", .answer(headers: []))
        #expect(good.commands == ["execute answer on \(Self.callA)"])
    }

    @Test("another client's call and an unknown call are item-not-found, the payload echoed")
    func otherClientsCall() {
        var harness = Harness(Self.settings(.first))
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        harness.arrive(Self.callA)  // offered to usera only
        let actions = harness.command(b, Self.callA, id: "x", .hangup(headers: []))
        let reply = actions.reply(to: "x")
        #expect(reply?.errorCondition == "item-not-found")
        #expect(reply?.elements.first?.name == "hangup")
        #expect(reply?[attribute: "to"] == b.description)
        let unknown = harness.command(a, "00000000-0000-0000-0000-000000000000", id: "y", .answer(headers: []))
        #expect(unknown.reply(to: "y")?.errorCondition == "item-not-found")
        let component = harness.iq(a, to: "\(Self.callA)@rayo.localhost/output-9", id: "z", RayoStop().element)
        #expect(component.reply(to: "z")?.errorCondition == "item-not-found")
        harness.expectEachIQAnsweredOnce()
    }

    @Test("whenClientLeaves hangup: the controller's calls are hung up when it goes offline")
    func leaveHangup() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.replyAll(harness.command(a, Self.callA, id: "acc", .accept(headers: [], earlyMedia: false)))
        let actions = harness.feed(.client(.offline(a)))
        #expect(actions.commands == ["api uuid_kill \(Self.callA) NORMAL_CLEARING"])
        let end = harness.hangup(Self.callA)
        #expect(end.sent.isEmpty)  // nobody left to tell
        #expect(end.releases == [Self.callA])
        #expect(harness.machine.status.calls.isEmpty)
    }

    @Test("whenClientLeaves reoffer: the call is offered to another client, who can take it")
    func leaveReoffer() {
        var harness = Harness(RayoSettings(domain: Harness.domain, whenClientLeaves: .reoffer))
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.replyAll(harness.command(a, Self.callA, id: "acc", .accept(headers: [], earlyMedia: false)))
        let b = harness.connect("userb")
        var actions = harness.feed(.client(.offline(a)))
        #expect(actions.events(to: b) == ["offer"])
        #expect(actions.requests.isEmpty)
        actions = harness.command(b, Self.callA, id: "ans", .answer(headers: []))
        #expect(actions.commands == ["execute answer on \(Self.callA)"])
        // With nobody else, a leaving controller's call is hung up.
        harness.feed(.client(.offline(b)))
        #expect(harness.actions.commands.last == "api uuid_kill \(Self.callA) NORMAL_TEMPORARY_FAILURE")
    }

    @Test("drain: unavailable presence from the domain, new calls released to the dialplan, live calls go on")
    func drain() {
        var harness = Harness()
        let a = harness.connect("usera")
        harness.arrive(Self.callA)
        harness.replyAll(harness.command(a, Self.callA, id: "ans", .answer(headers: [])))
        var actions = harness.feed(.drain)
        #expect(actions.sent.count == 1)
        #expect(actions.sent.first?[attribute: "from"] == "rayo.localhost")
        #expect(actions.sent.first?[attribute: "type"] == "unavailable")
        actions = harness.arrive(Self.callB)
        #expect(actions.releases == [Self.callB])
        #expect(actions.sent.isEmpty)
        actions = harness.command(a, Self.callA, id: "hup", .hangup(headers: []))
        #expect(actions.commands == ["api uuid_kill \(Self.callA) NORMAL_CLEARING"])
        let refused = harness.iq(a, to: nil, id: "dial", RayoCommand.dial(RayoDial(to: "sip:x@y")).element)
        #expect(refused.reply(to: "dial")?.errorCondition == "service-unavailable")
        #expect(harness.machine.status.draining)
    }
}

@Suite("Offer contents and re-offers of answered calls")
struct RayoOfferContentTests {
    static let callA = "6f3c2f7a-5555-4a3c-9b1e-00000000000a"

    @Test("offerURI off gives numbers; addVariablesToOffer adds variable- headers")
    func contents() {
        var harness = Harness(RayoSettings(domain: Harness.domain, offerURI: false, addVariablesToOffer: true))
        let a = harness.connect("usera")
        let offer = harness.arrive(Self.callA).presences(to: a).first?.child("offer", namespace: RayoNamespace.core)
        #expect(offer?[attribute: "from"] == "0000000000")
        #expect(offer?[attribute: "to"] == "rayo")
        let names = offer?.children("header").compactMap { $0[attribute: "name"] } ?? []
        #expect(names.starts(with: ["from", "to", "via"]))
        #expect(names.contains("variable-sip_from_uri"))
    }

    @Test("signaling headers of the channel (sip_r_, sip_h_ X- headers, sip_i_) are offered")
    func signalingHeaders() {
        var harness = Harness()
        let a = harness.connect("usera")
        var headers = Events.channelData(Self.callA, sip: true).headers
        headers.append(name: "variable_sip_h_X-Account", value: "42")
        headers.append(name: "variable_sip_r_Diversion", value: "<sip:100@example.com>")
        let actions = harness.feed(
            .callArrived(uuid: Self.callA, channelData: EventSocketEvent(headers: headers), offerTo: nil)
        )
        let offer = actions.presences(to: a).first?.child("offer", namespace: RayoNamespace.core)
        let pairs = offer?.children("header").map { "\($0[attribute: "name"] ?? "")=\($0[attribute: "value"] ?? "")" }
        #expect(pairs?.contains("X-Account=42") == true)
        #expect(pairs?.contains("Diversion=<sip:100@example.com>") == true)
    }

    @Test("an answered call whose controller leaves is offered to the others again, and hung up when nobody takes it")
    func reofferAnswered() {
        var harness = Harness(RayoSettings(domain: Harness.domain, whenClientLeaves: .reoffer))
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        harness.arrive(Self.callA)
        harness.replyAll(harness.command(a, Self.callA, id: "ans", .answer(headers: [])))
        harness.event("CHANNEL_ANSWER", Self.callA)
        var actions = harness.feed(.client(.offline(a)))
        #expect(actions.events(to: b) == ["offer"], "b saw the first offer and gets the new one")
        actions = harness.feed(.timerFired(TimerID(.offer(call: Self.callA))))
        #expect(actions.commands == ["api uuid_kill \(Self.callA) NORMAL_TEMPORARY_FAILURE"])
    }

    @Test("a call cannot join a call another client controls")
    func joinOthersCall() {
        var harness = Harness()
        let a = harness.connect("usera")
        let b = harness.connect("userb")
        let callB = "6f3c2f7a-5555-4a3c-9b1e-00000000000b"
        harness.arrive(Self.callA)
        harness.arrive(callB)
        harness.replyAll(harness.command(b, callB, id: "accB", .accept(headers: [], earlyMedia: false)))
        let join = harness.command(a, Self.callA, id: "j", .join(RayoJoin(target: .call(callB))))
        #expect(join.reply(to: "j")?.errorCondition == "conflict")
        harness.expectEachIQAnsweredOnce()
    }
}
