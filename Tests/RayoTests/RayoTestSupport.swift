import EventSocket
import Foundation
import Testing
import XMPP

@testable import Rayo

/// A deterministic generator (SplitMix64) for the `random` algorithm and generated uuids.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Drives a machine like the service would, recording every action and checking that each client IQ is answered
/// exactly once.
struct Harness {
    static let domain = "rayo.localhost"
    /// 2026-11-23T07:04:34Z, the stamp of the SIP fixture's offer.
    static let unixTime: Int64 = 1_795_417_474

    var machine: RayoMachine
    var now = ContinuousClock.now
    private(set) var actions: [RayoAction] = []
    /// Client IQ ids (get/set) given to the machine.
    private(set) var asked: [String] = []
    /// Answers (result/error) per IQ id.
    private(set) var answers: [String: Int] = [:]

    init(_ settings: RayoSettings = RayoSettings(domain: Harness.domain), seed: UInt64 = 1) {
        machine = RayoMachine(settings: settings, generator: SeededGenerator(seed: seed)) { Harness.unixTime }
    }

    @discardableResult
    mutating func feed(_ input: RayoInput) -> [RayoAction] {
        let new = machine.handle(input, now: now)
        for case .send(let stanza) in new where stanza.name == "iq" {
            let type = stanza[attribute: "type"]
            if type == "result" || type == "error", let id = stanza[attribute: "id"] { answers[id, default: 0] += 1 }
        }
        actions += new
        return new
    }

    mutating func advance(_ duration: Duration) { now = now.advanced(by: duration) }

    /// A client that comes online and, with a show of `chat` (or `nil` show when `available` is nil), presence.
    @discardableResult
    mutating func connect(
        _ user: String,
        resource: String = "app",
        presence: ClientPresence? = .available(show: .chat)
    )
        -> JID
    {
        let jid = JID("\(user)@\(Harness.domain)/\(resource)")!
        feed(.client(.online(jid)))
        if let presence { feed(.client(.presence(jid, presence))) }
        return jid
    }

    /// An IQ from `client` to `to` (a call uuid, `uuid/component`, a mixer name or `nil` for the server).
    @discardableResult
    mutating func iq(
        _ client: JID,
        to: String?,
        id: String,
        _ payload: XMLElement,
        type: String = "set"
    ) -> [RayoAction] {
        var iq = XMLElement("iq", namespace: XMPPNamespace.client, ["type": type, "id": id])
        iq[attribute: "to"] = to.map { $0.contains("@") ? $0 : "\($0)@\(Harness.domain)" } ?? Harness.domain
        iq.append(payload)
        return stanza(iq, from: client)
    }

    /// A stanza as the transport gives it: `from` set to the client's full JID.
    @discardableResult
    mutating func stanza(_ original: XMLElement, from client: JID) -> [RayoAction] {
        var stanza = original
        stanza[attribute: "from"] = client.description
        if stanza.name == "iq", stanza[attribute: "type"] == "set" || stanza[attribute: "type"] == "get",
            let id = stanza[attribute: "id"]
        {
            asked.append(id)
        }
        return feed(.client(.stanza(stanza, from: client)))
    }

    /// A command of urn:xmpp:rayo:1 to a call.
    @discardableResult
    mutating func command(_ client: JID, _ uuid: String, id: String, _ command: RayoCommand) -> [RayoAction] {
        iq(client, to: uuid, id: id, command.element)
    }

    /// An inbound call handed over by the outbound socket, with the channel data of a SIP call.
    @discardableResult
    mutating func arrive(_ uuid: String, offerTo: [String]? = nil, sip: Bool = true) -> [RayoAction] {
        feed(.callArrived(uuid: uuid, channelData: Events.channelData(uuid, sip: sip), offerTo: offerTo))
    }

    /// A channel event.
    @discardableResult
    mutating func event(_ name: String, _ uuid: String, _ extra: [(String, String)] = []) -> [RayoAction] {
        feed(.switchEvent(Events.channel(name, uuid, extra)))
    }

    /// The call hangs up with `cause` (q850 from the table unless given).
    @discardableResult
    mutating func hangup(_ uuid: String, cause: String = "NORMAL_CLEARING", q850: String? = nil) -> [RayoAction] {
        feed(.switchEvent(Events.hangupComplete(uuid, cause: cause, q850: q850)))
    }

    /// Replies to every request among `actions`.
    @discardableResult
    mutating func replyAll(_ actions: [RayoAction], _ reply: SwitchReply = .ok("+OK")) -> [RayoAction] {
        var result: [RayoAction] = []
        for (id, _) in actions.requests { result += feed(.switchReply(id, reply)) }
        return result
    }

    /// Replies to the request whose text starts with `prefix`.
    @discardableResult
    mutating func reply(
        _ actions: [RayoAction],
        matching prefix: String,
        _ reply: SwitchReply = .ok("+OK")
    )
        -> [RayoAction]
    {
        guard let (id, _) = actions.requests.first(where: { $0.1.description.hasPrefix(prefix) }) else {
            Issue.record("no request starting '\(prefix)' in \(actions.requests.map(\.1.description))")
            return []
        }
        return feed(.switchReply(id, reply))
    }

    /// Every component that got a `<ref>` sent exactly one `<complete>`, and nothing else completed (a JID reused
    /// by a later call of the same uuid counts once per start).
    func expectEachComponentCompletedOnce(sourceLocation: SourceLocation = #_sourceLocation) {
        var started: [String: Int] = [:]
        var completes: [String: Int] = [:]
        for stanza in actions.sent {
            if let uri = stanza.child("ref", namespace: RayoNamespace.core)?[attribute: "uri"], uri.contains("/") {
                started[String(uri.dropFirst(5)), default: 0] += 1
            }
            if stanza.child("complete", namespace: RayoNamespace.ext) != nil {
                let jid = stanza[attribute: "from"] ?? ""
                completes[jid, default: 0] += 1
                #expect(
                    completes[jid, default: 0] <= started[jid, default: 0],
                    "\(jid) completed before it started",
                    sourceLocation: sourceLocation
                )
            }
        }
        #expect(completes == started, sourceLocation: sourceLocation)
    }

    /// Every IQ given to the machine was answered exactly once, and nothing else was answered.
    /// IQs in `mayBeDropped` (from a client that went offline meanwhile) must be answered at most once.
    func expectEachIQAnsweredOnce(
        mayBeDropped: Set<String> = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for id in asked {
            if mayBeDropped.contains(id) {
                #expect((answers[id] ?? 0) <= 1, "iq '\(id)' answered twice", sourceLocation: sourceLocation)
            } else {
                #expect(
                    answers[id] == 1,
                    "iq '\(id)' answered \(answers[id] ?? 0) times",
                    sourceLocation: sourceLocation
                )
            }
        }
        for id in answers.keys where !asked.contains(id) {
            Issue.record("answer to an IQ never asked: \(id)", sourceLocation: sourceLocation)
        }
    }
}

extension [RayoAction] {
    var sent: [XMLElement] {
        compactMap {
            if case .send(let stanza) = $0 { return stanza }
            return nil
        }
    }

    var requests: [(RequestID, SwitchRequest)] {
        compactMap {
            if case .execute(let id, let request) = $0 { return (id, request) }
            return nil
        }
    }

    /// The requests as log lines (`api uuid_kill …`, `execute answer on …`, `bgapi originate …`).
    var commands: [String] { requests.map(\.1.description) }

    /// The answer to the IQ `id`.
    func reply(to id: String) -> XMLElement? {
        sent.first {
            $0.name == "iq" && $0[attribute: "id"] == id
                && ($0[attribute: "type"] == "result" || $0[attribute: "type"] == "error")
        }
    }

    /// Presences sent to `client`.
    func presences(to client: JID) -> [XMLElement] {
        sent.filter { $0.name == "presence" && $0[attribute: "to"] == client.description }
    }

    /// The Rayo payload names of the presences to `client` (`offer`, `answered`, `end`…).
    func events(to client: JID) -> [String] {
        presences(to: client).compactMap { presence in
            presence.elements.first { $0.namespace == RayoNamespace.core || $0.namespace == RayoNamespace.ext }?.name
        }
    }

    var releases: [String] {
        compactMap {
            if case .releaseCall(let uuid) = $0 { return uuid }
            return nil
        }
    }

    var timersStarted: [String] {
        compactMap {
            if case .startTimer(let id, _) = $0 { return id.description }
            return nil
        }
    }
}

extension XMLElement {
    /// The condition of an error reply (`item-not-found`), or `nil` for a result.
    var errorCondition: String? {
        guard self[attribute: "type"] == "error", let error = child("error") else { return nil }
        return error.elements.first { $0.namespace == XMPPNamespace.stanzas && $0.name != "text" }?.name
    }

    var errorText: String? { child("error")?.child("text")?.text }

    var isResult: Bool { self[attribute: "type"] == "result" }

    /// The `<end>` reason element of an end presence.
    var endReason: XMLElement? { child("end", namespace: RayoNamespace.core)?.elements.first }

    /// Resolved, attributes sorted, `stamp` removed: for comparing with captured stanzas.
    var normalized: XMLElement {
        func normalize(_ element: XMLElement) -> XMLElement {
            var copy = element
            copy.attributes = element.attributes.filter { $0.name != "stamp" }.sorted { $0.name < $1.name }
            copy.children = element.children.map {
                if case .element(let child) = $0 { return .element(normalize(child)) }
                return $0
            }
            return copy
        }
        return normalize(resolved(inScopeNamespace: XMPPNamespace.client))
    }
}

/// Realistic event socket events, with the header names FreeSWITCH uses.
enum Events {
    static func channelData(_ uuid: String, sip: Bool) -> EventSocketEvent {
        var headers: [(String, String)] = [
            ("Event-Name", "CHANNEL_DATA"), ("Channel-State", "CS_EXECUTE"), ("Channel-Call-State", "RINGING"),
            ("Unique-ID", uuid), ("Call-Direction", "inbound"), ("Answer-State", "ringing"),
            ("Caller-Caller-ID-Number", "0000000000"), ("Caller-Destination-Number", "rayo"),
        ]
        if sip {
            headers += [
                ("variable_sip_from_uri", "0000000000@127.0.0.1"), ("variable_sip_to_uri", "rayo@127.0.0.1:5080"),
                ("variable_sip_full_from", "<sip:0000000000@127.0.0.1>;tag=XNK4XH0HcmDpa"),
                ("variable_sip_full_to", "<sip:rayo@127.0.0.1:5080>"),
                ("variable_sip_full_via", "SIP/2.0/UDP 127.0.0.1:5080;rport=5080;branch=z9hG4bKSQHrZ4BeZX3mr"),
            ]
        }
        return EventSocketEvent(headers: EventSocketHeaders(headers.map { (name: $0.0, value: $0.1) }))
    }

    static func channel(_ name: String, _ uuid: String, _ extra: [(String, String)] = []) -> EventSocketEvent {
        let headers: [(String, String)] =
            [
                ("Event-Name", name), ("Core-UUID", "6b4b1a0e-5f0a-4b5e-9a55-8d7ef1c0a001"),
                ("Event-Date-Timestamp", "1795417069423547"), ("Unique-ID", uuid),
            ] + extra
        return EventSocketEvent(headers: EventSocketHeaders(headers.map { (name: $0.0, value: $0.1) }))
    }

    static func hangupComplete(_ uuid: String, cause: String, q850: String? = nil) -> EventSocketEvent {
        let code = q850 ?? HangupCause.q850(cause).map(String.init) ?? ""
        return channel(
            "CHANNEL_HANGUP_COMPLETE",
            uuid,
            [
                ("Hangup-Cause", cause), ("Channel-State", "CS_REPORTING"), ("Channel-Call-State", "HANGUP"),
                ("Answer-State", "hangup"), ("variable_hangup_cause", cause), ("variable_hangup_cause_q850", code),
            ]
        )
    }

    static func bridge(_ uuid: String, _ other: String, unbridge: Bool = false) -> EventSocketEvent {
        channel(
            unbridge ? "CHANNEL_UNBRIDGE" : "CHANNEL_BRIDGE",
            uuid,
            [("Bridge-A-Unique-ID", uuid), ("Bridge-B-Unique-ID", other), ("Other-Leg-Unique-ID", other)]
        )
    }

    static func conference(_ action: String, _ uuid: String, name: String, member: String) -> EventSocketEvent {
        channel(
            "CUSTOM",
            uuid,
            [
                ("Event-Subclass", "conference::maintenance"), ("Conference-Name", name),
                ("Conference-Profile-Name", "default"), ("Member-ID", member), ("Action", action),
            ]
        )
    }
}

/// The captured XMPP streams, read with the XMPP layer's stream parser: the stanzas of each stream (a new parser
/// after each stream restart), namespaces resolved, for comparing replies with mod_rayo's.
enum CapturedStream {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/xmpp")

    /// The `jabber:client` stanzas of one direction of a capture (`from-freeswitch.bin` or `to-freeswitch.bin`);
    /// stream features and SASL elements are left out.
    static func stanzas(_ capture: String, _ file: String) throws -> [XMLElement] {
        let bytes = Array(try Data(contentsOf: root.appendingPathComponent(capture).appendingPathComponent(file)))
        // One segment per stream (a restart after SASL opens a new one); a client's `<?xml?>` goes with its stream.
        let marker = Array("<stream:stream".utf8)
        var starts: [Int] = []
        var index = 0
        while index + marker.count <= bytes.count {
            if Array(bytes[index..<index + marker.count]) == marker { starts.append(index) }
            index += 1
        }
        var stanzas: [XMLElement] = []
        for (number, start) in starts.enumerated() {
            let end = number + 1 < starts.count ? starts[number + 1] : bytes.count
            var segment = Array(bytes[start..<end])
            if let prolog = segment.lastIndex(of: UInt8(ascii: "<")),
                segment[prolog...].starts(with: Array("<?xml".utf8))
            {
                segment.removeSubrange(prolog...)
            }
            for case .stanza(let stanza) in try XMLStreamParser().parse(segment)
            where stanza.namespace == XMPPNamespace.client {
                stanzas.append(stanza)
            }
        }
        return stanzas
    }
}

/// A trivial component kind for testing the machinery: plays a tone (`playback`), completes `finish` on
/// PLAYBACK_STOP (or `stop` after a `<stop/>`), and answers a `<pause/>` command with a progress event.
struct ToneComponent: RayoComponentKind {
    static let namespace = "urn:switchboard:test:tone:1"
    static let completeNamespace = "urn:switchboard:test:tone:complete:1"
    static let factory = ComponentFactory(namespace: namespace, name: "tone") { element throws(RayoParseError) in
        guard let frequency = element[attribute: "frequency"], Int(frequency) != nil else {
            throw RayoParseError(element: "tone", message: "missing tone frequency attribute")
        }
        return ToneComponent(frequency: frequency)
    }

    let frequency: String
    var stopping = false

    var kindName: String { "tone" }

    mutating func start(_ context: ComponentContext) -> [ComponentEffect] {
        [
            .request(
                .execute(
                    uuid: context.callUUID,
                    application: "playback",
                    argument: "tone_stream://%(1000,0,\(frequency))"
                )
            )
        ]
    }

    mutating func handle(event: EventSocketEvent, _ context: ComponentContext) -> [ComponentEffect] {
        guard event.name == "PLAYBACK_STOP" else { return [] }
        return [
            .complete(
                stopping ? RayoCompletionReason.stop.element : XMLElement("finish", namespace: Self.completeNamespace)
            )
        ]
    }

    mutating func handle(
        command: XMLElement,
        _ context: ComponentContext
    ) -> (answer: Result<XMLElement?, StanzaError>, effects: [ComponentEffect]) {
        guard command.name == "pause" else { return (.failure(StanzaError(.featureNotImplemented)), []) }
        return (
            .success(nil),
            [
                .request(.api("uuid_fileman \(context.callUUID) pause")),
                .progress(XMLElement("paused", namespace: Self.namespace)),
            ]
        )
    }

    mutating func stop(_ context: ComponentContext) -> [ComponentEffect] {
        stopping = true
        return [.request(.api("uuid_break \(context.callUUID)"))]
    }
}
