import XMPP

/// A stanza error the Rayo layer answers with, with mod_rayo's error types.
///
/// Kept internal: the XMPP layer's `StanzaError` is the general model; this one only carries what Rayo replies
/// need and builds the same `<error>` element.
struct RayoStanzaError: Error, Sendable, Hashable {
    enum Condition: String, Sendable, Hashable {
        case badRequest = "bad-request"
        case conflict
        case featureNotImplemented = "feature-not-implemented"
        case internalServerError = "internal-server-error"
        case itemNotFound = "item-not-found"
        case notAllowed = "not-allowed"
        case notAuthorized = "not-authorized"
        case resourceConstraint = "resource-constraint"
        case serviceUnavailable = "service-unavailable"
        case unexpectedRequest = "unexpected-request"

        /// The error type mod_rayo used with each condition.
        var type: String {
            switch self {
            case .badRequest, .featureNotImplemented, .unexpectedRequest: "modify"
            case .notAuthorized: "auth"
            case .resourceConstraint: "wait"
            default: "cancel"
            }
        }
    }

    var condition: Condition
    var text: String?

    init(_ condition: Condition, _ text: String? = nil) {
        self.condition = condition
        self.text = text
    }

    init(_ parseError: RayoParseError) {
        self.init(.badRequest, parseError.message)
    }

    /// `<error type='…'><condition xmlns='…stanzas'/><text …>…</text></error>`.
    var element: XMLElement {
        var error = XMLElement("error", attributes: [XMLAttribute("type", condition.type)])
        error.append(XMLElement(condition.rawValue, namespace: XMPPNamespace.stanzas))
        if let text {
            error.append(
                XMLElement(
                    "text",
                    namespace: XMPPNamespace.stanzas,
                    attributes: [XMLAttribute("xml:lang", "en")],
                    children: [.text(text)]
                )
            )
        }
        return error
    }
}

/// Building the stanzas the Rayo layer sends.
enum Stanza {
    /// The error answer to `request` (an `iq` or `message`): same id, `from` and `to` swapped, the request's payload
    /// echoed, then the error, as mod_rayo answered.
    static func error(to request: XMLElement, _ error: RayoStanzaError) -> XMLElement {
        var reply = XMLElement(request.name, namespace: request.namespace)
        reply[attribute: "type"] = "error"
        if let id = request[attribute: "id"] { reply[attribute: "id"] = id }
        if let from = request[attribute: "to"] { reply[attribute: "from"] = from }
        if let to = request[attribute: "from"] { reply[attribute: "to"] = to }
        if let payload = request.elements.first { reply.append(payload) }
        reply.append(error.element)
        return reply
    }

    /// The `result` answer to an `iq`, with an optional payload.
    static func result(to request: XMLElement, payload: XMLElement? = nil) -> XMLElement {
        var reply = XMLElement("iq", namespace: request.namespace)
        if let from = request[attribute: "to"] { reply[attribute: "from"] = from }
        if let to = request[attribute: "from"] { reply[attribute: "to"] = to }
        reply[attribute: "type"] = "result"
        if let id = request[attribute: "id"] { reply[attribute: "id"] = id }
        if let payload { reply.append(payload) }
        return reply
    }

    /// A presence from `from` to `to` with `payload`, an optional `type`, and a XEP-0203 `<delay>` stamped `stamp`.
    static func presence(
        from: String,
        to: String,
        type: String? = nil,
        payload: [XMLElement],
        stamp: String
    ) -> XMLElement {
        var presence = XMLElement("presence", ["from": from, "to": to, "type": type])
        for element in payload { presence.append(element) }
        presence.append(XMLElement("delay", namespace: XMPPNamespace.delay, ["stamp": stamp]))
        return presence
    }

    /// The XEP-0115 caps element mod_rayo put on offers (node `urn:xmpp:rayo:call:1`).
    static let callCaps = XMLElement(
        "c",
        namespace: XMPPNamespace.caps,
        ["hash": "sha-1", "node": RayoNamespace.call, "ver": "L9rOKMEJl9rssEggArljiapRd9k="]
    )
}

/// XEP-0082 timestamps from Unix time, without Foundation.
enum Timestamp {
    /// `2026-11-23T07:01:38Z` for `seconds` since 1970-01-01T00:00:00Z.
    static func xmpp(unixSeconds seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondsOfDay = seconds - days * 86_400
        // Civil date from days since the epoch (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondsOfDay / 3600)):\(two(secondsOfDay / 60 % 60))"
            + ":\(two(secondsOfDay % 60))Z"
    }
}
