import EventSocket
import XMPP

extension RayoMachine {
    mutating func callArrived(uuid: String, channelData: EventSocketEvent, offerTo: [String]?) {
        guard calls[uuid] == nil else { return }  // already Rayo's (a dialed call the dialplan sent here)
        guard !draining, eventSocketUp else {
            // Not offered: the dialplan goes on after the `socket` app (a fallback such as `respond 503`).
            actions.append(.releaseCall(uuid: uuid))
            return
        }
        var call = CallState(uuid: uuid, domain: domain, inbound: true, phase: .offered, now: clock)
        call.channelData = channelData
        // An empty list (an empty `rayo_offer_to`) restricts nothing.
        call.offerTo = offerTo.flatMap { $0.isEmpty ? nil : $0.map { $0.lowercased() } }
        calls[uuid] = call
        if let maxIdle = settings.maxIdle {
            actions.append(.startTimer(TimerID(.idle(call: uuid)), maxIdle))
        }
        offer(uuid)
    }

    /// Offers the call to the clients the algorithm picks among those not tried yet, or hangs it up with
    /// NORMAL_TEMPORARY_FAILURE when nobody is left.
    mutating func offer(_ uuid: String) {
        guard let call = calls[uuid] else { return }
        let chosen = pickClients(for: call)
        guard !chosen.isEmpty else {
            actions.append(.cancelTimer(TimerID(.offer(call: uuid))))
            calls[uuid]?.phase = .ending
            execute(.api("uuid_kill \(uuid) NORMAL_TEMPORARY_FAILURE"), for: .ignore)
            return
        }
        let offer = offerElement(call)
        for client in chosen {
            calls[uuid]?.tried.insert(client)
            if !call.offeredTo.contains(client) { calls[uuid]?.offeredTo.append(client) }
            send(
                Stanza.presence(
                    from: call.jid,
                    to: client.description,
                    payload: [Stanza.callCaps, offer],
                    stamp: stamp
                )
            )
        }
        actions.append(.startTimer(TimerID(.offer(call: uuid)), settings.offerTimeout))
    }

    private mutating func pickClients(for call: CallState) -> [JID] {
        let candidates =
            draining
            ? []
            : clients.values.filter { client in
                client.available && !call.tried.contains(client.jid) && Self.matches(client.jid, call.offerTo)
            }.sorted { $0.order < $1.order }
        guard !candidates.isEmpty else { return [] }
        switch settings.offerAlgorithm {
        case .all:
            return candidates.map(\.jid)
        case .first:
            return [candidates[0].jid]
        case .random:
            return [candidates[Int.random(in: 0..<candidates.count, using: &generator)].jid]
        case .roundRobin:
            let next = candidates.first { client in lastRoundRobinOrder.map { client.order > $0 } ?? true }
            let chosen = next ?? candidates[0]
            lastRoundRobinOrder = chosen.order
            return [chosen.jid]
        }
    }

    private static func matches(_ client: JID, _ offerTo: [String]?) -> Bool {
        guard let offerTo else { return true }
        let bare = client.bare.description
        return offerTo.contains { $0 == bare || $0 == client.localpart || $0 == client.description.lowercased() }
    }

    /// `<offer to from>` with the SIP headers of the call, as mod_rayo built it.
    private func offerElement(_ call: CallState) -> XMLElement {
        let data = call.channelData
        let sipFrom = data?.variable("sip_from_uri").flatMap { $0.isEmpty ? nil : $0 }
        let sipTo = data?.variable("sip_to_uri").flatMap { $0.isEmpty ? nil : $0 }
        let from: String
        let to: String
        if settings.offerURI, let sipFrom {
            from = "sip:" + sipFrom
        } else {
            from = data?.callerIDNumber ?? ""
        }
        if settings.offerURI, let sipTo {
            to = sipTo
        } else {
            to = data?.destinationNumber ?? ""
        }
        var headers: [RayoHeader] = []
        for (variable, name) in [("sip_full_from", "from"), ("sip_full_to", "to"), ("sip_full_via", "via")] {
            if let value = data?.variable(variable), !value.isEmpty {
                headers.append(RayoHeader(name: name, value: value))
            }
        }
        // Other signaling headers: mod_rayo's `sip_r_*`, and the `sip_h_*` (X- headers) and `sip_i_*`
        // (parse-all-invite-headers) variables of mod_sofia.
        for field in data?.headers.fields ?? [] {
            for prefix in ["variable_sip_r_", "variable_sip_h_", "variable_sip_i_"] where field.name.hasPrefix(prefix) {
                headers.append(RayoHeader(name: String(field.name.dropFirst(prefix.count)), value: field.value))
            }
        }
        headers += variableHeaders(data, enabled: settings.addVariablesToOffer)
        return RayoEvent.offer(to: to, from: from, headers: headers).element
    }

    mutating func timerFired(_ timer: TimerID) {
        switch timer.purpose {
        case .offer(let uuid):
            guard let call = calls[uuid], call.inbound, call.controller == nil, call.phase != .ending else { return }
            offer(uuid)
        case .idle(let uuid):
            guard let call = calls[uuid], let maxIdle = settings.maxIdle else { return }
            guard call.phase != .ending else { return }
            if call.isBusy {
                touch(uuid)
                actions.append(.startTimer(timer, maxIdle))
                return
            }
            let idle = clock - call.lastActivity
            if idle >= maxIdle {
                calls[uuid]?.phase = .ending
                execute(.api("uuid_kill \(uuid) ALLOTTED_TIMEOUT"), for: .ignore)
            } else {
                actions.append(.startTimer(timer, maxIdle - idle))
            }
        }
    }

    mutating func drain() {
        guard !draining else { return }
        draining = true
        for client in clients.values.sorted(by: { $0.order < $1.order }) {
            send(XMLElement("presence", ["from": domain, "to": client.jid.description, "type": "unavailable"]))
        }
    }
}
