import XMPP

/// A command of `urn:xmpp:rayo:1`: the payload of an `iq type='set'` to a call JID, or `<dial>` to the server.
public enum RayoCommand: Sendable, Hashable {
    /// `<accept>`: tell the caller the call is being handled (ringing, or early media when `earlyMedia`).
    ///
    /// `earlyMedia` is Switchboard's `early-media='true'` attribute: `pre_answer` (183) instead of `ring_ready` (180).
    case accept(headers: [RayoHeader], earlyMedia: Bool)
    /// `<answer>`.
    case answer(headers: [RayoHeader])
    /// `<redirect to>`: REFER when answered, 302 when an unanswered inbound call.
    case redirect(to: String, headers: [RayoHeader])
    /// `<reject>` with `<busy/>`, `<decline/>` or `<error/>`.
    case reject(reason: RayoRejectReason, headers: [RayoHeader])
    /// `<hangup>`.
    case hangup(headers: [RayoHeader])
    /// `<join>` another call or a mixer.
    case join(RayoJoin)
    /// `<unjoin>` from a call or a mixer.
    case unjoin(RayoJoinTarget)
    /// `<dial>` a new call (sent to the server JID).
    case dial(RayoDial)

    /// The element names of the commands, for disco and error messages.
    public static let names = ["accept", "answer", "redirect", "reject", "hangup", "join", "unjoin", "dial"]

    /// Parses a command; `nil` when the element is not a Rayo command this server knows (answered
    /// feature-not-implemented), a ``RayoParseError`` when it is one but malformed (answered bad-request).
    public static func parse(_ element: XMLElement) throws(RayoParseError) -> RayoCommand? {
        guard element.namespace == RayoNamespace.core else { return nil }
        let element = element.resolved()
        let headers = try RayoHeader.headers(in: element)
        switch element.name {
        case "accept":
            let earlyMedia = try RayoAttribute.bool(element, "early-media") ?? false
            return .accept(headers: headers, earlyMedia: earlyMedia)
        case "answer":
            return .answer(headers: headers)
        case "redirect":
            let to = try RayoAttribute.required(element, "to")
            try RayoAttribute.checkSingleToken(to, element: "redirect", attribute: "to")
            return .redirect(to: to, headers: headers)
        case "reject":
            let reasons = element.elements.filter { $0.name != "header" }
            guard reasons.count <= 1 else {
                throw RayoParseError(element: "reject", message: "reject has more than one reason")
            }
            guard let reasonElement = reasons.first else { return .reject(reason: .decline, headers: headers) }
            guard let reason = RayoRejectReason(rawValue: reasonElement.name) else {
                throw RayoParseError(
                    element: "reject",
                    message: "reject reason '\(reasonElement.name)' is not busy, decline or error"
                )
            }
            return .reject(reason: reason, headers: headers)
        case "hangup":
            return .hangup(headers: headers)
        case "join":
            return .join(try RayoJoin(parsing: element))
        case "unjoin":
            return .unjoin(try RayoJoinTarget(parsing: element))
        case "dial":
            return .dial(try RayoDial(parsing: element))
        default:
            return nil
        }
    }

    /// The command as an element in `urn:xmpp:rayo:1`.
    public var element: XMLElement {
        func command(
            _ name: String,
            _ attributes: KeyValuePairs<String, String?> = [:],
            headers: [RayoHeader]
        )
            -> XMLElement
        {
            XMLElement(name, namespace: RayoNamespace.core, attributes, children: headers.map { .element($0.element) })
        }
        switch self {
        case .accept(let headers, let earlyMedia):
            return command("accept", ["early-media": earlyMedia ? "true" : nil], headers: headers)
        case .answer(let headers):
            return command("answer", headers: headers)
        case .redirect(let to, let headers):
            return command("redirect", ["to": to], headers: headers)
        case .reject(let reason, let headers):
            var element = command("reject", headers: [])
            element.append(XMLElement(reason.rawValue))
            for header in headers { element.append(header.element) }
            return element
        case .hangup(let headers):
            return command("hangup", headers: headers)
        case .join(let join):
            return join.element
        case .unjoin(let target):
            var element = XMLElement("unjoin", namespace: RayoNamespace.core)
            target.addAttributes(to: &element)
            return element
        case .dial(let dial):
            return dial.element
        }
    }
}

/// Why a call is rejected, and the hangup cause it becomes.
public enum RayoRejectReason: String, Sendable, Hashable, CaseIterable {
    /// `USER_BUSY` (486).
    case busy
    /// `CALL_REJECTED` (603).
    case decline
    /// `NORMAL_TEMPORARY_FAILURE` (503).
    case error

    /// The FreeSWITCH hangup cause.
    public var hangupCause: String {
        switch self {
        case .busy: "USER_BUSY"
        case .decline: "CALL_REJECTED"
        case .error: "NORMAL_TEMPORARY_FAILURE"
        }
    }
}

/// The other side of a join: a call or a mixer.
public enum RayoJoinTarget: Sendable, Hashable {
    /// A call, by uuid (from `call-uri`, which may be `xmpp:<uuid>@domain`, `<uuid>@domain` or the uuid).
    case call(String)
    /// A mixer, by name.
    case mixer(String)

    /// Reads `call-uri` or `mixer-name` (exactly one).
    public init(parsing element: XMLElement) throws(RayoParseError) {
        let name = element.name
        switch (element[attribute: "call-uri"], element[attribute: "mixer-name"]) {
        case (let uri?, nil):
            var id = Substring(uri)
            if id.hasPrefix("xmpp:") { id = id.dropFirst(5) }
            if let at = id.firstIndex(of: "@") { id = id[..<at] }
            guard RayoAttribute.isIdentifier(id) else {
                throw RayoParseError(element: name, message: "\(name) call-uri '\(uri)' does not name a call")
            }
            self = .call(id.lowercased())
        case (nil, let mixer?):
            guard RayoAttribute.isIdentifier(Substring(mixer)) else {
                throw RayoParseError(
                    element: name,
                    message: "\(name) mixer-name '\(mixer)' must be letters, digits, '-', '_' or '.'"
                )
            }
            self = .mixer(mixer.lowercased())
        case (nil, nil):
            throw RayoParseError(element: name, message: "missing \(name) call-uri or mixer-name attribute")
        case (.some, .some):
            throw RayoParseError(element: name, message: "\(name) has both call-uri and mixer-name")
        }
    }

    /// Sets `call-uri` (the uuid) or `mixer-name`.
    func addAttributes(to element: inout XMLElement) {
        switch self {
        case .call(let uuid): element[attribute: "call-uri"] = uuid
        case .mixer(let name): element[attribute: "mixer-name"] = name
        }
    }
}

/// Which way media flows in a join, seen from the commanded call.
public enum RayoJoinDirection: String, Sendable, Hashable, CaseIterable {
    /// Both ways.
    case duplex
    /// From this call to the other side only (in a mixer: the call cannot hear, `deaf`).
    case send
    /// From the other side to this call only (in a mixer: the call cannot speak, `mute`).
    case recv
}

/// How media is joined.
public enum RayoJoinMedia: String, Sendable, Hashable, CaseIterable {
    /// Through the switch.
    case bridge
    /// Directly between the endpoints (FreeSWITCH bridges either way).
    case direct
}

/// `<join>`: a call or mixer to join, with direction and media.
public struct RayoJoin: Sendable, Hashable {
    /// What to join.
    public var target: RayoJoinTarget
    /// Media direction (default duplex).
    public var direction: RayoJoinDirection
    /// Media mode (default bridge).
    public var media: RayoJoinMedia

    /// Creates a join.
    public init(target: RayoJoinTarget, direction: RayoJoinDirection = .duplex, media: RayoJoinMedia = .bridge) {
        self.target = target
        self.direction = direction
        self.media = media
    }

    /// Parses `<join>`.
    public init(parsing element: XMLElement) throws(RayoParseError) {
        let target = try RayoJoinTarget(parsing: element)
        var direction = RayoJoinDirection.duplex
        if let text = element[attribute: "direction"] {
            guard let value = RayoJoinDirection(rawValue: text) else {
                throw RayoParseError(
                    element: "join",
                    message: "join direction '\(text)' is not duplex, send or recv"
                )
            }
            direction = value
        }
        var media = RayoJoinMedia.bridge
        if let text = element[attribute: "media"] {
            guard let value = RayoJoinMedia(rawValue: text) else {
                throw RayoParseError(element: "join", message: "join media '\(text)' is not bridge or direct")
            }
            media = value
        }
        self.init(target: target, direction: direction, media: media)
    }

    /// `<join xmlns='urn:xmpp:rayo:1' call-uri|mixer-name direction media/>`.
    public var element: XMLElement {
        var element = XMLElement("join", namespace: RayoNamespace.core)
        target.addAttributes(to: &element)
        element[attribute: "direction"] = direction.rawValue
        element[attribute: "media"] = media.rawValue
        return element
    }
}

/// `<dial to from timeout uri>`: a new outbound call.
public struct RayoDial: Sendable, Hashable {
    /// Whom to call: a URI routed by the dial gateways, or a dial string; may start with `{var=value,…}`.
    public var to: String
    /// The caller id (a URI or number).
    public var from: String?
    /// How long the call may ring.
    public var timeout: Duration?
    /// The requested call JID (`xmpp:<uuid>@domain` or `<uuid>@domain`); its localpart becomes the call's uuid.
    public var uri: String?
    /// SIP headers for the INVITE.
    public var headers: [RayoHeader]
    /// A join performed once the call is answered.
    public var join: RayoJoin?

    /// Creates a dial.
    public init(
        to: String,
        from: String? = nil,
        timeout: Duration? = nil,
        uri: String? = nil,
        headers: [RayoHeader] = [],
        join: RayoJoin? = nil
    ) {
        self.to = to
        self.from = from
        self.timeout = timeout
        self.uri = uri
        self.headers = headers
        self.join = join
    }

    /// Parses `<dial>`; errors read like mod_rayo's (`missing dial to attribute`).
    public init(parsing element: XMLElement) throws(RayoParseError) {
        let to = try RayoAttribute.required(element, "to")
        try RayoAttribute.checkSingleToken(to, element: "dial", attribute: "to")
        let from = element[attribute: "from"]
        if let from { try RayoAttribute.checkSingleToken(from, element: "dial", attribute: "from") }
        var timeout: Duration?
        if let text = element[attribute: "timeout"] {
            guard let milliseconds = Int64(text), milliseconds >= 0, milliseconds <= 86_400_000 else {
                throw RayoParseError(
                    element: "dial",
                    message: "dial timeout '\(text)' is not a number of milliseconds (0 to 86400000)"
                )
            }
            timeout = .milliseconds(milliseconds)
        }
        let uri = element[attribute: "uri"]
        let joins = element.children("join", namespace: RayoNamespace.core)
        guard joins.count <= 1 else { throw RayoParseError(element: "dial", message: "dial has more than one join") }
        self.init(
            to: to,
            from: from,
            timeout: timeout,
            uri: uri,
            headers: try RayoHeader.headers(in: element),
            join: try joins.first.map { element throws(RayoParseError) in try RayoJoin(parsing: element) }
        )
    }

    /// The uuid requested by ``uri``: the localpart of the JID (lowercased), `nil` when no uri was given.
    /// Throws when the uri does not name a usable uuid.
    public func requestedUUID() throws(RayoParseError) -> String? {
        guard let uri else { return nil }
        var id = Substring(uri)
        if id.hasPrefix("xmpp:") { id = id.dropFirst(5) }
        if let at = id.firstIndex(of: "@") { id = id[..<at] }
        guard RayoAttribute.isIdentifier(id), id.count <= 64 else {
            throw RayoParseError(element: "dial", message: "dial uri '\(uri)' does not name a call id")
        }
        return id.lowercased()
    }

    /// `<dial xmlns='urn:xmpp:rayo:1' …>` with headers and join.
    public var element: XMLElement {
        var element = XMLElement(
            "dial",
            namespace: RayoNamespace.core,
            [
                "to": to, "from": from,
                "timeout": timeout.map {
                    String($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000)
                },
                "uri": uri,
            ]
        )
        for header in headers { element.append(header.element) }
        if let join { element.append(join.element) }
        return element
    }
}

/// Attribute reading with errors that name the element and attribute.
enum RayoAttribute {
    static func required(_ element: XMLElement, _ name: String) throws(RayoParseError) -> String {
        guard let value = element[attribute: name], !value.isEmpty else {
            throw RayoParseError(element: element.name, message: "missing \(element.name) \(name) attribute")
        }
        return value
    }

    static func bool(_ element: XMLElement, _ name: String) throws(RayoParseError) -> Bool? {
        guard let value = element[attribute: name] else { return nil }
        switch value {
        case "true", "1": return true
        case "false", "0": return false
        default:
            throw RayoParseError(
                element: element.name,
                message: "\(element.name) \(name) '\(value)' is not true or false"
            )
        }
    }

    /// A value that goes into a FreeSWITCH command line: no whitespace or control characters.
    static func checkSingleToken(_ value: String, element: String, attribute: String) throws(RayoParseError) {
        guard !value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0 == "\u{7F}" })
        else {
            throw RayoParseError(element: element, message: "\(element) \(attribute) '\(value)' contains whitespace")
        }
    }

    /// Letters, digits, `-`, `_`, `.`: safe as a JID localpart, a conference name and a uuid.
    static func isIdentifier(_ value: Substring) -> Bool {
        !value.isEmpty && value.count <= 128
            && value.unicodeScalars.allSatisfy {
                switch $0 {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
                default: false
                }
            }
    }
}
