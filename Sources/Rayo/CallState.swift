import EventSocket
import XMPP

/// One call the machine knows: offered (inbound) or dialed (outbound).
struct CallState: Sendable {
    enum Phase: String, Sendable {
        case offered, dialing, ringing, accepted, answered, ending
    }

    let uuid: String
    let jid: String
    let inbound: Bool
    var phase: Phase
    var answered = false
    var controller: JID?
    var dialer: JID?
    /// Clients the offer went to, in order.
    var offeredTo: [JID] = []
    /// Clients the offer went to (for re-offers: only the others).
    var tried: Set<JID> = []
    var offerTo: [String]?
    var channelData: EventSocketEvent?
    /// Set when the client's `<hangup>` was sent: the end reason is hangup-command.
    var hangupByCommand = false
    var ringingSent = false
    /// A hangup reached a dialed call before FreeSWITCH created its channel: kill it on its first event.
    var killWhenSeen = false
    var pending: [PendingCommand] = []
    var joinedCalls: Set<String> = []
    var mixer: String?
    var memberID: String?
    var components: [LiveComponent] = []
    var componentCounter = 0
    var lastActivity: ContinuousClock.Instant
    /// A dial's nested `<join>`, performed when the call is answered.
    var joinAfterAnswer: RayoJoin?

    init(uuid: String, domain: String, inbound: Bool, phase: Phase, now: ContinuousClock.Instant) {
        self.uuid = uuid
        self.jid = "\(uuid)@\(domain)"
        self.inbound = inbound
        self.phase = phase
        self.lastActivity = now
    }

    /// Whether `client` may see and command this call.
    func isVisible(to client: JID) -> Bool {
        controller == client || dialer == client || offeredTo.contains(client)
    }

    /// Whether a join or unjoin is waiting for the switch.
    var joinInProgress: Bool {
        pending.contains {
            switch $0.kind {
            case .join, .unjoin: true
            default: false
            }
        }
    }

    /// Whether something keeps the call from being idle.
    var isBusy: Bool { !joinedCalls.isEmpty || mixer != nil || !components.isEmpty || !pending.isEmpty }

    /// Who hears about the call's events beyond the controller: everyone it was offered to, and its dialer.
    var endRecipients: [JID] {
        var recipients: [JID] = []
        for client in offeredTo + [dialer, controller].compactMap({ $0 }) where !recipients.contains(client) {
            recipients.append(client)
        }
        return recipients
    }
}

/// A command (IQ) waiting for the switch; `iq == nil` for an operation of the machine itself (a dial's join).
struct PendingCommand: Sendable {
    enum Kind: Sendable, Hashable {
        case accept, answer, redirect, reject, hangup
        case join(RayoJoinTarget)
        case unjoin(RayoJoinTarget)
    }

    let token: UInt64
    let iq: XMLElement?
    let kind: Kind
    /// The request's reply came back +OK; the command now waits for its event.
    var replied = false
}

/// A live component of a call.
struct LiveComponent: Sendable {
    let id: String
    var kind: any RayoComponentKind
    let owner: JID
}

/// A mixer (conference) with Rayo calls in it.
struct MixerState: Sendable {
    let name: String
    /// uuid → conference member id, in join order.
    var members: [(uuid: String, memberID: String)] = []
}

/// What a request's reply is for.
enum RequestPurpose: Sendable {
    /// Nothing waits for it (uuid_setvar, a hangup by policy, a message).
    case ignore
    /// A pending command of a call.
    case command(uuid: String, token: UInt64)
    /// The originate of a dialed call.
    case dial(uuid: String)
    /// A request of a component.
    case component(uuid: String, id: String)
}
