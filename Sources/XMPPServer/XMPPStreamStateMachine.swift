import Logging
import NIOCore
import SwitchboardDiagnostics
import XMPP

/// The c2s protocol of one client connection, without I/O: stream headers, STARTTLS, SASL, resource binding, the
/// stanzas the server answers itself, pings and timeouts. It takes what the parser produced (and the clock) and
/// returns ``Action``s for the channel handler to carry out, so every step is testable without a socket.
///
/// Stages: header → features → [STARTTLS → header → features] → SASL → header → features → bind → stanzas. A
/// stream error is always preceded by the server's stream header when none was sent on the current stream, and
/// followed by `</stream:stream>` and the close.
struct XMPPStreamStateMachine {
    /// What the channel handler must do, in order.
    enum Action: Hashable {
        /// Write this text (batched; flushed once per read).
        case send(String)
        /// `<proceed/>` is written: put TLS in front of the stream and restart the parser.
        case startTLS
        /// Restart the parser for a new stream (after SASL success).
        case resetParser
        /// The client bound this full JID: register it (replacing a session with the same JID) and report it online.
        case bind(JID)
        /// Tell the local service.
        case report(ClientEvent)
        /// Deliver to the connected users `to` names, or, when none, to the local service as `.stanza`.
        case route(XMLElement, to: JID)
        /// Log a line.
        case log(Logger.Level, String)
        /// Flush and close the connection; the stream is over.
        case close
    }

    /// What the state machine needs to know about its server.
    struct Settings: Sendable {
        var domain: JID
        var tlsRequired: Bool
        var credentials: any SASLCredentialStore
        var limiter: FailedLoginLimiter
        var discoFeatures: [String]
        var handshakeTimeout: TimeAmount
        var pingInterval: TimeAmount
        var pingTimeout: TimeAmount
    }

    private enum Stage {
        /// Waiting for the client's `<stream:stream>` (at start, after STARTTLS, after SASL success).
        case awaitingHeader
        /// The stream is open and features were sent.
        case open
        /// A SASL exchange is under way.
        case authenticating(any SASLServerMechanism, mechanism: String)
        /// The stream is over.
        case closed
    }

    /// The prefix of the ids of the server's own pings, whose answers the server consumes.
    static let pingIDPrefix = "sb-ping-"

    private let settings: Settings
    private let peer: [UInt8]
    private var stage = Stage.awaitingHeader
    private var headerSent = false
    private var secured = false
    private var user: JID?
    private(set) var boundJID: JID?
    private var handshakeDeadline: NIODeadline?
    private var lastActivity: NIODeadline
    private var pingSentAt: NIODeadline?
    private var pingsSent = 0

    /// - Parameters:
    ///   - peer: The client's IP address bytes, the key of the failed-login limiter.
    ///   - now: When the connection was accepted; the handshake timeout runs from here.
    init(settings: Settings, peer: [UInt8], now: NIODeadline) {
        self.settings = settings
        self.peer = peer
        self.lastActivity = now
        self.handshakeDeadline = now + settings.handshakeTimeout
    }

    /// Whether the stream is over.
    var isClosed: Bool {
        if case .closed = stage { return true }
        return false
    }

    // MARK: Inputs

    /// Bytes arrived (whitespace keepalives too): the client is alive. Returns `true` when this ends the wait for
    /// the answer to a ping, so the timer should move to ``nextDeadline``.
    mutating func received(now: NIODeadline) -> Bool {
        lastActivity = now
        guard pingSentAt != nil else { return false }
        pingSentAt = nil
        return true
    }

    /// One event from the parser; `contentNamespace` is the default namespace the stream header declared.
    mutating func handle(_ event: XMLStreamEvent, contentNamespace: String? = XMPPNamespace.client) -> [Action] {
        switch (stage, event) {
        case (.closed, _):
            return []
        case (.awaitingHeader, .streamStart(let header)):
            return streamStarted(header, contentNamespace: contentNamespace)
        case (.awaitingHeader, _):
            return fail(.notWellFormed, "expected a stream header")
        case (_, .streamStart):
            return fail(.notWellFormed, "a second stream header on an open stream")
        case (_, .streamEnd):
            stage = .closed
            return [.send(StreamHeader.closing), .log(.debug, "the client closed the stream"), .close]
        case (.open, .stanza(let element)):
            return stanza(element)
        case (.authenticating(let mechanism, let name), .stanza(let element)):
            return sasl(element, mechanism: mechanism, name: name)
        }
    }

    /// The parser refused the bytes.
    mutating func parseFailed(_ error: XMLStreamError) -> [Action] {
        fail(error.streamErrorCondition, error.message)
    }

    /// The server is shutting down.
    mutating func shutDown() -> [Action] {
        fail(.systemShutdown, "the server is shutting down", level: .info)
    }

    /// Another login bound the same full JID.
    mutating func replaced() -> [Action] {
        fail(.conflict, "replaced by a new login with the same resource", level: .info)
    }

    /// The timer fired: what is due now, and when to look again (`nil`: never).
    mutating func timerFired(now: NIODeadline) -> (actions: [Action], next: NIODeadline?) {
        if isClosed { return ([], nil) }
        if let deadline = handshakeDeadline, boundJID == nil {
            if now >= deadline {
                return (fail(.connectionTimeout, "no resource bound within the handshake timeout"), nil)
            }
            return ([], deadline)
        }
        guard let jid = boundJID else { return ([], nil) }
        if let sent = pingSentAt {
            let deadline = sent + settings.pingTimeout
            if now >= deadline {
                return (fail(.connectionTimeout, "no answer to the server's ping"), nil)
            }
            return ([], deadline)
        }
        let idleDeadline = lastActivity + settings.pingInterval
        guard now >= idleDeadline else { return ([], idleDeadline) }
        pingsSent += 1
        pingSentAt = now
        let ping = XMLElement(
            "iq",
            [
                "from": settings.domain.description, "to": jid.description, "type": "get",
                "id": "\(Self.pingIDPrefix)\(pingsSent)",
            ],
            children: [.element(XMLElement("ping", namespace: XMPPNamespace.ping))]
        )
        return ([.send(ping.serialized(inScopeNamespace: XMPPNamespace.client))], now + settings.pingTimeout)
    }

    /// When the timer should fire next: the handshake deadline until a resource is bound, then the end of the
    /// ping interval (or of the ping timeout while a ping is unanswered).
    var nextDeadline: NIODeadline? {
        if isClosed { return nil }
        guard boundJID != nil else { return handshakeDeadline }
        if let sent = pingSentAt { return sent + settings.pingTimeout }
        return lastActivity + settings.pingInterval
    }

    // MARK: Stream headers and features

    private mutating func streamStarted(_ header: XMLElement, contentNamespace: String?) -> [Action] {
        var actions = [Action.send(serverHeader())]
        headerSent = true
        guard header.name == "stream", header.namespace == XMPPNamespace.stream else {
            return actions + fail(.invalidNamespace, "the stream element is not {\(XMPPNamespace.stream)}stream")
        }
        guard contentNamespace == XMPPNamespace.client else {
            let shown = contentNamespace.map { "'\($0.loggable)'" } ?? "none"
            return actions
                + fail(.invalidNamespace, "the stream's default namespace must be 'jabber:client', not \(shown)")
        }
        guard let to = header[attribute: "to"] else {
            return actions + fail(.hostUnknown, "the stream header has no 'to'")
        }
        guard JID(to) == settings.domain else {
            return actions + fail(.hostUnknown, "this server serves '\(settings.domain)', not '\(to.loggable)'")
        }
        guard let version = header[attribute: "version"], version.split(separator: ".").first == "1" else {
            let shown = header[attribute: "version"].map { "'\($0.loggable)'" } ?? "none"
            return actions + fail(.unsupportedVersion, "XMPP version 1.0 is required, the header says \(shown)")
        }
        stage = .open
        actions.append(.send(features()))
        return actions
    }

    private func serverHeader() -> String {
        // After authentication the header names the client's account (RFC 6120 §4.7.2).
        StreamHeader.server(domain: settings.domain.description, id: RandomID.uuid(), to: user?.description)
    }

    private func features() -> String {
        var features = XMLElement("features", namespace: XMPPNamespace.stream)
        if settings.tlsRequired && !secured {
            features.append(
                XMLElement("starttls", namespace: XMPPNamespace.tls, children: [.element(XMLElement("required"))])
            )
        } else if user == nil {
            var mechanisms = XMLElement("mechanisms", namespace: XMPPNamespace.sasl)
            for name in SASLMechanisms.supported {
                mechanisms.append(XMLElement("mechanism", children: [.text(name)]))
            }
            features.append(mechanisms)
        } else {
            features.append(XMLElement("bind", namespace: XMPPNamespace.bind))
            features.append(
                XMLElement("session", namespace: XMPPNamespace.session, children: [.element(XMLElement("optional"))])
            )
        }
        return Self.serializeStreamChild(features)
    }

    /// `<stream:features>` and `<stream:error>` carry the `stream:` prefix the header declared.
    static func serializeStreamChild(_ element: XMLElement) -> String {
        var inner = ""
        for child in element.children {
            switch child {
            case .element(let element): element.write(into: &inner, inScopeNamespace: XMPPNamespace.client)
            case .text(let text): XMLEscaping.appendText(text, to: &inner)
            }
        }
        return "<stream:\(element.name)>\(inner)</stream:\(element.name)>"
    }

    // MARK: Stanzas by stage

    private mutating func stanza(_ element: XMLElement) -> [Action] {
        if settings.tlsRequired && !secured {
            return beforeTLS(element)
        }
        if element.name == "starttls", element.namespace == XMPPNamespace.tls {
            stage = .closed
            return [
                .send("<failure xmlns='\(XMPPNamespace.tls)'/>\(StreamHeader.closing)"),
                .log(.info, "STARTTLS refused: \(secured ? "already secured" : "TLS is not configured")"),
                .close,
            ]
        }
        guard let user else { return beforeAuthentication(element) }
        guard let jid = boundJID else { return beforeBinding(element, user: user) }
        guard ["iq", "message", "presence"].contains(element.name) else {
            return fail(.unsupportedStanzaType, "\(element.loggableName) is not a stanza")
        }
        guard element.namespace == XMPPNamespace.client else {
            return fail(.invalidNamespace, "\(element.loggableName): stanzas are in '\(XMPPNamespace.client)'")
        }
        return bound(element, jid: jid)
    }

    private mutating func beforeTLS(_ element: XMLElement) -> [Action] {
        guard element.name == "starttls", element.namespace == XMPPNamespace.tls else {
            return fail(.policyViolation, "STARTTLS is required before \(element.loggableName)")
        }
        // From here on every byte read has passed through TLS: the handler puts it in front before reading more.
        secured = true
        stage = .awaitingHeader
        headerSent = false
        return [.send("<proceed xmlns='\(XMPPNamespace.tls)'/>"), .startTLS]
    }

    private mutating func beforeAuthentication(_ element: XMLElement) -> [Action] {
        guard element.namespace == XMPPNamespace.sasl else {
            return fail(.notAuthorized, "\(element.loggableName) before authentication")
        }
        switch element.name {
        case "auth":
            let name = element[attribute: "mechanism"] ?? ""
            if settings.limiter.isBlocked(peer, now: lastActivity) {
                stage = .closed
                let failure = SASLFailure(.temporaryAuthFailure, text: "too many failed logins; try again later")
                return [
                    .send(failure.element.serialized(inScopeNamespace: XMPPNamespace.client) + StreamHeader.closing),
                    .log(.warning, "login refused: too many failed logins from this address"),
                    .close,
                ]
            }
            guard
                var mechanism = SASLMechanisms.server(
                    named: name,
                    domain: settings.domain.domainpart,
                    credentials: settings.credentials
                )
            else {
                return saslFailed(
                    SASLFailure(.invalidMechanism, text: "unsupported mechanism"),
                    mechanism: name,
                    counts: false
                )
            }
            let initial: [UInt8]?
            do {
                initial = try SASLBase64.decodeInitialResponse(element.text)
            } catch {
                return saslFailed(error, mechanism: name, counts: true)
            }
            return saslStep(mechanism.start(initialResponse: initial), mechanism: mechanism, name: name)
        case "abort":
            return [.send(SASLFailure(.aborted).element.serialized(inScopeNamespace: XMPPNamespace.client))]
        default:
            return saslFailed(SASLFailure(.malformedRequest), mechanism: "?", counts: false)
        }
    }

    private mutating func sasl(_ element: XMLElement, mechanism: any SASLServerMechanism, name: String) -> [Action] {
        guard element.namespace == XMPPNamespace.sasl else {
            return fail(.notAuthorized, "\(element.loggableName) during authentication")
        }
        switch element.name {
        case "response":
            let bytes: [UInt8]
            do {
                bytes = try SASLBase64.decodeResponse(element.text)
            } catch {
                stage = .open
                return saslFailed(error, mechanism: name, counts: true)
            }
            var mechanism = mechanism
            return saslStep(mechanism.respond(bytes), mechanism: mechanism, name: name)
        case "abort":
            stage = .open
            return [
                .send(SASLFailure(.aborted).element.serialized(inScopeNamespace: XMPPNamespace.client)),
                .log(.debug, "the client aborted \(name)"),
            ]
        default:
            stage = .open
            return saslFailed(SASLFailure(.malformedRequest), mechanism: name, counts: true)
        }
    }

    private mutating func saslStep(_ step: SASLStep, mechanism: any SASLServerMechanism, name: String) -> [Action] {
        switch step {
        case .challenge(let data):
            stage = .authenticating(mechanism, mechanism: name)
            let element = XMLElement(
                "challenge",
                namespace: XMPPNamespace.sasl,
                children: [.text(SASLBase64.encode(data))]
            )
            return [.send(element.serialized(inScopeNamespace: XMPPNamespace.client))]
        case .success(let username, let additionalData):
            guard let jid = JID(localpart: username, domainpart: settings.domain.domainpart) else {
                stage = .open
                return saslFailed(SASLFailure(.notAuthorized), mechanism: name, counts: true)
            }
            user = jid
            stage = .awaitingHeader
            headerSent = false
            let element = XMLElement(
                "success",
                namespace: XMPPNamespace.sasl,
                children: additionalData.map { [.text(SASLBase64.encode($0))] } ?? []
            )
            return [
                .send(element.serialized(inScopeNamespace: XMPPNamespace.client)), .resetParser,
                .log(.info, "authenticated \(jid) with \(name)"),
            ]
        case .failure(let failure):
            stage = .open
            return saslFailed(failure, mechanism: name, counts: true)
        }
    }

    private func saslFailed(_ failure: SASLFailure, mechanism: String, counts: Bool) -> [Action] {
        if counts { settings.limiter.recordFailure(peer, now: lastActivity) }
        return [
            .send(failure.element.serialized(inScopeNamespace: XMPPNamespace.client)),
            .log(.warning, "login failed (\(mechanism.loggable)): \(failure.condition.rawValue)"),
        ]
    }

    private mutating func beforeBinding(_ element: XMLElement, user: JID) -> [Action] {
        guard element.name == "iq", element.namespace == XMPPNamespace.client, element[attribute: "type"] == "set",
            let bind = element.child("bind", namespace: XMPPNamespace.bind)
        else {
            return fail(.notAuthorized, "\(element.loggableName) before a resource was bound")
        }
        let requested = bind.child("resource")?.text ?? ""
        let resource = requested.isEmpty ? RandomID.uuid() : requested
        guard let jid = user.with(resource: resource) else {
            let reply = XMLElement.errorReply(
                to: element,
                error: StanzaError(.badRequest, text: "the resource is not a valid resourcepart")
            )
            return [.send(reply.serialized(inScopeNamespace: XMPPNamespace.client))]
        }
        boundJID = jid
        handshakeDeadline = nil
        let payload = XMLElement(
            "bind",
            namespace: XMPPNamespace.bind,
            children: [.element(XMLElement("jid", children: [.text(jid.description)]))]
        )
        var reply = XMLElement("iq", ["type": "result", "id": element[attribute: "id"]])
        reply.append(payload)
        // The result is queued before the session is registered: whatever the service sends on `.online` follows it.
        return [
            .send(reply.serialized(inScopeNamespace: XMPPNamespace.client)), .bind(jid),
            .log(.info, "bound \(jid)"),
        ]
    }

    // MARK: Bound stanzas

    private func bound(_ element: XMLElement, jid: JID) -> [Action] {
        var stanza = element
        stanza[attribute: "from"] = jid.description
        guard let toText = stanza[attribute: "to"] else {
            switch stanza.name {
            case "presence": return broadcastPresence(stanza, jid: jid)
            case "iq": return serverIQ(stanza, jid: jid, original: element)
            default: return []  // a message to the sender's own account: nothing to deliver it to
            }
        }
        guard let to = JID(toText) else {
            return stanzaError(stanza, StanzaError(.jidMalformed, text: "'to' is not a valid JID"))
        }
        guard to.domainpart == settings.domain.domainpart else {
            return stanzaError(stanza, StanzaError(.remoteServerNotFound, text: "this server talks to no other server"))
        }
        if to == settings.domain || (stanza.name == "iq" && to == jid.bare) {
            if stanza.name == "iq" { return serverIQ(stanza, jid: jid, original: element) }
            return [.report(.stanza(stanza, from: jid))]
        }
        return [.route(stanza, to: to)]
    }

    private func broadcastPresence(_ stanza: XMLElement, jid: JID) -> [Action] {
        switch stanza[attribute: "type"] {
        case nil:
            let show = stanza.child("show").flatMap { ClientPresence.Show(rawValue: $0.text) }
            return [.report(.presence(jid, .available(show: show)))]
        case "unavailable":
            return [.report(.presence(jid, .unavailable))]
        default:
            return []  // subscriptions and probes: no roster here
        }
    }

    private func serverIQ(_ stanza: XMLElement, jid: JID, original: XMLElement) -> [Action] {
        let type = stanza[attribute: "type"]
        switch type {
        case "result", "error":
            if let id = stanza[attribute: "id"], id.hasPrefix(Self.pingIDPrefix) { return [] }
            return [.report(.stanza(stanza, from: jid))]
        case "get", "set":
            break
        default:
            return stanzaError(
                stanza,
                StanzaError(.badRequest, text: "an iq needs a type of get, set, result or error")
            )
        }
        guard stanza.elements.count == 1, let payload = stanza.elements.first else {
            return stanzaError(stanza, StanzaError(.badRequest, text: "an iq get or set carries exactly one payload"))
        }
        switch (type, payload.namespace, payload.name) {
        case ("get", XMPPNamespace.ping, "ping"):
            return result(stanza)
        case ("get", XMPPNamespace.discoInfo, "query"):
            var query = XMLElement("query", namespace: XMPPNamespace.discoInfo)
            query.append(XMLElement("identity", ["category": "server", "type": "im", "name": "Switchboard"]))
            var features = [XMPPNamespace.discoInfo, XMPPNamespace.discoItems, XMPPNamespace.ping]
            for feature in settings.discoFeatures where !features.contains(feature) { features.append(feature) }
            for feature in features { query.append(XMLElement("feature", ["var": feature])) }
            return result(stanza, payload: query)
        case ("get", XMPPNamespace.discoItems, "query"):
            return result(stanza, payload: XMLElement("query", namespace: XMPPNamespace.discoItems))
        case ("get", XMPPNamespace.roster, "query"):
            return result(stanza, payload: XMLElement("query", namespace: XMPPNamespace.roster))
        case ("set", XMPPNamespace.roster, "query"):
            return stanzaError(stanza, StanzaError(.notAllowed, text: "this server keeps no roster"))
        case ("set", XMPPNamespace.session, "session"):
            // As mod_rayo answered: a bare result, no addresses.
            let reply = XMLElement("iq", ["type": "result", "id": original[attribute: "id"]])
            return [.send(reply.serialized(inScopeNamespace: XMPPNamespace.client))]
        case ("set", XMPPNamespace.bind, "bind"):
            return stanzaError(stanza, StanzaError(.notAllowed, text: "a resource is already bound"))
        default:
            if stanza[attribute: "to"].flatMap(JID.init) == jid.bare {
                return stanzaError(stanza, StanzaError(.serviceUnavailable))
            }
            return [.report(.stanza(stanza, from: jid))]
        }
    }

    private func result(_ request: XMLElement, payload: XMLElement? = nil) -> [Action] {
        var reply = XMLElement.resultReply(to: request, payload: payload)
        if reply[attribute: "from"] == nil { reply[attribute: "from"] = settings.domain.description }
        return [.send(reply.serialized(inScopeNamespace: XMPPNamespace.client))]
    }

    private func stanzaError(_ request: XMLElement, _ error: StanzaError) -> [Action] {
        // An error is never answered with an error; a result needs no answer.
        guard request[attribute: "type"] != "error", request[attribute: "type"] != "result" else { return [] }
        var reply = XMLElement.errorReply(to: request, error: error)
        if reply[attribute: "from"] == nil { reply[attribute: "from"] = settings.domain.description }
        return [.send(reply.serialized(inScopeNamespace: XMPPNamespace.client))]
    }

    // MARK: Stream errors

    /// Ends the stream with a stream error: the server's header first when none was sent on this stream.
    private mutating func fail(
        _ condition: StreamError.Condition,
        _ text: String,
        level: Logger.Level = .warning
    ) -> [Action] {
        guard !isClosed else { return [] }
        var output = headerSent ? "" : serverHeader()
        output += StreamError(condition, text: text).serialized
        output += StreamHeader.closing
        stage = .closed
        return [.send(output), .log(level, "stream error \(condition.rawValue): \(text)"), .close]
    }
}

extension XMLElement {
    /// `{namespace}name`, safe to log.
    var loggableName: String {
        "<\(name.loggable)\(namespace.map { " xmlns='\($0.loggable)'" } ?? "")>"
    }
}
