import XMPP

/// A `<header name value>` of a command or event: a SIP header passed through.
public struct RayoHeader: Sendable, Hashable {
    /// The header name (`X-Account`, `from`).
    public var name: String
    /// The header value.
    public var value: String

    /// Creates a header.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Parses a `<header>`; the name must be a SIP token and the value a single line, since both end up in
    /// channel variables and command lines.
    public init(parsing element: XMLElement) throws(RayoParseError) {
        guard let name = element[attribute: "name"], !name.isEmpty else {
            throw RayoParseError(element: "header", message: "missing header name attribute")
        }
        guard name.unicodeScalars.allSatisfy(Self.isTokenCharacter) else {
            throw RayoParseError(element: "header", message: "header name '\(name)' is not a SIP header name")
        }
        let value = element[attribute: "value"] ?? ""
        guard !value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" || $0 == "\0" }) else {
            throw RayoParseError(element: "header", message: "header '\(name)' value contains a line break")
        }
        self.init(name: name, value: value)
    }

    /// `<header name='…' value='…'/>` (namespace inherited from the command or event).
    public var element: XMLElement {
        XMLElement("header", ["name": name, "value": value])
    }

    /// The `<header>` children of a Rayo element.
    static func headers(in element: XMLElement) throws(RayoParseError) -> [RayoHeader] {
        var headers: [RayoHeader] = []
        for child in element.elements
        where child.name == "header" && (child.namespace ?? RayoNamespace.core) == RayoNamespace.core {
            headers.append(try RayoHeader(parsing: child))
        }
        return headers
    }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
        default: false
        }
    }
}
