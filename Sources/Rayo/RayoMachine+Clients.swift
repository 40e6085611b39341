import XMPP

extension RayoMachine {
    mutating func handleClient(_ event: ClientEvent) {
        switch event {
        case .online(let jid):
            addClient(jid)
        case .presence(let jid, let presence):
            addClient(jid)
            switch presence {
            case .available(let show): clients[jid]?.available = show == nil || show == .chat
            case .unavailable: clients[jid]?.available = false
            }
        case .stanza(let stanza, let from):
            receive(stanza, from: from)
        case .offline(let jid):
            clientLeft(jid)
        }
    }

    private mutating func addClient(_ jid: JID) {
        guard clients[jid] == nil else { return }
        clients[jid] = ClientState(jid: jid, order: nextClientOrder)
        nextClientOrder += 1
    }

    /// A client's session ended: its calls are hung up or offered again (`whenClientLeaves`), never left parked.
    private mutating func clientLeft(_ jid: JID) {
        clients[jid] = nil
        for uuid in calls.keys.sorted() {
            guard var call = calls[uuid] else { continue }
            call.offeredTo.removeAll { $0 == jid }
            // Its IQs can no longer be answered: drop them (nothing would reach it).
            let owned = call.controller == jid || call.dialer == jid
            if owned { call.pending.removeAll() }
            calls[uuid] = call
            guard owned, call.phase != .ending else { continue }
            if settings.whenClientLeaves == .reoffer, call.inbound {
                // Offered again to everyone the algorithm picks, the clients that saw the first offer included.
                calls[uuid]?.controller = nil
                calls[uuid]?.tried = [jid]
                if !call.answered { calls[uuid]?.phase = .offered }
                offer(uuid)
            } else {
                calls[uuid]?.phase = .ending
                execute(.api("uuid_kill \(uuid) NORMAL_CLEARING"), for: .ignore)
            }
        }
    }

    // MARK: - Stanzas

    private mutating func receive(_ original: XMLElement, from client: JID) {
        var stanza = original.resolved(inScopeNamespace: XMPPNamespace.client)
        stanza[attribute: "from"] = client.description
        switch stanza.name {
        case "iq": receiveIQ(stanza, from: client)
        case "message": receiveMessage(stanza, from: client)
        default: break  // directed presence: nothing to do
        }
    }

    private enum Address {
        case server
        case call(String, resource: String?)
        case mixer(String)
        case unknown
    }

    private func address(of stanza: XMLElement) -> Address {
        guard let text = stanza[attribute: "to"] else { return .server }
        guard let jid = JID(text), jid.domainpart == domain else { return .unknown }
        guard let local = jid.localpart else { return jid.resourcepart == nil ? .server : .unknown }
        if calls[local] != nil { return .call(local, resource: jid.resourcepart) }
        if mixers[local] != nil, jid.resourcepart == nil { return .mixer(local) }
        return .unknown
    }

    private mutating func receiveIQ(_ iq: XMLElement, from client: JID) {
        // Results and errors need no answer.
        guard iq[attribute: "type"] == "set" || iq[attribute: "type"] == "get" else { return }
        guard let payload = iq.elements.first else {
            send(XMLElement.errorReply(to: iq, error: StanzaError(.badRequest, text: "iq has no payload")))
            return
        }
        switch address(of: iq) {
        case .server:
            serverIQ(iq, payload: payload, from: client)
        case .call(let uuid, nil):
            guard let call = calls[uuid], call.isVisible(to: client) else { return notFound(iq) }
            callIQ(iq, payload: payload, from: client, uuid: uuid)
        case .call(let uuid, let id?):
            guard let call = calls[uuid], call.isVisible(to: client) else { return notFound(iq) }
            componentIQ(iq, payload: payload, from: client, uuid: uuid, id: id)
        case .mixer(let name):
            let visible = mixers[name]?.members.contains { calls[$0.uuid]?.isVisible(to: client) ?? false } ?? false
            guard visible else { return notFound(iq) }
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.featureNotImplemented, text: "mixers take no commands; join or unjoin calls")
                )
            )
        case .unknown:
            notFound(iq)
        }
    }

    mutating func notFound(_ iq: XMLElement) {
        send(XMLElement.errorReply(to: iq, error: StanzaError(.itemNotFound)))
    }

    private mutating func serverIQ(_ iq: XMLElement, payload: XMLElement, from client: JID) {
        if payload.name == "ping", payload.namespace == XMPPNamespace.ping {
            send(XMLElement.resultReply(to: iq))
            return
        }
        guard payload.namespace == RayoNamespace.core else {
            send(XMLElement.errorReply(to: iq, error: StanzaError(.featureNotImplemented)))
            return
        }
        let command: RayoCommand?
        do {
            command = try RayoCommand.parse(payload)
        } catch {
            send(XMLElement.errorReply(to: iq, error: StanzaError(error)))
            return
        }
        switch command {
        case .dial(let dial)?:
            guard iq[attribute: "type"] == "set" else {
                send(XMLElement.errorReply(to: iq, error: StanzaError(.badRequest, text: "dial is an iq of type set")))
                return
            }
            self.dial(iq, dial, from: client)
        case .some:
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.badRequest, text: "\(payload.name) is sent to a call JID")
                )
            )
        case nil:
            send(XMLElement.errorReply(to: iq, error: Self.unsupported(payload)))
        }
    }

    /// The error for a payload this server does not implement.
    static func unsupported(_ payload: XMLElement) -> StanzaError {
        if payload.name == "exec", payload.namespace == RayoNamespace.core {
            return StanzaError(
                .featureNotImplemented,
                text: "exec is not supported: it would let a client run any FreeSWITCH API"
            )
        }
        if ComponentNamespaces.all.contains(payload.namespace ?? "") {
            return StanzaError(.featureNotImplemented, text: "\(payload.name) components are not available yet")
        }
        return StanzaError(.featureNotImplemented)
    }

    /// `<message>` to a call: the body goes to the caller as a SIP MESSAGE (`uuid_send_message`).
    private mutating func receiveMessage(_ message: XMLElement, from client: JID) {
        guard message[attribute: "type"] != "error" else { return }
        guard case .call(let uuid, nil) = address(of: message), let call = calls[uuid], call.isVisible(to: client)
        else {
            send(XMLElement.errorReply(to: message, error: StanzaError(.itemNotFound)))
            return
        }
        let body = message.child("body")?.text ?? ""
        guard !body.isEmpty else {
            send(XMLElement.errorReply(to: message, error: StanzaError(.badRequest, text: "message has no body")))
            return
        }
        guard !body.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" || $0 == "\0" }) else {
            send(
                XMLElement.errorReply(
                    to: message,
                    error: StanzaError(.badRequest, text: "message body must be a single line")
                )
            )
            return
        }
        guard eventSocketUp else {
            send(
                XMLElement.errorReply(
                    to: message,
                    error: StanzaError(.serviceUnavailable, text: "FreeSWITCH is not connected")
                )
            )
            return
        }
        touch(uuid)
        execute(.api("uuid_send_message \(uuid) \(body)"), for: .ignore)
    }
}
