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
