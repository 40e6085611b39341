import Crypto
import Foundation

/// XEP-0203 delayed-delivery stamps, which mod_rayo put on every presence it sent.
public enum XMPPDelay {
    /// `<delay xmlns='urn:xmpp:delay' stamp='2026-11-23T07:04:34Z'/>` for `stamp` (whole seconds, UTC), with a
    /// `from` attribute when given.
    public static func element(stamp: Date, from: String? = nil) -> XMLElement {
        element(secondsSince1970: Int64(stamp.timeIntervalSince1970.rounded(.down)), from: from)
    }

    /// `<delay xmlns='urn:xmpp:delay' stamp='…'/>` for a Unix time in seconds.
    public static func element(secondsSince1970 seconds: Int64, from: String? = nil) -> XMLElement {
        XMLElement(
            "delay",
            namespace: XMPPNamespace.delay,
            ["from": from, "stamp": timestamp(secondsSince1970: seconds)]
        )
    }

    /// The XEP-0082 date-time `YYYY-MM-DDThh:mm:ssZ` of a Unix time in seconds (proleptic Gregorian, UTC).
    public static func timestamp(secondsSince1970 seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var text = ""
        text.reserveCapacity(20)
        append(Int(year), width: 4, to: &text)
        text += "-"
        append(Int(month), width: 2, to: &text)
        text += "-"
        append(Int(day), width: 2, to: &text)
        text += "T"
        append(secondOfDay / 3600, width: 2, to: &text)
        text += ":"
        append(secondOfDay / 60 % 60, width: 2, to: &text)
        text += ":"
        append(secondOfDay % 60, width: 2, to: &text)
        text += "Z"
        return text
    }

    private static func append(_ value: Int, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
        text += digits
    }
}

/// An XEP-0030 identity, as XEP-0115 hashes it.
public struct DiscoIdentity: Sendable, Hashable {
    /// The category (`client`, `server`, `component`).
    public var category: String
    /// The type within the category (`pc`, `im`, `generic`).
    public var type: String
    /// The `xml:lang` of the name, if any.
    public var language: String?
    /// The human-readable name, if any.
    public var name: String?

    /// Creates an identity.
    public init(category: String, type: String, language: String? = nil, name: String? = nil) {
        self.category = category
        self.type = type
        self.language = language
        self.name = name
    }

    /// The `<identity>` element of a disco#info answer.
    public var element: XMLElement {
        XMLElement("identity", ["category": category, "type": type, "xml:lang": language, "name": name])
    }
}

/// XEP-0115 entity capabilities: the `<c>` element mod_rayo put on offers.
public enum XMPPCaps {
    /// `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='…' ver='…'/>` with the verification string
    /// computed from `identities` and `features`.
    public static func element(node: String, identities: [DiscoIdentity], features: [String]) -> XMLElement {
        XMLElement(
            "c",
            namespace: XMPPNamespace.caps,
            ["hash": "sha-1", "node": node, "ver": verification(identities: identities, features: features)]
        )
    }

    /// The `ver` of XEP-0115 §5.1 (without data forms): identities sorted by category, type and language as
    /// `category/type/lang/name<`, then features sorted as `feature<`, hashed with SHA-1, in base64.
    public static func verification(identities: [DiscoIdentity], features: [String]) -> String {
        var text = ""
        let sorted = identities.sorted {
            let left = [$0.category, $0.type, $0.language ?? ""].map { Array($0.utf8) }
            let right = [$1.category, $1.type, $1.language ?? ""].map { Array($0.utf8) }
            return left.lexicographicallyPrecedes(right) { $0.lexicographicallyPrecedes($1) }
        }
        for identity in sorted {
            text += identity.category + "/" + identity.type + "/" + (identity.language ?? "") + "/"
            text += (identity.name ?? "") + "<"
        }
        for feature in Set(features).sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            text += feature + "<"
        }
        return SASLBase64.encodeText(Array(Insecure.SHA1.hash(data: Array(text.utf8))))
    }
}
