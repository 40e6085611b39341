import EventSocket
import XMPP

extension RayoMachine {
    private func context(_ uuid: String, _ id: String) -> ComponentContext {
        let call = calls[uuid]
        return ComponentContext(
            callUUID: uuid,
            componentJID: "\(call?.jid ?? uuid)/\(id)",
            answered: call?.answered ?? false
        )
    }

    /// Starts a component: id `<kind>-<n>` (one counter per call), `<ref>` as the IQ result, then the kind's effects.
    mutating func startComponent(
        _ iq: XMLElement,
        payload: XMLElement,
        factory: ComponentFactory,
        uuid: String,
        owner: JID
    ) {
        guard let call = calls[uuid] else { return notFound(iq) }
        guard call.phase != .ending else {
            send(XMLElement.errorReply(to: iq, error: StanzaError(.unexpectedRequest, text: "the call is ending")))
            return
        }
        var kind: any RayoComponentKind
        do {
            kind = try factory.make(payload)
        } catch {
            send(XMLElement.errorReply(to: iq, error: StanzaError(error)))
            return
        }
        let counter = call.componentCounter + 1
        let id = "\(kind.kindName)-\(counter)"
        calls[uuid]?.componentCounter = counter
        touch(uuid)
        let effects = kind.start(context(uuid, id))
        calls[uuid]?.components.append(LiveComponent(id: id, kind: kind, owner: owner))
        send(XMLElement.resultReply(to: iq, payload: RayoRef(jid: "\(call.jid)/\(id)").element))
        apply(effects, uuid: uuid, id: id)
    }

    /// An IQ to `<call-jid>/<id>`: `<stop/>` or a command of the kind; unknown components are item-not-found.
    mutating func componentIQ(_ iq: XMLElement, payload: XMLElement, from client: JID, uuid: String, id: String) {
        guard let call = calls[uuid], let index = call.components.firstIndex(where: { $0.id == id }) else {
            return notFound(iq)
        }
        guard call.controller == nil || call.controller == client || call.components[index].owner == client else {
            send(
                XMLElement.errorReply(to: iq, error: StanzaError(.conflict, text: "another client controls this call"))
            )
            return
        }
        guard eventSocketUp else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.serviceUnavailable, text: "FreeSWITCH is not connected")
                )
            )
            return
        }
        touch(uuid)
        let context = context(uuid, id)
        if RayoStop.matches(payload) {
            send(XMLElement.resultReply(to: iq))
            guard var kind = calls[uuid]?.components[index].kind else { return }
            let effects = kind.stop(context)
            calls[uuid]?.components[index].kind = kind
            apply(effects, uuid: uuid, id: id)
            return
        }
        guard var kind = calls[uuid]?.components[index].kind else { return }
        let (answer, effects) = kind.handle(command: payload, context)
        calls[uuid]?.components[index].kind = kind
        switch answer {
        case .success(let result): send(XMLElement.resultReply(to: iq, payload: result))
        case .failure(let error): send(XMLElement.errorReply(to: iq, error: error))
        }
        apply(effects, uuid: uuid, id: id)
    }

    /// Gives a call's event to each of its live components, in start order.
    mutating func forwardToComponents(_ event: EventSocketEvent, uuid: String) {
        for id in calls[uuid]?.components.map(\.id) ?? [] {
            guard let index = calls[uuid]?.components.firstIndex(where: { $0.id == id }),
                var kind = calls[uuid]?.components[index].kind
            else { continue }
            let effects = kind.handle(event: event, context(uuid, id))
            calls[uuid]?.components[index].kind = kind
            apply(effects, uuid: uuid, id: id)
        }
    }

    private mutating func apply(_ effects: [ComponentEffect], uuid: String, id: String) {
        for effect in effects {
            guard let call = calls[uuid], let component = call.components.first(where: { $0.id == id }) else { return }
            switch effect {
            case .request(let request):
                execute(request, for: .component(uuid: uuid, id: id))
            case .progress(let payload):
                sendEvent(payload, from: "\(call.jid)/\(id)", to: component.owner)
            case .complete(let reason):
                completeComponent(uuid, id, reason: reason)
                return
            }
        }
    }

    /// Ends a component with its one `<complete>` (a presence of type unavailable from the component JID).
    mutating func completeComponent(_ uuid: String, _ id: String, reason: XMLElement) {
        guard let call = calls[uuid], let index = call.components.firstIndex(where: { $0.id == id }) else { return }
        let component = call.components[index]
        calls[uuid]?.components.remove(at: index)
        touch(uuid)
        sendEvent(
            RayoComplete(reason: reason).element,
            from: "\(call.jid)/\(id)",
            to: component.owner,
            unavailable: true
        )
    }
}
