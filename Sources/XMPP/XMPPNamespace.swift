/// Namespace URIs of the XMPP core and of the extensions Switchboard speaks.
public enum XMPPNamespace {
    /// The client stream's default namespace.
    public static let client = "jabber:client"
    /// The stream element's namespace (`stream:` prefix).
    public static let stream = "http://etherx.jabber.org/streams"
    /// Stream error conditions.
    public static let streams = "urn:ietf:params:xml:ns:xmpp-streams"
    /// Stanza error conditions.
    public static let stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
    /// STARTTLS.
    public static let tls = "urn:ietf:params:xml:ns:xmpp-tls"
    /// SASL.
    public static let sasl = "urn:ietf:params:xml:ns:xmpp-sasl"
    /// Resource binding.
    public static let bind = "urn:ietf:params:xml:ns:xmpp-bind"
    /// The legacy session establishment (RFC 3921), advertised optional.
    public static let session = "urn:ietf:params:xml:ns:xmpp-session"
    /// XEP-0199 ping.
    public static let ping = "urn:xmpp:ping"
    /// XEP-0030 disco#info.
    public static let discoInfo = "http://jabber.org/protocol/disco#info"
    /// XEP-0030 disco#items.
    public static let discoItems = "http://jabber.org/protocol/disco#items"
    /// XEP-0115 entity capabilities.
    public static let caps = "http://jabber.org/protocol/caps"
    /// XEP-0203 delayed delivery.
    public static let delay = "urn:xmpp:delay"
    /// The roster (RFC 6121); answered empty.
    public static let roster = "jabber:iq:roster"
}
