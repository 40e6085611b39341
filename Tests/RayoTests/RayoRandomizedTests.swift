import EventSocket
import TestSupport
import Testing
import XMPP

@testable import Rayo

/// Random interleavings of commands, switch events, replies, timers and event socket loss: the machine never traps,
/// and once every call is gone each IQ has had exactly one answer.
@Suite("Randomized interleavings", .cpuBound)
struct RayoRandomizedTests {
    static let calls = (0..<4).map { "6f3c2f7a-6666-4a3c-9b1e-00000000000\($0)" }

    @Test("every IQ is answered exactly once, whatever the order", arguments: Array(UInt64(1)...UInt64(40)))
    func exactlyOnce(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var harness = Harness(
            RayoSettings(
                domain: Harness.domain,
                offerAlgorithm: OfferAlgorithm.allCases[Int(seed) % 4],
                maxIdle: .seconds(30),
                whenClientLeaves: seed % 2 == 0 ? .hangup : .reoffer
            ),
            seed: seed
        )
        harness.machine.componentFactories.append(ToneComponent.factory)
        let clients = ["usera", "userb", "userc"].map { harness.connect($0) }
        // A fourth client comes and goes: its IQs may be dropped when it leaves, never answered twice.
        let roaming = harness.connect("userd")
        var roamingOnline = true
        var roamingIQs: Set<String> = []
        var outstanding: [RequestID] = []
        var iqNumber = 0
        func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }

        for _ in 0..<300 {
            let call = pick(Self.calls)
            let other = pick(Self.calls)
            var new: [RayoAction] = []
            switch Int.random(in: 0..<20, using: &random) {
            case 0:
                new = harness.arrive(call)
            case 1...6:
                iqNumber += 1
                let commands: [RayoCommand] = [
                    .accept(headers: [], earlyMedia: Bool.random(using: &random)),
                    .answer(headers: [RayoHeader(name: "X-N", value: "\(iqNumber)")]),
                    .redirect(to: "sip:x@example.com", headers: []),
                    .reject(reason: pick(RayoRejectReason.allCases), headers: []),
                    .hangup(headers: []),
                    .join(RayoJoin(target: .call(other))),
                    .join(RayoJoin(target: .mixer("room"), direction: pick(RayoJoinDirection.allCases))),
                    .unjoin(.call(other)),
                    .unjoin(.mixer("room")),
                ]
                let client = roamingOnline && Bool.random(using: &random) ? roaming : pick(clients)
                if client == roaming { roamingIQs.insert("iq\(iqNumber)") }
                new = harness.command(client, call, id: "iq\(iqNumber)", pick(commands))
            case 7:
                iqNumber += 1
                new = harness.iq(
                    pick(clients),
                    to: call,
                    id: "iq\(iqNumber)",
                    XMLElement("tone", namespace: ToneComponent.namespace, ["frequency": "440"])
                )
            case 8:
                iqNumber += 1
                new = harness.iq(
                    pick(clients),
                    to: "\(call)@rayo.localhost/tone-1",
                    id: "iq\(iqNumber)",
                    RayoStop().element
                )
            case 9:
                iqNumber += 1
                new = harness.iq(
                    pick(clients),
                    to: nil,
                    id: "iq\(iqNumber)",
                    RayoDial(to: "user/100", uri: call).element
                )
            case 10:
                new = harness.event(pick(["CHANNEL_ANSWER", "CHANNEL_PROGRESS", "PLAYBACK_STOP"]), call)
            case 11:
                new = harness.feed(.switchEvent(Events.bridge(call, other, unbridge: Bool.random(using: &random))))
            case 12:
                let action = pick(["add-member", "del-member", "start-talking"])
                new = harness.feed(.switchEvent(Events.conference(action, call, name: "room", member: "1")))
            case 13:
                new = harness.hangup(call, cause: pick(["NORMAL_CLEARING", "USER_BUSY", "NO_ANSWER"]))
            case 14...16:
                if !outstanding.isEmpty {
                    let id = outstanding.remove(at: Int.random(in: 0..<outstanding.count, using: &random))
                    let reply = pick([
                        SwitchReply.ok("+OK"), .ok("-ERR NO_ROUTE_DESTINATION"), .failed("-ERR x"), .disconnected,
                    ])
                    new = harness.feed(.switchReply(id, reply))
                }
            case 17:
                new = harness.feed(.timerFired(TimerID(pick([.offer(call: call), .idle(call: call)]))))
                harness.advance(.seconds(10))
            case 18 where Bool.random(using: &random):
                new = harness.feed(.eventSocketLost)
                outstanding.removeAll()
            case 18:
                if roamingOnline {
                    new = harness.feed(.client(.offline(roaming)))
                } else {
                    new = harness.feed(.client(.online(roaming)))
                    new += harness.feed(.client(.presence(roaming, .available(show: .chat))))
                }
                roamingOnline.toggle()
            default:
                new = harness.feed(
                    .eventSocketRestored(liveCalls: Set(Self.calls.filter { _ in Bool.random(using: &random) }))
                )
            }
            outstanding += new.requests.map(\.0)
        }
        harness.feed(.eventSocketLost)
        harness.feed(.eventSocketRestored(liveCalls: []))
        #expect(harness.machine.status.calls.isEmpty)
        #expect(harness.machine.status.components.isEmpty)
        harness.expectEachIQAnsweredOnce(mayBeDropped: roamingIQs)
        harness.expectEachComponentCompletedOnce()
        let answered = harness.actions.sent.filter { $0.name == "iq" }
        #expect(answered.contains { $0.isResult }, "the run must reach successful commands")
    }
}
