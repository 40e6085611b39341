import NIOConcurrencyHelpers
import NIOCore
import XMPP

/// One bound resource: the full JID a connection bound, and the way to reach it.
///
/// It also guards what the local service hears about the session: events pass only while the session is online,
/// and ``reportOffline()`` reports `.offline` exactly once, whoever calls it first (the connection closing, or a new
/// login replacing this one).
final class BoundSession: Sendable {
    let jid: JID
    let connection: XMPPConnection
    private let service: any XMPPLocalService
    private let online = NIOLockedValueBox(true)

    init(jid: JID, connection: XMPPConnection, service: any XMPPLocalService) {
        self.jid = jid
        self.connection = connection
        self.service = service
    }

    /// Hands an event to the service unless the session has been reported offline.
    func report(_ event: ClientEvent) {
        online.withLockedValue { online in
            if online { service.receive(event) }
        }
    }

    /// Reports `.offline(jid)` to the service, once.
    func reportOffline() {
        online.withLockedValue { online in
            guard online else { return }
            online = false
            service.receive(.offline(jid))
        }
    }
}

/// The bound sessions of a server, by full JID and by bare JID: the ``StanzaRouter`` the local service writes
/// through, and the lookup client-to-client stanzas use. Thread-safe; a lookup is one lock and a dictionary access.
final class SessionRegistry: StanzaRouter {
    private struct State {
        var byFullJID: [JID: BoundSession] = [:]
        var byBareJID: [JID: [BoundSession]] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// The number of bound sessions.
    var count: Int { state.withLockedValue { $0.byFullJID.count } }

    /// Registers a session; returns the session it replaces (same full JID), if any.
    func bind(_ session: BoundSession) -> BoundSession? {
        state.withLockedValue { state in
            let previous = state.byFullJID.updateValue(session, forKey: session.jid)
            var resources = state.byBareJID[session.jid.bare, default: []]
            if let previous { resources.removeAll { $0 === previous } }
            resources.append(session)
            state.byBareJID[session.jid.bare] = resources
            return previous
        }
    }

    /// Removes a session, unless another one has replaced it meanwhile.
    func unbind(_ session: BoundSession) {
        state.withLockedValue { state in
            guard state.byFullJID[session.jid] === session else { return }
            state.byFullJID.removeValue(forKey: session.jid)
            let bare = session.jid.bare
            var resources = state.byBareJID[bare, default: []]
            resources.removeAll { $0 === session }
            state.byBareJID[bare] = resources.isEmpty ? nil : resources
        }
    }

    /// The sessions a stanza to `jid` reaches: the session of a full JID, every session of a bare JID.
    func sessions(for jid: JID) -> [BoundSession] {
        state.withLockedValue { state in
            if jid.isBare { return state.byBareJID[jid] ?? [] }
            return state.byFullJID[jid].map { [$0] } ?? []
        }
    }

    /// Delivers `stanza` to the sessions its `to` names; `false` when it names none (or is not a JID).
    @discardableResult
    func route(_ stanza: XMLElement) -> Bool {
        guard let to = stanza[attribute: "to"].flatMap(JID.init) else { return false }
        let targets = sessions(for: to)
        guard !targets.isEmpty else { return false }
        // Serialized once, off the event loops, whatever the number of resources.
        let text = stanza.serialized(inScopeNamespace: XMPPNamespace.client)
        for session in targets { session.connection.deliver(text) }
        return true
    }
}
