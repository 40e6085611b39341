/// A stanza error (RFC 6120 §8.3): the `<error>` child of an `iq`, `message` or `presence` of type `error`.
public struct StanzaError: Error, Sendable, Hashable {
    /// The defined stanza error conditions of RFC 6120 §8.3.3.
    public enum Condition: String, Sendable, Hashable, CaseIterable {
        /// The request is malformed (a missing or bad attribute or child).
        case badRequest = "bad-request"
        /// The resource or session already exists.
        case conflict
        /// The feature or command is not implemented.
        case featureNotImplemented = "feature-not-implemented"
        /// The requester lacks permission.
        case forbidden
        /// The recipient or server can no longer be contacted at this address.
        case gone
        /// The server broke.
        case internalServerError = "internal-server-error"
        /// The addressed entity (call, mixer, component) does not exist.
        case itemNotFound = "item-not-found"
        /// A JID is malformed.
        case jidMalformed = "jid-malformed"
        /// The request violates a rule of the recipient.
        case notAcceptable = "not-acceptable"
        /// No entity may do this.
        case notAllowed = "not-allowed"
        /// The sender must authenticate first (or is not the controlling party).
        case notAuthorized = "not-authorized"
        /// A local policy was violated.
        case policyViolation = "policy-violation"
        /// The recipient is temporarily unavailable.
        case recipientUnavailable = "recipient-unavailable"
        /// The recipient moved.
        case redirect
        /// Registration is required.
        case registrationRequired = "registration-required"
        /// A remote server does not exist.
        case remoteServerNotFound = "remote-server-not-found"
        /// A remote server did not answer in time.
        case remoteServerTimeout = "remote-server-timeout"
        /// The server lacks resources (e.g. too many calls).
        case resourceConstraint = "resource-constraint"
        /// The service does not serve this request.
        case serviceUnavailable = "service-unavailable"
        /// A subscription is required.
        case subscriptionRequired = "subscription-required"
        /// Any other error.
        case undefinedCondition = "undefined-condition"
        /// The request was understood but not expected now (e.g. a command for a component that completed).
        case unexpectedRequest = "unexpected-request"

        /// The error type mod_rayo used for this condition (FreeSWITCH's `iks_helpers.h`), which Rayo clients have
        /// seen for years: e.g. `modify` for `bad-request` and `feature-not-implemented`, `cancel` for
        /// `item-not-found`, `wait` for `internal-server-error` and `unexpected-request`.
        public var defaultType: ErrorType {
            switch self {
            case .badRequest, .featureNotImplemented, .gone, .jidMalformed, .notAcceptable, .policyViolation,
                .redirect:
                .modify
            case .conflict, .itemNotFound, .notAllowed, .remoteServerNotFound, .serviceUnavailable:
                .cancel
            case .forbidden, .notAuthorized, .registrationRequired, .subscriptionRequired:
                .auth
            case .internalServerError, .recipientUnavailable, .remoteServerTimeout, .resourceConstraint,
                .undefinedCondition, .unexpectedRequest:
                .wait
            }
        }
    }

    /// What the sender should do about the error (RFC 6120 §8.3.2).
    public enum ErrorType: String, Sendable, Hashable, CaseIterable {
        /// Do not retry.
        case cancel
        /// Retry after changing the data.
        case modify
        /// Retry after providing credentials.
        case auth
        /// Retry later.
        case wait
        /// Proceed; the condition was only a warning.
        case `continue`
    }

    /// The condition.
    public var condition: Condition
    /// The error type; defaults to the condition's ``Condition/defaultType``.
    public var type: ErrorType
    /// A human-readable explanation, sent in a `<text xml:lang='en'>` child when not `nil`.
    public var text: String?

    /// Creates a stanza error; `type` defaults to the condition's usual type.
    public init(_ condition: Condition, type: ErrorType? = nil, text: String? = nil) {
        self.condition = condition
        self.type = type ?? condition.defaultType
        self.text = text
    }

    /// The `<error>` element: `<error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text
    /// xml:lang='en' xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>…</text></error>`. Its own namespace is left to
    /// inherit the stanza's.
    public var element: XMLElement {
        var error = XMLElement("error", attributes: [XMLAttribute("type", type.rawValue)])
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

    /// Reads the `<error>` child of an error stanza; `nil` when there is none or its condition is unknown.
    public init?(stanza: XMLElement) {
        guard let error = stanza.child("error") else { return nil }
        var found: Condition?
        var text: String?
        for child in error.elements where child.namespace == XMPPNamespace.stanzas {
            if child.name == "text" {
                text = child.text
            } else if found == nil, let condition = Condition(rawValue: child.name) {
                found = condition
            }
        }
        guard let found else { return nil }
        self.init(found, type: error[attribute: "type"].flatMap(ErrorType.init(rawValue:)), text: text)
    }
}

extension XMLElement {
    /// The error answer to `request` as mod_rayo shaped it: same name and `id`, `type='error'`, `to` and `from`
    /// swapped, the request's first child element (the payload) echoed, then the `<error>`.
    public static func errorReply(to request: XMLElement, error: StanzaError) -> XMLElement {
        var reply = XMLElement(request.name, namespace: request.namespace)
        reply.attributes = replyAttributes(to: request, type: "error")
        if let payload = request.elements.first(where: { $0.name != "error" }) {
            reply.append(payload)
        }
        reply.append(error.element)
        return reply
    }

    /// The `type='result'` answer to an `iq`: same `id`, `to` and `from` swapped, with `payload` as its only child.
    public static func resultReply(to request: XMLElement, payload: XMLElement? = nil) -> XMLElement {
        var reply = XMLElement(request.name, namespace: request.namespace)
        reply.attributes = replyAttributes(to: request, type: "result")
        if let payload { reply.append(payload) }
        return reply
    }

    private static func replyAttributes(to request: XMLElement, type: String) -> [XMLAttribute] {
        var attributes = [XMLAttribute("type", type)]
        if let id = request[attribute: "id"] { attributes.append(XMLAttribute("id", id)) }
        if let from = request[attribute: "from"] { attributes.append(XMLAttribute("to", from)) }
        if let to = request[attribute: "to"] { attributes.append(XMLAttribute("from", to)) }
        return attributes
    }
}
