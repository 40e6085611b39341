/// A snapshot of the Rayo layer for the admin console's `status`.
public struct RayoStatus: Sendable, Hashable {
    /// A connected client.
    public struct Client: Sendable, Hashable {
        /// The full JID.
        public var jid: String
        /// Whether it receives offers (`<show>chat</show>` or no show).
        public var available: Bool
    }

    /// A call Rayo knows.
    public struct Call: Sendable, Hashable {
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
    }

    /// A mixer (a conference) with Rayo calls in it.
    public struct Mixer: Sendable, Hashable {
        /// The mixer name (the mixer JID's localpart and the conference name).
        public var name: String
        /// The uuids of the member calls.
        public var members: [String]
    }

    /// A live component.
    public struct Component: Sendable, Hashable {
        /// The component JID, `<call-jid>/<id>`.
        public var jid: String
        /// The kind (`output`, `input`, …).
        public var kind: String
        /// The full JID of the client that started it.
        public var owner: String
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
}
