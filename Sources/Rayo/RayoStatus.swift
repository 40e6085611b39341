/// A snapshot of the Rayo layer for the admin console's `status`.
public struct RayoStatus: Sendable, Hashable, Codable {
    /// A connected client.
    public struct Client: Sendable, Hashable, Codable {
        /// The full JID.
        public var jid: String
        /// Whether it receives offers (`<show>chat</show>` or no show).
        public var available: Bool

        /// Creates an entry.
        public init(jid: String, available: Bool) {
            self.jid = jid
            self.available = available
        }
    }

    /// A call Rayo knows.
    public struct Call: Sendable, Hashable, Codable {
        /// The FreeSWITCH uuid (the call JID's localpart).
        public var uuid: String
        /// `inbound` (offered) or `outbound` (dialed).
        public var direction: String
        /// `offered`, `dialing`, `ringing`, `accepted`, `answered`, `ending`.
        public var state: String
        /// The full JID of the controlling client, if any.
        public var controller: String?
        /// The clients the call was offered to, in offer order.
        public var offeredTo: [String]
        /// The calls (uuids) and mixers (`mixer:<name>`) it is joined to.
        public var joinedTo: [String]

        /// Creates an entry.
        public init(
            uuid: String,
            direction: String,
            state: String,
            controller: String?,
            offeredTo: [String],
            joinedTo: [String]
        ) {
            self.uuid = uuid
            self.direction = direction
            self.state = state
            self.controller = controller
            self.offeredTo = offeredTo
            self.joinedTo = joinedTo
        }
    }

    /// A mixer (a conference) with Rayo calls in it.
    public struct Mixer: Sendable, Hashable, Codable {
        /// The mixer name (the mixer JID's localpart and the conference name).
        public var name: String
        /// The uuids of the member calls.
        public var members: [String]

        /// Creates an entry.
        public init(name: String, members: [String]) {
            self.name = name
            self.members = members
        }
    }

    /// A live component.
    public struct Component: Sendable, Hashable, Codable {
        /// The component JID, `<call-jid>/<id>`.
        public var jid: String
        /// The kind (`output`, `input`, …).
        public var kind: String
        /// The full JID of the client that started it.
        public var owner: String

        /// Creates an entry.
        public init(jid: String, kind: String, owner: String) {
            self.jid = jid
            self.kind = kind
            self.owner = owner
        }
    }

    /// Connected clients, by JID.
    public var clients: [Client]
    /// Known calls, by uuid.
    public var calls: [Call]
    /// Mixers, by name.
    public var mixers: [Mixer]
    /// Live components, by JID.
    public var components: [Component]
    /// Whether the event socket connection is up.
    public var eventSocketUp: Bool
    /// Whether the service is draining (no new offers).
    public var draining: Bool

    /// Creates a snapshot.
    public init(
        clients: [Client],
        calls: [Call],
        mixers: [Mixer],
        components: [Component],
        eventSocketUp: Bool,
        draining: Bool
    ) {
        self.clients = clients
        self.calls = calls
        self.mixers = mixers
        self.components = components
        self.eventSocketUp = eventSocketUp
        self.draining = draining
    }
}
