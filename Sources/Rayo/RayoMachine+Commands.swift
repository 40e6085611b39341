import EventSocket
import XMPP

extension RayoMachine {
    /// An IQ to a call JID the client may see.
    mutating func callIQ(_ iq: XMLElement, payload: XMLElement, from client: JID, uuid: String) {
        let parsed: RayoCommand?
        do {
            parsed = try RayoCommand.parse(payload)
        } catch {
            send(XMLElement.errorReply(to: iq, error: StanzaError(error)))
            return
        }
        guard let command = parsed else {
            if let factory = componentFactories.first(where: {
                $0.namespace == payload.namespace && $0.name == payload.name
            }) {
                guard takeControl(iq, uuid: uuid, client: client) else { return }
                startComponent(iq, payload: payload, factory: factory, uuid: uuid, owner: client)
            } else {
                send(XMLElement.errorReply(to: iq, error: Self.unsupported(payload)))
            }
            return
        }
        guard iq[attribute: "type"] == "set" else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.badRequest, text: "\(payload.name) is an iq of type set")
                )
            )
            return
        }
        if case .dial = command {
            send(XMLElement.errorReply(to: iq, error: StanzaError(.badRequest, text: "dial is sent to the server JID")))
            return
        }
        guard takeControl(iq, uuid: uuid, client: client), let call = calls[uuid] else { return }
        guard call.phase != .ending else {
            send(XMLElement.errorReply(to: iq, error: StanzaError(.unexpectedRequest, text: "the call is ending")))
            return
        }
        touch(uuid)
        switch command {
        case .accept(let headers, let earlyMedia): accept(iq, call, headers: headers, earlyMedia: earlyMedia)
        case .answer(let headers): answer(iq, call, headers: headers)
        case .redirect(let to, let headers): redirect(iq, call, to: to, headers: headers)
        case .reject(let reason, let headers): reject(iq, call, reason: reason, headers: headers)
        case .hangup(let headers): hangup(iq, call, headers: headers)
        case .join(let join): self.join(iq, uuid: uuid, join, by: client)
        case .unjoin(let target): unjoin(iq, call, target)
        case .dial: break
        }
    }

    /// The first client to send a valid command to an offered call controls it; others get `conflict`. Commands
    /// need the event socket: while it is down they get `service-unavailable`.
    private mutating func takeControl(_ iq: XMLElement, uuid: String, client: JID) -> Bool {
        guard let call = calls[uuid] else {
            notFound(iq)
            return false
        }
        if let controller = call.controller, controller != client {
            send(
                XMLElement.errorReply(to: iq, error: StanzaError(.conflict, text: "another client controls this call"))
            )
            return false
        }
        guard eventSocketUp else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.serviceUnavailable, text: "FreeSWITCH is not connected")
                )
            )
            return false
        }
        if call.controller == nil {
            calls[uuid]?.controller = client
            actions.append(.cancelTimer(TimerID(.offer(call: uuid))))
        }
        return true
    }

    private mutating func addPending(_ uuid: String, iq: XMLElement?, _ kind: PendingCommand.Kind) -> RequestPurpose {
        let token = makeToken()
        calls[uuid]?.pending.append(PendingCommand(token: token, iq: iq, kind: kind))
        return .command(uuid: uuid, token: token)
    }

    /// Sets each header as the channel variable `<prefix><name>` (uuid_setvar), before the command that sends it.
    private mutating func setHeaders(_ headers: [RayoHeader], prefix: String, uuid: String) {
        for header in headers {
            execute(.api("uuid_setvar \(uuid) \(prefix)\(header.name) \(header.value)"), for: .ignore)
        }
    }

    private mutating func accept(_ iq: XMLElement, _ call: CallState, headers: [RayoHeader], earlyMedia: Bool) {
        guard call.inbound else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.unexpectedRequest, text: "an outbound call cannot be accepted")
                )
            )
            return
        }
        guard !call.answered else {
            send(XMLElement.resultReply(to: iq))  // nothing left to signal
            return
        }
        setHeaders(headers, prefix: "sip_rh_", uuid: call.uuid)
        if call.phase == .offered { calls[call.uuid]?.phase = .accepted }
        let purpose = addPending(call.uuid, iq: iq, .accept)
        execute(
            .execute(uuid: call.uuid, application: earlyMedia ? "pre_answer" : "ring_ready", argument: nil),
            for: purpose
        )
    }

    private mutating func answer(_ iq: XMLElement, _ call: CallState, headers: [RayoHeader]) {
        guard !call.answered else {
            send(XMLElement.resultReply(to: iq))
            return
        }
        guard call.inbound else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.unexpectedRequest, text: "an outbound call is answered by the called party")
                )
            )
            return
        }
        guard !call.pending.contains(where: { $0.kind == .answer }) else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.unexpectedRequest, text: "an answer is already in progress")
                )
            )
            return
        }
        setHeaders(headers, prefix: "sip_rh_", uuid: call.uuid)
        let purpose = addPending(call.uuid, iq: iq, .answer)
        execute(.execute(uuid: call.uuid, application: "answer", argument: nil), for: purpose)
    }

    private mutating func redirect(_ iq: XMLElement, _ call: CallState, to: String, headers: [RayoHeader]) {
        if call.answered {
            setHeaders(headers, prefix: "sip_h_", uuid: call.uuid)
            let purpose = addPending(call.uuid, iq: iq, .redirect)
            execute(.api("uuid_deflect \(call.uuid) \(to)"), for: purpose)
        } else if call.inbound {
            setHeaders(headers, prefix: "sip_rh_", uuid: call.uuid)
            let purpose = addPending(call.uuid, iq: iq, .redirect)
            execute(.execute(uuid: call.uuid, application: "redirect", argument: to), for: purpose)
        } else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(
                        .unexpectedRequest,
                        text: "an unanswered outbound call cannot be redirected; hang it up"
                    )
                )
            )
        }
    }

    private mutating func reject(_ iq: XMLElement, _ call: CallState, reason: RayoRejectReason, headers: [RayoHeader]) {
        guard call.inbound, !call.answered else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(
                        .unexpectedRequest,
                        text: "only an unanswered inbound call can be rejected; hang it up"
                    )
                )
            )
            return
        }
        setHeaders(headers, prefix: "sip_rh_", uuid: call.uuid)
        let purpose = addPending(call.uuid, iq: iq, .reject)
        execute(.api("uuid_kill \(call.uuid) \(reason.hangupCause)"), for: purpose)
    }

    private mutating func hangup(_ iq: XMLElement, _ call: CallState, headers: [RayoHeader]) {
        setHeaders(headers, prefix: call.answered ? "sip_bye_h_" : "sip_rh_", uuid: call.uuid)
        calls[call.uuid]?.hangupByCommand = true
        let purpose = addPending(call.uuid, iq: iq, .hangup)
        execute(.api("uuid_kill \(call.uuid) NORMAL_CLEARING"), for: purpose)
    }

    /// Joins the call to another call (`uuid_bridge`, result on CHANNEL_BRIDGE) or to a mixer (`conference`
    /// application, result on the member's add-member event). One join or unjoin at a time per call.
    /// `iq == nil` for a dial's nested join.
    mutating func join(_ iq: XMLElement?, uuid: String, _ join: RayoJoin, by client: JID) {
        guard let call = calls[uuid] else { return }
        func fail(_ error: StanzaError) {
            if let iq { send(XMLElement.errorReply(to: iq, error: error)) }
        }
        guard !call.joinInProgress else {
            return fail(StanzaError(.unexpectedRequest, text: "a join or unjoin is already in progress on this call"))
        }
        switch join.target {
        case .call(let other):
            guard other != uuid else { return fail(StanzaError(.badRequest, text: "a call cannot join itself")) }
            guard let peer = calls[other], canSee(peer, client) else {
                return fail(StanzaError(.itemNotFound, text: "no call \(other) to join"))
            }
            if let owner = peer.controller, owner != client {
                return fail(StanzaError(.conflict, text: "another client controls call \(other)"))
            }
            guard join.direction == .duplex else {
                return fail(
                    StanzaError(.featureNotImplemented, text: "calls are joined duplex; use a mixer for one-way media")
                )
            }
            guard peer.phase != .ending else {
                return fail(StanzaError(.unexpectedRequest, text: "call \(other) is ending"))
            }
            if call.joinedCalls.contains(other) {
                if let iq { send(XMLElement.resultReply(to: iq)) }
                return
            }
            let purpose = addPending(uuid, iq: iq, .join(join.target))
            // When either side leaves the bridge, the other stays under Rayo's control, parked (as mod_rayo).
            for leg in [uuid, other] { execute(.api("uuid_setvar \(leg) park_after_bridge true"), for: .ignore) }
            execute(.api("uuid_bridge \(uuid) \(other)"), for: purpose)
        case .mixer(let name):
            if call.mixer == name {
                if let iq { send(XMLElement.resultReply(to: iq)) }
                return
            }
            if let current = call.mixer {
                return fail(StanzaError(.unexpectedRequest, text: "the call is in mixer \(current); unjoin it first"))
            }
            let flags: String
            switch join.direction {
            case .duplex: flags = ""
            case .send: flags = "+flags{deaf}"
            case .recv: flags = "+flags{mute}"
            }
            let purpose = addPending(uuid, iq: iq, .join(join.target))
            execute(
                .execute(
                    uuid: uuid,
                    application: "conference",
                    argument: "\(name)@\(settings.mixerConferenceProfile)\(flags)"
                ),
                for: purpose
            )
        }
    }

    private mutating func unjoin(_ iq: XMLElement, _ call: CallState, _ target: RayoJoinTarget) {
        guard !call.joinInProgress else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.unexpectedRequest, text: "a join or unjoin is already in progress on this call")
                )
            )
            return
        }
        switch target {
        case .call(let other):
            guard call.joinedCalls.contains(other) else {
                send(
                    XMLElement.errorReply(
                        to: iq,
                        error: StanzaError(.unexpectedRequest, text: "the call is not joined to \(other)")
                    )
                )
                return
            }
            let purpose = addPending(call.uuid, iq: iq, .unjoin(target))
            execute(.api("uuid_transfer \(call.uuid) -both park inline"), for: purpose)
        case .mixer(let name):
            guard call.mixer == name, let member = call.memberID else {
                send(
                    XMLElement.errorReply(
                        to: iq,
                        error: StanzaError(.unexpectedRequest, text: "the call is not in mixer \(name)")
                    )
                )
                return
            }
            let purpose = addPending(call.uuid, iq: iq, .unjoin(target))
            execute(.api("conference \(name) hup \(member)"), for: purpose)
        }
    }

    // MARK: - Dial

    /// `<dial>`: originate with `bgapi`, answer `<ref>` at once (as mod_rayo); ringing, answered and end follow.
    mutating func dial(_ iq: XMLElement, _ dial: RayoDial, from client: JID) {
        guard eventSocketUp else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.serviceUnavailable, text: "FreeSWITCH is not connected")
                )
            )
            return
        }
        guard !draining else {
            send(
                XMLElement.errorReply(
                    to: iq,
                    error: StanzaError(.serviceUnavailable, text: "the service is shutting down")
                )
            )
            return
        }
        let command: String
        let uuid: String
        do {
            uuid = try dial.requestedUUID() ?? generateUUID()
            command = try originateCommand(dial, uuid: uuid)
        } catch {
            send(XMLElement.errorReply(to: iq, error: StanzaError(error)))
            return
        }
        guard calls[uuid] == nil else {
            send(XMLElement.errorReply(to: iq, error: StanzaError(.conflict, text: "call \(uuid) already exists")))
            return
        }
        var call = CallState(uuid: uuid, domain: domain, inbound: false, phase: .dialing, now: clock)
        call.dialer = client
        call.controller = client
        call.joinAfterAnswer = dial.join
        calls[uuid] = call
        send(XMLElement.resultReply(to: iq, payload: RayoRef(jid: call.jid).element))
        execute(.backgroundAPI(command), for: .dial(uuid: uuid))
        if let maxIdle = settings.maxIdle {
            actions.append(.startTimer(TimerID(.idle(call: uuid)), maxIdle))
        }
    }

    /// `originate {vars}<dial string> &park()`.
    func originateCommand(_ dial: RayoDial, uuid: String) throws(RayoParseError) -> String {
        var target = Substring(dial.to)
        var userVariables: Substring?
        if target.hasPrefix("{") {
            guard let close = target.firstIndex(of: "}") else {
                throw RayoParseError(element: "dial", message: "dial to '\(dial.to)' opens '{' without closing it")
            }
            userVariables = target[target.index(after: target.startIndex)..<close]
            target = target[target.index(after: close)...]
        }
        guard !target.isEmpty else {
            throw RayoParseError(element: "dial", message: "dial to '\(dial.to)' has no destination")
        }
        var variables = ["origination_uuid=\(uuid)"]
        if let from = dial.from {
            var number = Substring(from)
            for scheme in ["sip:", "sips:", "tel:"] where number.hasPrefix(scheme) {
                number = number.dropFirst(scheme.count)
            }
            if let at = number.firstIndex(of: "@") { number = number[..<at] }
            variables.append("origination_caller_id_number=\(try Self.variableValue(String(number), "from"))")
        }
        if let timeout = dial.timeout {
            let (seconds, attoseconds) = timeout.components
            variables.append("originate_timeout=\(max(1, seconds + (attoseconds > 0 ? 1 : 0)))")
        }
        for header in dial.headers {
            variables.append("sip_h_\(header.name)=\(try Self.variableValue(header.value, "header \(header.name)"))")
        }
        variables.append("rayo_dialed=true")
        // A dialed call outlives its bridges: when the other side hangs up, it parks, still Rayo's.
        variables.append("park_after_bridge=true")
        variables.append("hangup_after_bridge=false")
        if let userVariables, !userVariables.isEmpty { variables.append(String(userVariables)) }
        return "originate {\(variables.joined(separator: ","))}\(dialString(for: String(target))) &park()"
    }

    /// A value inside the originate's `{…}` block, escaped so that it reaches the channel unchanged; what no
    /// escaping carries (control characters, `${`, unpaired braces) is refused.
    private static func variableValue(_ value: String, _ what: String) throws(RayoParseError) -> String {
        if let problem = DialStringEscaping.problem(with: value) {
            throw RayoParseError(element: "dial", message: "dial \(what) value '\(value)' \(problem)")
        }
        return DialStringEscaping.originateValue(value)
    }

    /// Routes `to` through the dial gateways: the longest matching `uriPrefix`, else `default`, else `to` itself.
    /// As in mod_rayo, FreeSWITCH dial strings (`user…`, `sofia…`, `loopback…`) go as they are unless a configured
    /// gateway claims their prefix.
    func dialString(for to: String) -> String {
        let configured = Set(settings.dialGateways.map(\.uriPrefix))
        let builtIn = ["user", "sofia", "loopback"].filter { !configured.contains($0) }.map {
            DialGateway(uriPrefix: $0, dialPrefix: "", strip: 0)
        }
        let gateway =
            (settings.dialGateways + builtIn)
            .filter { $0.uriPrefix != DialGateway.defaultPrefix && to.hasPrefix($0.uriPrefix) }
            .max { $0.uriPrefix.count < $1.uriPrefix.count }
            ?? settings.dialGateways.first { $0.uriPrefix == DialGateway.defaultPrefix }
        guard let gateway else { return to }
        return gateway.dialPrefix + to.dropFirst(max(0, gateway.strip))
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
