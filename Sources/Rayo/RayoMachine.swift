import EventSocket
import XMPP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Rayo layer as one state machine value: clients, calls, mixers and components. It takes inputs (client
/// stanzas, calls handed over by the outbound socket, event socket events and replies, timers) and returns the
/// actions that carry them out (stanzas to send, requests for FreeSWITCH, timers), with no I/O of its own.
///
/// The service owns one machine behind a lock or inside one task, executes the actions in order, and feeds results
/// back. Every `iq` of type `get` or `set` it is given gets exactly one `result` or `error` among the actions of
/// this or a later input: when the call ends, when the event socket drops or when the request fails included.
///
/// Choices where mod_rayo or the XEP leave room:
/// - A command's result waits for the switch: accept, redirect, reject and hangup for the request's `+OK`; answer
///   for CHANNEL_ANSWER; a call join for CHANNEL_BRIDGE, an unjoin for CHANNEL_UNBRIDGE; a mixer join for the
///   member's `add-member`, a mixer unjoin for its `del-member`. `<dial>` gets its `<ref>` at once, as mod_rayo.
/// - A request that fails is answered `internal-server-error` with FreeSWITCH's text; a reply lost with the
///   connection, and every command pending when the event socket drops, `service-unavailable`; commands while it is
///   down, `service-unavailable` (unknown calls stay `item-not-found`).
/// - Commands pending when the call ends: a hangup or reject gets its result (it did end the call), anything else
///   `item-not-found` ("the call ended"). A command after `<end>` is `item-not-found`: the call is forgotten.
/// - One join or unjoin at a time per call; a second one while one is pending is `unexpected-request`, as is a
///   command to a call that is ending, reject of an answered or outbound call, accept/answer/redirect of an
///   unanswered outbound call, an unjoin of something the call is not joined to. Joining a call someone else
///   controls is `conflict`; calls join duplex only (`feature-not-implemented` otherwise: use a mixer).
/// - `<end>` carries `platform-code` (the Q.850 code) for every reason except `hangup-command`, as in the
///   captures. maxIdle hangs up with ALLOTTED_TIMEOUT (end reason `timeout`).
/// - Drain: the domain sends unavailable presence to every client; new calls are released to the dialplan (the
///   `socket` app returns and the next dialplan action runs, e.g. a fallback or `respond 503`); controlled calls go
///   on; `<dial>` is `service-unavailable`. Calls still waiting for a client when their offer times out are hung up
///   as usual.
/// - `whenClientLeaves`: the leaving client's pending IQs are dropped (nobody to answer); `reoffer` offers inbound
///   calls again to the available clients (those that saw the first offer included) and hangs up dialed ones.
/// - Headers: accept/answer/reject/unanswered hangup and redirect (302) set `sip_rh_<name>`, an answered hangup
///   `sip_bye_h_<name>`, a REFER redirect and dial `sip_h_<name>`; names must be SIP tokens, values one line.
/// - `<message>` to a call: `uuid_send_message <uuid> <body>` (mod_commands), the body on one line.
/// - `<accept early-media='true'/>` (Switchboard's attribute) pre-answers (183) instead of ringing (180).
public struct RayoMachine: Sendable {
    let settings: RayoSettings
    let domain: String
    var generator: any RandomNumberGenerator & Sendable
    let unixTime: @Sendable () -> Int64
    /// The component kinds clients may start (``ComponentFactory/builtIn``; tests add a trivial one).
    var componentFactories = ComponentFactory.builtIn

    var clients: [JID: ClientState] = [:]
    var nextClientOrder: UInt64 = 0
    var lastRoundRobinOrder: UInt64?
    var calls: [String: CallState] = [:]
    var mixers: [String: MixerState] = [:]
    var requests: [RequestID: RequestPurpose] = [:]
    var nextRequest: UInt64 = 1
    var nextToken: UInt64 = 1
    var eventSocketUp = true
    var draining = false

    /// The actions of the input being handled.
    var actions: [RayoAction] = []
    /// The `now` of the input being handled.
    var now: ContinuousClock.Instant?

    struct ClientState: Sendable {
        let jid: JID
        let order: UInt64
        var available = false
    }

    /// Creates a machine with the system's random generator and wall clock (for `<delay>` stamps).
    public init(settings: RayoSettings) {
        self.init(settings: settings, generator: SystemRandomNumberGenerator()) {
            Int64(time(nil))
        }
    }

    /// Creates a machine with an injected random generator (the `random` offer algorithm and generated call uuids)
    /// and wall clock (Unix seconds, for the `<delay stamp>` of presences), for tests.
    public init(
        settings: RayoSettings,
        generator: some RandomNumberGenerator & Sendable,
        unixTime: @escaping @Sendable () -> Int64
    ) {
        self.settings = settings
        self.domain = settings.domain.lowercased()
        self.generator = generator
        self.unixTime = unixTime
    }

    /// Feeds one input; returns what to do, in order.
    public mutating func handle(_ input: RayoInput, now: ContinuousClock.Instant) -> [RayoAction] {
        self.now = now
        actions = []
        switch input {
        case .client(let event): handleClient(event)
        case .callArrived(let uuid, let channelData, let offerTo):
            callArrived(uuid: uuid.lowercased(), channelData: channelData, offerTo: offerTo)
        case .switchEvent(let event): handleSwitchEvent(event)
        case .switchReply(let id, let reply): handleReply(id, reply)
        case .timerFired(let timer): timerFired(timer)
        case .eventSocketLost: eventSocketLost()
        case .eventSocketRestored(let liveCalls): eventSocketRestored(Set(liveCalls.map { $0.lowercased() }))
        case .drain: drain()
        }
        defer { actions = [] }
        return actions
    }

    /// A snapshot for the admin console's `status`.
    public var status: RayoStatus {
        RayoStatus(
            clients: clients.values.sorted { $0.order < $1.order }.map {
                RayoStatus.Client(jid: $0.jid.description, available: $0.available)
            },
            calls: calls.values.sorted { $0.uuid < $1.uuid }.map { call in
                RayoStatus.Call(
                    uuid: call.uuid,
                    direction: call.inbound ? "inbound" : "outbound",
                    state: call.phase.rawValue,
                    controller: call.controller?.description,
                    offeredTo: call.offeredTo.map(\.description),
                    joinedTo: call.joinedCalls.sorted() + (call.mixer.map { ["mixer:" + $0] } ?? [])
                )
            },
            mixers: mixers.values.sorted { $0.name < $1.name }.map {
                RayoStatus.Mixer(name: $0.name, members: $0.members.map(\.uuid))
            },
            components: calls.values.sorted { $0.uuid < $1.uuid }.flatMap { call in
                call.components.map {
                    RayoStatus.Component(
                        jid: "\(call.jid)/\($0.id)",
                        kind: $0.kind.kindName,
                        owner: $0.owner.description
                    )
                }
            },
            eventSocketUp: eventSocketUp,
            draining: draining
        )
    }

    // MARK: - Helpers shared by the extensions

    var clock: ContinuousClock.Instant {
        guard let now else { preconditionFailure("the machine is used outside handle(_:now:)") }
        return now
    }

    var stamp: String { XMPPDelay.timestamp(secondsSince1970: unixTime()) }

    mutating func send(_ stanza: XMLElement) { actions.append(.send(stanza)) }

    @discardableResult
    mutating func execute(_ request: SwitchRequest, for purpose: RequestPurpose) -> RequestID {
        let id = RequestID(rawValue: nextRequest)
        nextRequest += 1
        requests[id] = purpose
        actions.append(.execute(id, request))
        return id
    }

    mutating func makeToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    /// A presence from the call's JID (or one of its component JIDs) to `client`.
    mutating func sendEvent(_ payload: XMLElement, from: String, to client: JID, unavailable: Bool = false) {
        send(
            Stanza.presence(
                from: from,
                to: client.description,
                type: unavailable ? "unavailable" : nil,
                payload: [payload],
                stamp: stamp
            )
        )
    }

    /// A random version 4 uuid from the injected generator.
    mutating func generateUUID() -> String {
        var high = generator.next()
        var low = generator.next()
        high = high & ~(0xF << 12) | (0x4 << 12)
        low = low & ~(0x3 << 62) | (0x2 << 62)
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
        }
        return hex(high >> 32, 8) + "-" + hex((high >> 16) & 0xFFFF, 4) + "-" + hex(high & 0xFFFF, 4) + "-"
            + hex(low >> 48, 4) + "-" + hex(low & 0xFFFF_FFFF_FFFF, 12)
    }

    /// Variables of an event as headers (`variable_x` → `variable-x`), when the setting asks for them.
    func variableHeaders(_ event: EventSocketEvent?, enabled: Bool) -> [RayoHeader] {
        guard enabled, let event else { return [] }
        return event.headers.fields.compactMap { field in
            guard field.name.hasPrefix("variable_") else { return nil }
            let value = field.value.filter { $0 != "\r" && $0 != "\n" && $0 != "\r\n" }
            return RayoHeader(name: "variable-" + field.name.dropFirst(9), value: value)
        }
    }
}

extension RayoMachine {
    /// Marks a call as active now (a command, a join change, a component).
    mutating func touch(_ uuid: String) {
        let instant = clock
        calls[uuid]?.lastActivity = instant
    }
}
