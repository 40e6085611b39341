import XMPP

extension StanzaError {
    /// A malformed Rayo request: `bad-request` with the parse error's message, as mod_rayo answered.
    init(_ parseError: RayoParseError) {
        self.init(.badRequest, text: parseError.message)
    }
}

/// Building the stanzas the Rayo layer sends.
enum Stanza {
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
