/// One XML element of an XMPP stream: a stanza, or any element inside one.
///
/// Elements are values. A parsed element always carries its resolved namespace URI (`""` for none); an element built
/// in code may leave `namespace` as `nil` to inherit its parent's, which is how `<end xmlns='urn:xmpp:rayo:1'>` gets
/// children such as `<hangup-command/>` without repeating the namespace. Serialization writes an `xmlns` attribute
/// only where an element's namespace differs from the one in scope, with single-quoted attribute values, as
/// FreeSWITCH's mod_rayo did.
public struct XMLElement: Sendable, Hashable {
    /// The local name, without a prefix (`iq`, `offer`, `header`).
    public var name: String
    /// The namespace URI; `nil` inherits the parent's when serialized.
    public var namespace: String?
    /// The attributes in document order. Namespace declarations (`xmlns`, `xmlns:*`) are never stored here.
    public var attributes: [XMLAttribute]
    /// Child elements and text, in document order.
    public var children: [XMLNode]

    /// Creates an element.
    public init(
        _ name: String,
        namespace: String? = nil,
        attributes: [XMLAttribute] = [],
        children: [XMLNode] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
    }

    /// Creates an element from `name: value` pairs; pairs whose value is `nil` are left out.
    public init(
        _ name: String,
        namespace: String? = nil,
        _ attributes: KeyValuePairs<String, String?>,
        children: [XMLNode] = []
    ) {
        self.init(
            name,
            namespace: namespace,
            attributes: attributes.compactMap { key, value in value.map { XMLAttribute(key, $0) } },
            children: children
        )
    }

    /// The value of the attribute with this name (no namespace, or `xml:lang` written as such), or `nil`.
    public subscript(attribute name: String) -> String? {
        get { attributes.first { $0.name == name }?.value }
        set {
            if let index = attributes.firstIndex(where: { $0.name == name }) {
                if let newValue { attributes[index].value = newValue } else { attributes.remove(at: index) }
            } else if let newValue {
                attributes.append(XMLAttribute(name, newValue))
            }
        }
    }

    /// The child elements, without text.
    public var elements: [XMLElement] {
        children.compactMap {
            if case .element(let element) = $0 { return element }
            return nil
        }
    }

    /// The first child element with this name and, when given, this namespace.
    public func child(_ name: String, namespace: String? = nil) -> XMLElement? {
        for case .element(let element) in children
        where element.name == name && (namespace == nil || element.namespace == namespace) {
            return element
        }
        return nil
    }

    /// Every child element with this name and, when given, this namespace.
    public func children(_ name: String, namespace: String? = nil) -> [XMLElement] {
        elements.filter { $0.name == name && (namespace == nil || $0.namespace == namespace) }
    }

    /// The element's own text: its text children joined (no text of descendants).
    public var text: String {
        var result = ""
        for case .text(let text) in children { result += text }
        return result
    }

    /// Appends a child element.
    public mutating func append(_ element: XMLElement) {
        children.append(.element(element))
    }

    /// Appends text.
    public mutating func append(text: String) {
        children.append(.text(text))
    }

    /// The element serialized, declaring its namespace unless it equals `inScopeNamespace`.
    ///
    /// Stanzas on a client stream are serialized with `inScopeNamespace: "jabber:client"`, so `<iq>` carries no
    /// `xmlns` while its payload does.
    public func serialized(inScopeNamespace: String? = nil) -> String {
        var output = ""
        write(into: &output, inScopeNamespace: inScopeNamespace)
        return output
    }

    /// Appends the serialized element to `output`.
    public func write(into output: inout String, inScopeNamespace: String?) {
        output += "<"
        output += name
        let ownNamespace = namespace ?? inScopeNamespace
        if let ownNamespace, ownNamespace != (inScopeNamespace ?? "") {
            output += " xmlns='"
            XMLEscaping.appendAttributeValue(ownNamespace, to: &output)
            output += "'"
        }
        for attribute in attributes {
            output += " "
            output += attribute.name
            output += "='"
            XMLEscaping.appendAttributeValue(attribute.value, to: &output)
            output += "'"
        }
        if children.isEmpty {
            output += "/>"
            return
        }
        output += ">"
        for child in children {
            switch child {
            case .element(let element): element.write(into: &output, inScopeNamespace: ownNamespace)
            case .text(let text): XMLEscaping.appendText(text, to: &output)
            }
        }
        output += "</"
        output += name
        output += ">"
    }

    /// A copy whose `nil` namespaces are resolved against `inScopeNamespace`, so built and parsed elements compare
    /// equal when they mean the same XML. Adjacent text children are merged.
    public func resolved(inScopeNamespace: String = "") -> XMLElement {
        let own = namespace ?? inScopeNamespace
        var merged: [XMLNode] = []
        for child in children {
            switch child {
            case .element(let element):
                merged.append(.element(element.resolved(inScopeNamespace: own)))
            case .text(let text):
                if case .text(let previous)? = merged.last {
                    merged[merged.count - 1] = .text(previous + text)
                } else if !text.isEmpty {
                    merged.append(.text(text))
                }
            }
        }
        return XMLElement(name, namespace: own, attributes: attributes, children: merged)
    }
}

/// A child of an element: an element or text.
public enum XMLNode: Sendable, Hashable {
    /// A child element.
    case element(XMLElement)
    /// Character data (CDATA sections arrive as text too).
    case text(String)
}

/// An attribute. `name` is the local name, or `xml:lang` / `xml:space` for the `xml` namespace.
public struct XMLAttribute: Sendable, Hashable {
    /// The attribute's name as it is serialized.
    public var name: String
    /// The unescaped value.
    public var value: String

    /// Creates an attribute.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Escaping of text and attribute values for serialization.
public enum XMLEscaping {
    /// Appends `value` escaped for a single- or double-quoted attribute.
    public static func appendAttributeValue(_ value: String, to output: inout String) {
        guard value.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x27 || $0 == 0x22 })
        else {
            output += value
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "'": output += "&apos;"
            case "\"": output += "&quot;"
            default: output.unicodeScalars.append(scalar)
            }
        }
    }

    /// Appends `text` escaped for character data.
    public static func appendText(_ text: String, to output: inout String) {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E }) else {
            output += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            default: output.unicodeScalars.append(scalar)
            }
        }
    }
}
