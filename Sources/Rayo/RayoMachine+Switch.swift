import EventSocket
import XMPP

extension RayoMachine {
    // MARK: - Events

    mutating func handleSwitchEvent(_ event: EventSocketEvent) {
        if event.name == "CUSTOM" {
            if event.subclass == "conference::maintenance" { conferenceEvent(event) }
            if let uuid = event.uniqueID?.lowercased(), calls[uuid] != nil { forwardToComponents(event, uuid: uuid) }
            return
        }
        guard let uuid = event.uniqueID?.lowercased(), let call = calls[uuid] else { return }
        if call.killWhenSeen, event.name != "CHANNEL_HANGUP_COMPLETE" {
            calls[uuid]?.killWhenSeen = false
            calls[uuid]?.phase = .ending
            execute(.api("uuid_kill \(uuid) NORMAL_CLEARING"), for: .ignore)
        }
        switch event.name {
        case "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA":
            progress(uuid, event)
        case "CHANNEL_ANSWER":
            answered(uuid, event)
        case "CHANNEL_BRIDGE":
            if let other = event["Other-Leg-Unique-ID"]?.lowercased() { bridged(uuid, other) }
        case "CHANNEL_UNBRIDGE":
            if let other = event["Other-Leg-Unique-ID"]?.lowercased() {
                unbridged(uuid, other)
            } else {
                // After `uuid_transfer -both` FreeSWITCH names no other leg: the call left every bridge it was in.
                for other in calls[uuid]?.joinedCalls ?? [] { unbridged(uuid, other) }
            }
        case "CHANNEL_EXECUTE_COMPLETE":
            if event["Application"] == "conference" { conferenceApplicationEnded(uuid, event) }
        case "CHANNEL_HANGUP_COMPLETE":
            forwardToComponents(event, uuid: uuid)
            hungUp(uuid, event)
            return
        default:
            break
        }
        forwardToComponents(event, uuid: uuid)
    }

    private mutating func progress(_ uuid: String, _ event: EventSocketEvent) {
        guard let call = calls[uuid], !call.inbound, !call.ringingSent, !call.answered else { return }
        calls[uuid]?.ringingSent = true
        calls[uuid]?.phase = .ringing
        if let controller = call.controller {
            let headers = variableHeaders(event, enabled: settings.addVariablesToEvents)
            sendEvent(RayoEvent.ringing(headers: headers).element, from: call.jid, to: controller)
        }
    }

    private mutating func answered(_ uuid: String, _ event: EventSocketEvent) {
        guard let call = calls[uuid], !call.answered else { return }
        calls[uuid]?.answered = true
        if call.phase != .ending { calls[uuid]?.phase = .answered }
        resolve(uuid) { $0.kind == .answer }
        if let controller = call.controller {
            let headers = variableHeaders(event, enabled: settings.addVariablesToEvents)
            sendEvent(RayoEvent.answered(headers: headers).element, from: call.jid, to: controller)
        }
        if let join = call.joinAfterAnswer, let dialer = call.dialer {
            calls[uuid]?.joinAfterAnswer = nil
            self.join(nil, uuid: uuid, join, by: dialer)
        }
    }

    private mutating func bridged(_ uuid: String, _ other: String) {
        for (this, peer) in [(uuid, other), (other, uuid)] {
            guard let call = calls[this], !call.joinedCalls.contains(peer) else { continue }
            calls[this]?.joinedCalls.insert(peer)
            touch(this)
            resolve(this) { $0.kind == .join(.call(peer)) }
            if let controller = call.controller {
                sendEvent(RayoEvent.joined(.call(callURI(peer))).element, from: call.jid, to: controller)
            }
        }
    }

    /// The `call-uri` of a call in events: `xmpp:<uuid>@<domain>`, as mod_rayo sent it.
    func callURI(_ uuid: String) -> String { "xmpp:\(uuid)@\(domain)" }

    private mutating func unbridged(_ uuid: String, _ other: String) {
        for (this, peer) in [(uuid, other), (other, uuid)] {
            guard let call = calls[this], call.joinedCalls.contains(peer) else { continue }
            calls[this]?.joinedCalls.remove(peer)
            touch(this)
            resolve(this) { $0.kind == .unjoin(.call(peer)) }
            if let controller = call.controller {
                sendEvent(RayoEvent.unjoined(.call(callURI(peer))).element, from: call.jid, to: controller)
            }
        }
    }

    /// The `conference` application ended on a call still waiting to join: the join failed.
    private mutating func conferenceApplicationEnded(_ uuid: String, _ event: EventSocketEvent) {
        guard let call = calls[uuid] else { return }
        for pending in call.pending {
            guard case .join(.mixer(let name)) = pending.kind, call.mixer != name else { continue }
            let response = event["Application-Response"].map { ": \($0)" } ?? ""
            answer(
                uuid,
                pending.token,
                .failure(StanzaError(.internalServerError, text: "the call could not join mixer \(name)\(response)"))
            )
        }
    }

    // MARK: - Mixers

    private mutating func conferenceEvent(_ event: EventSocketEvent) {
        guard let name = event["Conference-Name"]?.lowercased(), let uuid = event.uniqueID?.lowercased() else { return }
        switch event["Action"] {
        case "add-member":
            guard calls[uuid] != nil else { return }
            memberJoined(uuid, mixer: name, memberID: event["Member-ID"] ?? "")
        case "del-member":
            memberLeft(uuid, mixer: name)
        case "start-talking", "stop-talking":
            guard let mixer = mixers[name], mixer.members.contains(where: { $0.uuid == uuid }) else { return }
            let payload =
                event["Action"] == "start-talking"
                ? RayoEvent.startedSpeaking(callURI: callURI(uuid)) : RayoEvent.stoppedSpeaking(callURI: callURI(uuid))
            sendMixerEvent(payload.element, mixer: name)
        default:
            break
        }
    }

    private mutating func memberJoined(_ uuid: String, mixer name: String, memberID: String) {
        guard let call = calls[uuid] else { return }
        if let previous = call.mixer, previous != name { memberLeft(uuid, mixer: previous) }
        calls[uuid]?.mixer = name
        calls[uuid]?.memberID = memberID
        touch(uuid)
        var mixer = mixers[name] ?? MixerState(name: name)
        mixer.members.removeAll { $0.uuid == uuid }
        mixer.members.append((uuid, memberID))
        mixers[name] = mixer
        resolve(uuid) { $0.kind == .join(.mixer(name)) }
        if let controller = call.controller {
            sendEvent(RayoEvent.joined(.mixer(name)).element, from: call.jid, to: controller)
        }
        sendMixerEvent(RayoEvent.joined(.call(callURI(uuid))).element, mixer: name)
    }

    mutating func memberLeft(_ uuid: String, mixer name: String) {
        guard var mixer = mixers[name], mixer.members.contains(where: { $0.uuid == uuid }) else { return }
        let leaving = calls[uuid]?.controller
        if let call = calls[uuid], call.mixer == name {
            calls[uuid]?.mixer = nil
            calls[uuid]?.memberID = nil
            touch(uuid)
            resolve(uuid) { $0.kind == .unjoin(.mixer(name)) }
            if let controller = call.controller {
                sendEvent(RayoEvent.unjoined(.mixer(name)).element, from: call.jid, to: controller)
            }
        }
        sendMixerEvent(RayoEvent.unjoined(.call(callURI(uuid))).element, mixer: name, also: leaving)
        mixer.members.removeAll { $0.uuid == uuid }
        mixers[name] = mixer.members.isEmpty ? nil : mixer  // destroyed with its last member
    }

    /// A presence from the mixer JID to every client controlling a member call (and `also`).
    private mutating func sendMixerEvent(_ payload: XMLElement, mixer name: String, also extra: JID? = nil) {
        guard let mixer = mixers[name] else { return }
        var recipients: [JID] = []
        for member in mixer.members {
            if let controller = calls[member.uuid]?.controller, !recipients.contains(controller) {
                recipients.append(controller)
            }
        }
        if let extra, !recipients.contains(extra) { recipients.append(extra) }
        for client in recipients { sendEvent(payload, from: "\(name)@\(domain)", to: client) }
    }

    // MARK: - End

    private mutating func hungUp(_ uuid: String, _ event: EventSocketEvent) {
        guard let call = calls[uuid] else { return }
        let cause = event.hangupCause ?? event.variable("hangup_cause") ?? "NORMAL_CLEARING"
        let reason = call.hangupByCommand ? RayoEndReason.hangupCommand : HangupCause.endReason(cause)
        let code =
            event.variable("hangup_cause_q850").flatMap { $0.isEmpty ? nil : $0 }
            ?? HangupCause.q850(cause).map(String.init)
        let headers = variableHeaders(event, enabled: settings.addVariablesToEvents)
        end(uuid, RayoEnd(reason: reason, platformCode: reason == .hangupCommand ? nil : code, headers: headers))
    }

    /// The call is over: components complete (`hangup`), pending IQs are answered, the call leaves its mixer and
    /// joins, `<end>` goes to everyone it was offered to (and its dialer), and the call is forgotten.
    mutating func end(_ uuid: String, _ end: RayoEnd, componentReason: RayoCompletionReason = .hangup) {
        guard let call = calls[uuid] else { return }
        for component in call.components {
            completeComponent(uuid, component.id, reason: RayoComplete(componentReason).reason)
        }
        for pending in calls[uuid]?.pending ?? [] {
            switch pending.kind {
            case .hangup, .reject:
                answer(uuid, pending.token, .success(nil))  // it did end the call
            default:
                answer(uuid, pending.token, .failure(StanzaError(.itemNotFound, text: "the call ended")))
            }
        }
        if let mixer = call.mixer { memberLeft(uuid, mixer: mixer) }
        for peer in call.joinedCalls.sorted() {
            guard let other = calls[peer], other.joinedCalls.contains(uuid) else { continue }
            calls[peer]?.joinedCalls.remove(uuid)
            resolve(peer) { $0.kind == .unjoin(.call(uuid)) }
            if let controller = other.controller {
                sendEvent(RayoEvent.unjoined(.call(callURI(uuid))).element, from: other.jid, to: controller)
            }
        }
        // A pending join of another call to this one can no longer happen.
        for peer in calls.keys.sorted() where peer != uuid {
            for pending in calls[peer]?.pending ?? [] where pending.kind == .join(.call(uuid)) {
                answer(peer, pending.token, .failure(StanzaError(.itemNotFound, text: "call \(uuid) ended")))
            }
        }
        for client in call.endRecipients where clients[client] != nil {
            sendEvent(end.element, from: call.jid, to: client, unavailable: true)
        }
        actions.append(.cancelTimer(TimerID(.offer(call: uuid))))
        actions.append(.cancelTimer(TimerID(.idle(call: uuid))))
        if call.inbound { actions.append(.releaseCall(uuid: uuid)) }
        calls[uuid] = nil
    }

    // MARK: - Pending commands

    /// Answers the pending commands of a call that `matches` with a result (their event arrived).
    mutating func resolve(_ uuid: String, where matches: (PendingCommand) -> Bool) {
        for pending in calls[uuid]?.pending ?? [] where matches(pending) {
            answer(uuid, pending.token, .success(nil))
        }
    }

    /// Answers one pending command (once: it is removed) and forgets it.
    mutating func answer(_ uuid: String, _ token: UInt64, _ outcome: Result<XMLElement?, StanzaError>) {
        guard let index = calls[uuid]?.pending.firstIndex(where: { $0.token == token }),
            let pending = calls[uuid]?.pending.remove(at: index)
        else { return }
        if pending.kind == .hangup, case .failure = outcome { calls[uuid]?.hangupByCommand = false }
        guard let iq = pending.iq else { return }
        switch outcome {
        case .success(let payload): send(XMLElement.resultReply(to: iq, payload: payload))
        case .failure(let error): send(XMLElement.errorReply(to: iq, error: error))
        }
    }

    // MARK: - Replies

    mutating func handleReply(_ id: RequestID, _ reply: SwitchReply) {
        guard let purpose = requests.removeValue(forKey: id) else { return }  // late, after the socket dropped
        let failure = Self.failure(of: reply)
        switch purpose {
        case .ignore:
            break
        case .command(let uuid, let token):
            commandReplied(uuid, token, failure: failure)
        case .dial(let uuid):
            guard let failure, case .failed(let text) = failure, calls[uuid] != nil else { return }
            // The originate failed: `-ERR <CAUSE>`. The end may already have come with CHANNEL_HANGUP_COMPLETE.
            let cause =
                text.hasPrefix("-ERR")
                ? String(text.dropFirst(4).split(whereSeparator: \.isWhitespace).first ?? "") : ""
            let code = HangupCause.q850(cause).map(String.init)
            if calls[uuid]?.hangupByCommand == true {
                end(uuid, RayoEnd(reason: .hangupCommand))
            } else {
                end(uuid, RayoEnd(reason: code == nil ? .error : HangupCause.endReason(cause), platformCode: code))
            }
        case .component(let uuid, let id):
            guard failure != nil else { return }
            completeComponent(uuid, id, reason: RayoComplete(.error).reason)
        }
    }

    /// `nil` for success; the reply itself for a failure (an api body starting `-ERR` included).
    private static func failure(of reply: SwitchReply) -> SwitchReply? {
        switch reply {
        case .ok(let text): text.hasPrefix("-ERR") ? .failed(text) : nil
        case .failed, .disconnected: reply
        }
    }

    private mutating func commandReplied(_ uuid: String, _ token: UInt64, failure: SwitchReply?) {
        guard let call = calls[uuid], let index = call.pending.firstIndex(where: { $0.token == token }) else { return }
        let pending = call.pending[index]
        if case .failed(let text)? = failure, pending.kind == .hangup, call.phase == .dialing,
            text.contains("No such channel")
        {
            // The originate has not created the channel yet: the hangup happens when it appears.
            calls[uuid]?.killWhenSeen = true
            answer(uuid, token, .success(nil))
            calls[uuid]?.hangupByCommand = true
            return
        }
        switch failure {
        case .failed(let text)?:
            let message = text.trimmingWhitespace()
            answer(
                uuid,
                token,
                .failure(
                    StanzaError(
                        .internalServerError,
                        text: message.isEmpty ? "FreeSWITCH refused the command" : message
                    )
                )
            )
            return
        case .disconnected?, .ok?:
            answer(
                uuid,
                token,
                .failure(StanzaError(.serviceUnavailable, text: "the connection to FreeSWITCH dropped"))
            )
            return
        case nil:
            break
        }
        switch pending.kind {
        case .accept, .redirect:
            answer(uuid, token, .success(nil))
        case .reject, .hangup:
            calls[uuid]?.phase = .ending
            answer(uuid, token, .success(nil))
        case .answer:
            if call.answered { answer(uuid, token, .success(nil)) } else { calls[uuid]?.pending[index].replied = true }
        case .join(let target):
            let done: Bool
            switch target {
            case .call(let other): done = call.joinedCalls.contains(other)
            case .mixer(let name): done = call.mixer == name
            }
            if done { answer(uuid, token, .success(nil)) } else { calls[uuid]?.pending[index].replied = true }
        case .unjoin(let target):
            let done: Bool
            switch target {
            case .call(let other): done = !call.joinedCalls.contains(other)
            case .mixer(let name): done = call.mixer != name
            }
            if done { answer(uuid, token, .success(nil)) } else { calls[uuid]?.pending[index].replied = true }
        }
    }

    // MARK: - The event socket

    /// The connection dropped: commands in flight are answered `service-unavailable` (their outcome is unknown),
    /// components complete with `error`, and new commands get `service-unavailable` until it is back.
    mutating func eventSocketLost() {
        eventSocketUp = false
        requests.removeAll()
        for uuid in calls.keys.sorted() {
            guard let call = calls[uuid] else { continue }
            for pending in call.pending {
                answer(
                    uuid,
                    pending.token,
                    .failure(StanzaError(.serviceUnavailable, text: "the connection to FreeSWITCH was lost"))
                )
            }
            for component in call.components {
                completeComponent(uuid, component.id, reason: RayoComplete(.error).reason)
            }
        }
    }

    /// The connection is back: calls FreeSWITCH no longer has ended meanwhile (`<end><error/>`).
    mutating func eventSocketRestored(_ liveCalls: Set<String>) {
        eventSocketUp = true
        for uuid in calls.keys.sorted() where !liveCalls.contains(uuid) {
            end(uuid, RayoEnd(reason: .error), componentReason: .error)
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
