/// The contract between an XMPP transport and a service that lives on the server's domain (the Rayo service).
///
/// The transport (the built-in c2s server today; an XEP-0114 component connection later) authenticates clients,
/// binds their resources and handles the stream-level protocol (SASL, bind, session, ping, disco, roster). What is
/// left, it hands to the service as ``ClientEvent`` values from authenticated full JIDs, and it delivers what the
/// service sends through a ``StanzaRouter``. The service therefore never sees a socket, a stream or a password.
public protocol XMPPLocalService: Sendable {
    /// Features the service adds to the domain's disco#info answer (e.g. `urn:xmpp:rayo:1`).
    var discoFeatures: [String] { get }

    /// Called once by the transport before any event, with the router for the service's outgoing stanzas.
    func attach(router: any StanzaRouter)

    /// One thing a client did. Called on the transport's threads: it must not block; a service queues the event
    /// and handles it on its own. Events of one client arrive in the order the client caused them.
    func receive(_ event: ClientEvent)
}

/// Where a local service's stanzas go: to the connected client named by the stanza's `to` attribute.
public protocol StanzaRouter: Sendable {
    /// Delivers `stanza` to the session bound to its `to` full JID (or to every session of a bare JID). Returns
    /// `false` when no session has that address; the stanza is then dropped.
    @discardableResult
    func route(_ stanza: XMLElement) -> Bool
}

/// What an authenticated client did, as the transport reports it to the local service.
public enum ClientEvent: Sendable, Hashable {
    /// A session bound this full JID. A second login with the same full JID is reported as ``offline(_:)`` for the
    /// first one followed by ``online(_:)``.
    case online(JID)
    /// The client's broadcast presence (presence without a `to`) changed.
    case presence(JID, ClientPresence)
    /// A stanza (`iq`, `message` or directed `presence`) from this full JID, addressed to the domain or to an entity
    /// on it (`<uuid>@domain`, `<mixer>@domain`, `<call>@domain/<component>`), that the transport did not answer
    /// itself. Its `from` attribute has been set to the full JID. Every `iq` of type `get` or `set` given to the
    /// service must be answered by the service with exactly one `result` or `error`.
    case stanza(XMLElement, from: JID)
    /// The session of this full JID ended (closed, timed out, replaced or dropped).
    case offline(JID)
}

/// A client's broadcast presence.
public enum ClientPresence: Sendable, Hashable {
    /// Available, with the `<show>` value if any (`chat`, `away`, `xa`, `dnd`).
    case available(show: Show?)
    /// `type='unavailable'`.
    case unavailable

    /// The `<show>` values of RFC 6121.
    public enum Show: String, Sendable, Hashable {
        /// Free for chat: Rayo clients send it to receive offers.
        case chat
        /// Away.
        case away
        /// Extended away.
        case xa
        /// Do not disturb.
        case dnd
    }
}
