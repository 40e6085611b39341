import XMPP

/// An event of `urn:xmpp:rayo:1`: the payload of a presence from a call or mixer JID.
public enum RayoEvent: Sendable, Hashable {
    /// `<offer to from>` with headers: a call for the client.
    case offer(to: String, from: String, headers: [RayoHeader])
    /// `<ringing>`: the far end of a dialed call rings.
    case ringing(headers: [RayoHeader])
    /// `<answered>`.
    case answered(headers: [RayoHeader])
    /// `<joined call-uri|mixer-name>`.
    case joined(RayoJoinTarget)
    /// `<unjoined call-uri|mixer-name>`.
    case unjoined(RayoJoinTarget)
    /// `<started-speaking call-uri>` from a mixer.
    case startedSpeaking(callURI: String)
    /// `<stopped-speaking call-uri>` from a mixer.
    case stoppedSpeaking(callURI: String)
    /// `<end>` with its reason (in a presence of type unavailable).
    case end(RayoEnd)

    /// Parses an event; `nil` when the element is not one.
    public static func parse(_ element: XMLElement) throws(RayoParseError) -> RayoEvent? {
        guard element.namespace == RayoNamespace.core else { return nil }
        let element = element.resolved()
        switch element.name {
        case "offer":
            return .offer(
                to: element[attribute: "to"] ?? "",
                from: element[attribute: "from"] ?? "",
                headers: try RayoHeader.headers(in: element)
            )
        case "ringing": return .ringing(headers: try RayoHeader.headers(in: element))
        case "answered": return .answered(headers: try RayoHeader.headers(in: element))
        case "joined": return .joined(try RayoJoinTarget(parsing: element))
        case "unjoined": return .unjoined(try RayoJoinTarget(parsing: element))
        case "started-speaking":
            return .startedSpeaking(callURI: try RayoAttribute.required(element, "call-uri"))
        case "stopped-speaking":
            return .stoppedSpeaking(callURI: try RayoAttribute.required(element, "call-uri"))
        case "end": return .end(try RayoEnd(parsing: element))
        default: return nil
        }
    }

    /// The event as an element in `urn:xmpp:rayo:1`.
    public var element: XMLElement {
        func event(
            _ name: String,
            _ attributes: KeyValuePairs<String, String?> = [:],
            headers: [RayoHeader] = []
        )
            -> XMLElement
        {
            XMLElement(name, namespace: RayoNamespace.core, attributes, children: headers.map { .element($0.element) })
        }
        switch self {
        case .offer(let to, let from, let headers): return event("offer", ["from": from, "to": to], headers: headers)
        case .ringing(let headers): return event("ringing", headers: headers)
        case .answered(let headers): return event("answered", headers: headers)
        case .joined(let target):
            var element = event("joined")
            target.addAttributes(to: &element)
            return element
        case .unjoined(let target):
            var element = event("unjoined")
            target.addAttributes(to: &element)
            return element
        case .startedSpeaking(let uri): return event("started-speaking", ["call-uri": uri])
        case .stoppedSpeaking(let uri): return event("stopped-speaking", ["call-uri": uri])
        case .end(let end): return end.element
        }
    }
}

/// Why a call ended, as `<end>` says it.
public enum RayoEndReason: String, Sendable, Hashable, CaseIterable {
    /// The far end hung up (or the call ended normally).
    case hungup
    /// A client's `<hangup>` ended it.
    case hangupCommand = "hangup-command"
    /// Nobody answered in time (NO_ANSWER, NO_USER_RESPONSE, ALLOTTED_TIMEOUT, …).
    case timeout
    /// The far end was busy.
    case busy
    /// The far end rejected the call.
    case rejected
    /// The call failed.
    case error
}

/// `<end>`: the reason, its Q.850 code and headers.
public struct RayoEnd: Sendable, Hashable {
    /// The reason.
    public var reason: RayoEndReason
    /// The Q.850 cause code as text (`16`, `41`), the `platform-code` attribute of the reason.
    public var platformCode: String?
    /// Headers (channel variables when `addVariablesToEvents`).
    public var headers: [RayoHeader]

    /// Creates an end.
    public init(reason: RayoEndReason, platformCode: String? = nil, headers: [RayoHeader] = []) {
        self.reason = reason
        self.platformCode = platformCode
        self.headers = headers
    }

    /// Parses `<end>`.
    public init(parsing element: XMLElement) throws(RayoParseError) {
        let reasons = element.elements.filter { $0.name != "header" }
        guard let reasonElement = reasons.first, let reason = RayoEndReason(rawValue: reasonElement.name) else {
            throw RayoParseError(element: "end", message: "end has no known reason")
        }
        self.init(
            reason: reason,
            platformCode: reasonElement[attribute: "platform-code"],
            headers: try RayoHeader.headers(in: element)
        )
    }

    /// `<end xmlns='urn:xmpp:rayo:1'><reason platform-code='…'/>…headers</end>`.
    public var element: XMLElement {
        var end = XMLElement("end", namespace: RayoNamespace.core)
        end.append(XMLElement(reason.rawValue, ["platform-code": platformCode]))
        for header in headers { end.append(header.element) }
        return end
    }
}

/// `<ref uri='xmpp:…'/>`: the result of a dial or a component start.
public struct RayoRef: Sendable, Hashable {
    /// The referenced JID as a URI (`xmpp:<uuid>@domain`, `xmpp:<uuid>@domain/output-1`).
    public var uri: String

    /// Creates a ref.
    public init(uri: String) { self.uri = uri }

    /// A ref to a JID.
    public init(jid: String) { self.uri = "xmpp:" + jid }

    /// Parses `<ref>`.
    public init(parsing element: XMLElement) throws(RayoParseError) {
        self.uri = try RayoAttribute.required(element, "uri")
    }

    /// `<ref xmlns='urn:xmpp:rayo:1' uri='…'/>`.
    public var element: XMLElement { XMLElement("ref", namespace: RayoNamespace.core, ["uri": uri]) }
}

/// `<stop xmlns='urn:xmpp:rayo:ext:1'/>`: the command every component accepts.
public struct RayoStop: Sendable, Hashable {
    /// Creates the command.
    public init() {}

    /// Whether `element` is the stop command.
    public static func matches(_ element: XMLElement) -> Bool {
        element.name == "stop" && element.namespace == RayoNamespace.ext
    }

    /// The element.
    public var element: XMLElement { XMLElement("stop", namespace: RayoNamespace.ext) }
}

/// The completion reasons common to every component (`urn:xmpp:rayo:ext:complete:1`).
public enum RayoCompletionReason: String, Sendable, Hashable, CaseIterable {
    /// A client's `<stop/>` ended it.
    case stop
    /// The call hung up.
    case hangup
    /// It failed (or the event socket was lost).
    case error

    /// `<stop xmlns='urn:xmpp:rayo:ext:complete:1'/>`, …
    public var element: XMLElement { XMLElement(rawValue, namespace: RayoNamespace.extComplete) }
}

/// `<complete xmlns='urn:xmpp:rayo:ext:1'>` around one reason element (of ext:complete or a component's own
/// completion namespace), in the unavailable presence that ends a component.
public struct RayoComplete: Sendable, Hashable {
    /// The reason element (`<finish xmlns='urn:xmpp:rayo:output:complete:1'/>`, `<hangup xmlns='…ext:complete:1'/>`).
    public var reason: XMLElement

    /// Wraps a reason element.
    public init(reason: XMLElement) { self.reason = reason }

    /// A common reason.
    public init(_ reason: RayoCompletionReason) { self.reason = reason.element }

    /// Parses `<complete>`.
    public init(parsing element: XMLElement) throws(RayoParseError) {
        guard element.name == "complete", element.namespace == RayoNamespace.ext else {
            throw RayoParseError(element: element.name, message: "not a complete element")
        }
        guard let reason = element.elements.first else {
            throw RayoParseError(element: "complete", message: "complete has no reason")
        }
        self.reason = reason
    }

    /// The element.
    public var element: XMLElement {
        XMLElement("complete", namespace: RayoNamespace.ext, children: [.element(reason)])
    }
}
