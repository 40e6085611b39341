/// A stream-level error (RFC 6120 §4.9): sent as `<stream:error>` right before the server closes the stream.
public struct StreamError: Error, Sendable, Hashable {
    /// The defined stream error conditions of RFC 6120 §4.9.3.
    public enum Condition: String, Sendable, Hashable, CaseIterable {
        /// The entity sent XML that cannot be processed.
        case badFormat = "bad-format"
        /// A prefix was used without a namespace declaration.
        case badNamespacePrefix = "bad-namespace-prefix"
        /// A new stream for this entity replaces this one.
        case conflict
        /// The peer said nothing for too long.
        case connectionTimeout = "connection-timeout"
        /// The `to` domain is no longer served here.
        case hostGone = "host-gone"
        /// The `to` domain is not served here.
        case hostUnknown = "host-unknown"
        /// A stanza lacks a required `to` or `from`.
        case improperAddressing = "improper-addressing"
        /// The server broke.
        case internalServerError = "internal-server-error"
        /// A `from` address does not match the authenticated one.
        case invalidFrom = "invalid-from"
        /// The stream or content namespace is wrong.
        case invalidNamespace = "invalid-namespace"
        /// The XML is invalid against the schema.
        case invalidXML = "invalid-xml"
        /// Something was sent before authentication.
        case notAuthorized = "not-authorized"
        /// The XML is not well formed (includes invalid UTF-8).
        case notWellFormed = "not-well-formed"
        /// A local policy (a size or depth limit, a rate) was violated.
        case policyViolation = "policy-violation"
        /// A remote server could not be reached.
        case remoteConnectionFailed = "remote-connection-failed"
        /// The server resets the stream (e.g. security-relevant state changed).
        case reset
        /// The server lacks resources to serve the stream.
        case resourceConstraint = "resource-constraint"
        /// A DTD, comment, processing instruction or entity reference was sent (RFC 6120 §11.1).
        case restrictedXML = "restricted-xml"
        /// The client should connect to another host.
        case seeOtherHost = "see-other-host"
        /// The server is shutting down.
        case systemShutdown = "system-shutdown"
        /// Any other error.
        case undefinedCondition = "undefined-condition"
        /// An encoding other than UTF-8 was used.
        case unsupportedEncoding = "unsupported-encoding"
        /// A required stream feature is not supported.
        case unsupportedFeature = "unsupported-feature"
        /// A top-level element that is not a stanza was sent.
        case unsupportedStanzaType = "unsupported-stanza-type"
        /// The stream `version` is not supported.
        case unsupportedVersion = "unsupported-version"
    }

    /// The condition.
    public var condition: Condition
    /// A human-readable explanation, sent in a `<text xml:lang='en'>` child when not `nil`.
    public var text: String?

    /// Creates a stream error.
    public init(_ condition: Condition, text: String? = nil) {
        self.condition = condition
        self.text = text
    }

    /// The `<stream:error>` element, e.g. `<stream:error><not-well-formed
    /// xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`. The `stream` prefix is the one the stream
    /// header declared.
    public var serialized: String {
        var output = "<stream:error><" + condition.rawValue + " xmlns='" + XMPPNamespace.streams + "'/>"
        if let text {
            output += "<text xml:lang='en' xmlns='" + XMPPNamespace.streams + "'>"
            XMLEscaping.appendText(text, to: &output)
            output += "</text>"
        }
        output += "</stream:error>"
        return output
    }
}

/// The opening and closing tags of a client-to-server stream (RFC 6120 §4.7).
public enum StreamHeader {
    /// The server's response stream header for `domain`, with the stream `id`, preceded by an XML declaration:
    /// `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'
    /// from='rayo.localhost' id='…' xml:lang='en' version='1.0'>`. `to` is the client's JID when its header had a
    /// `from` (RFC 6120 §4.7.2).
    public static func server(domain: String, id: String, to: String? = nil) -> String {
        var output = "<?xml version='1.0'?><stream:stream xmlns='" + XMPPNamespace.client + "' xmlns:stream='"
        output += XMPPNamespace.stream + "' "
        if let to {
            output += "to='"
            XMLEscaping.appendAttributeValue(to, to: &output)
            output += "' "
        }
        output += "from='"
        XMLEscaping.appendAttributeValue(domain, to: &output)
        output += "' id='"
        XMLEscaping.appendAttributeValue(id, to: &output)
        output += "' xml:lang='en' version='1.0'>"
        return output
    }

    /// A client's initial stream header to `domain`, preceded by an XML declaration, as the fixtures' client sent it.
    public static func client(to domain: String) -> String {
        var output = "<?xml version='1.0'?><stream:stream to='"
        XMLEscaping.appendAttributeValue(domain, to: &output)
        output += "' xmlns='" + XMPPNamespace.client + "' xmlns:stream='" + XMPPNamespace.stream + "' version='1.0'>"
        return output
    }

    /// The end of a stream.
    public static let closing = "</stream:stream>"
}
