import EventSocket
import Testing
import XMPP

@testable import Rayo

@Suite("Component machinery, with a trivial test kind")
struct RayoComponentMachineryTests {
    static let callA = "6f3c2f7a-4444-4a3c-9b1e-00000000000a"

    static func setUp() -> (Harness, JID) {
        var harness = Harness()
        harness.machine.componentFactories.append(ToneComponent.factory)
        let a = harness.connect("usera")
        harness.arrive(callA)
        harness.replyAll(harness.command(a, callA, id: "ans", .answer(headers: [])))
        harness.event("CHANNEL_ANSWER", callA)
        return (harness, a)
    }

    static func tone(_ frequency: String = "440") -> XMLElement {
        XMLElement("tone", namespace: ToneComponent.namespace, ["frequency": frequency])
    }

    @Test("ids count per call across kinds; ref result; exactly one complete on finish")
    func lifecycle() {
        var (harness, a) = Self.setUp()
        let first = harness.iq(a, to: Self.callA, id: "t1", Self.tone())
        #expect(first.reply(to: "t1")?.child("ref")?[attribute: "uri"] == "xmpp:\(Self.callA)@rayo.localhost/tone-1")
        #expect(first.commands == ["execute playback tone_stream://%(1000,0,440) on \(Self.callA)"])
        harness.replyAll(first)
        let second = harness.iq(a, to: Self.callA, id: "t2", Self.tone("880"))
        #expect(second.reply(to: "t2")?.child("ref")?[attribute: "uri"] == "xmpp:\(Self.callA)@rayo.localhost/tone-2")
        #expect(
            harness.machine.status.components.map(\.jid) == [
                "\(Self.callA)@rayo.localhost/tone-1", "\(Self.callA)@rayo.localhost/tone-2",
            ]
        )
        let done = harness.event("PLAYBACK_STOP", Self.callA)
        let completes = done.presences(to: a).filter { $0[attribute: "type"] == "unavailable" }
        #expect(completes.count == 2)
        #expect(completes.first?[attribute: "from"] == "\(Self.callA)@rayo.localhost/tone-1")
        #expect(completes.first?.child("complete", namespace: RayoNamespace.ext)?.elements.first?.name == "finish")
        #expect(harness.event("PLAYBACK_STOP", Self.callA).sent.isEmpty, "never a second complete")
        let late = harness.iq(a, to: "\(Self.callA)@rayo.localhost/tone-1", id: "late", RayoStop().element)
        #expect(late.reply(to: "late")?.errorCondition == "item-not-found")
        harness.expectEachIQAnsweredOnce()
    }

    @Test("stop: result at once, complete with stop when the switch confirms; commands routed to the kind")
    func stop() {
        var (harness, a) = Self.setUp()
        harness.replyAll(harness.iq(a, to: Self.callA, id: "t1", Self.tone()))
        let jid = "\(Self.callA)@rayo.localhost/tone-1"
        let pause = harness.iq(a, to: jid, id: "p", XMLElement("pause", namespace: ToneComponent.namespace))
        #expect(pause.reply(to: "p")?.isResult == true)
        #expect(pause.commands == ["api uuid_fileman \(Self.callA) pause"])
        #expect(pause.presences(to: a).first?.child("paused") != nil)
        let other = harness.iq(a, to: jid, id: "o", XMLElement("seek", namespace: ToneComponent.namespace))
        #expect(other.reply(to: "o")?.errorCondition == "feature-not-implemented")
        let stop = harness.iq(a, to: jid, id: "s", RayoStop().element)
        #expect(stop.reply(to: "s")?.isResult == true)
        #expect(stop.commands == ["api uuid_break \(Self.callA)"])
        let done = harness.event("PLAYBACK_STOP", Self.callA)
        #expect(done.presences(to: a).first?.child("complete")?.elements.first == RayoCompletionReason.stop.element)
        harness.expectEachIQAnsweredOnce()
    }

    @Test("the call ends: complete with hangup before the end")
    func hangup() {
        var (harness, a) = Self.setUp()
        harness.iq(a, to: Self.callA, id: "t1", Self.tone())
        let end = harness.hangup(Self.callA)
        let presences = end.presences(to: a)
        #expect(presences.count == 2)
        #expect(presences[0].child("complete")?.elements.first == RayoCompletionReason.hangup.element)
        #expect(presences[1].endReason != nil)
    }

    @Test("the event socket drops: complete with error; a failed start request too")
    func errors() {
        var (harness, a) = Self.setUp()
        let start = harness.iq(a, to: Self.callA, id: "t1", Self.tone())
        let failed = harness.replyAll(start, .failed("-ERR no such file"))
        #expect(failed.presences(to: a).first?.child("complete")?.elements.first == RayoCompletionReason.error.element)
        harness.iq(a, to: Self.callA, id: "t2", Self.tone())
        let lost = harness.feed(.eventSocketLost)
        #expect(lost.presences(to: a).first?.child("complete")?.elements.first == RayoCompletionReason.error.element)
        #expect(harness.machine.status.components.isEmpty)
        harness.expectEachIQAnsweredOnce()
    }

    @Test("a malformed start is bad-request and starts nothing; a live component keeps the call from being idle")
    func badStartAndIdle() {
        var (harness, a) = Self.setUp()
        let bad = harness.iq(a, to: Self.callA, id: "bad", XMLElement("tone", namespace: ToneComponent.namespace))
        #expect(bad.reply(to: "bad")?.errorText == "missing tone frequency attribute")
        harness.iq(a, to: Self.callA, id: "t1", Self.tone())
        harness.advance(.seconds(3600))
        #expect(harness.feed(.timerFired(TimerID(.idle(call: Self.callA)))).requests.isEmpty)
    }
}
