import XMPP

/// Bounds applied when Rayo component requests and events are parsed, so a hostile or mistaken client cannot ask for
/// a week-long timeout or a million repeats.
///
/// The defaults suit telephony: no timer, offset or duration beyond a day, at most 1,000 repeats of an output and at
/// most 64 documents, grammars or hints in one request.
public struct RayoComponentLimits: Sendable, Hashable {
    /// The largest time value (timeouts, offsets, intervals, durations) accepted, in milliseconds. Default 24 hours.
    public var maxMilliseconds: Int
    /// The largest `repeat-times` of an output. Default 1,000.
    public var maxRepeatTimes: Int
    /// The most `<document>`, `<grammar>` or `<hint>` children one request may carry. Default 64.
    public var maxChildren: Int

    /// Creates limits; every argument has a sane default.
    public init(maxMilliseconds: Int = 86_400_000, maxRepeatTimes: Int = 1_000, maxChildren: Int = 64) {
        self.maxMilliseconds = maxMilliseconds
        self.maxRepeatTimes = maxRepeatTimes
        self.maxChildren = maxChildren
    }
}

/// Reads and validates the attributes and children of one component element, producing errors that name the element
/// and the attribute (`output repeat-times must be a non-negative integer, got 'x'`).
struct ComponentElementReader {
    let element: XMLElement
    let name: String
    let namespace: String
    let limits: RayoComponentLimits

    /// Checks that `element` is `<name xmlns=namespace>`; an element built in code without a namespace is accepted.
    init(
        _ element: XMLElement,
        name: String,
        namespace: String,
        limits: RayoComponentLimits
    ) throws(RayoParseError) {
        guard element.name == name, element.namespace == nil || element.namespace == namespace else {
            throw RayoParseError(
                element: name,
                message: "expected <\(name) xmlns='\(namespace)'>, got <\(element.name)"
                    + (element.namespace.map { " xmlns='\($0)'" } ?? "") + ">"
            )
        }
        self.element = element
        self.name = name
        self.namespace = namespace
        self.limits = limits
    }

    func error(_ message: String) -> RayoParseError {
        RayoParseError(element: name, message: message)
    }

    /// The attribute's value, or `nil` when absent.
    func string(_ attribute: String) -> String? {
        element[attribute: attribute]
    }

    /// A required attribute; empty counts as missing.
    func required(_ attribute: String) throws(RayoParseError) -> String {
        guard let value = element[attribute: attribute], !value.isEmpty else {
            throw error("missing \(name) \(attribute) attribute")
        }
        return value
    }

    /// An optional attribute that, when present, must not be empty.
    func nonEmpty(_ attribute: String) throws(RayoParseError) -> String? {
        guard let value = element[attribute: attribute] else { return nil }
        guard !value.trimmingXMLWhitespace.isEmpty else {
            throw error("\(name) \(attribute) must not be empty")
        }
        return value
    }

    /// An XML Schema boolean: `true`, `false`, `1` or `0` (surrounding whitespace allowed).
    func bool(_ attribute: String, default defaultValue: Bool) throws(RayoParseError) -> Bool {
        guard let raw = element[attribute: attribute] else { return defaultValue }
        switch raw.trimmingXMLWhitespace {
        case "true", "1": return true
        case "false", "0": return false
        default: throw error("\(name) \(attribute) must be true or false, got '\(raw)'")
        }
    }

    /// A non-negative integer up to `maximum`.
    func count(_ attribute: String, default defaultValue: Int, maximum: Int) throws(RayoParseError) -> Int {
        guard let raw = element[attribute: attribute] else { return defaultValue }
        return try nonNegativeInteger(raw, attribute: attribute, maximum: maximum, unit: nil)
    }

    /// A non-negative number of milliseconds up to the limit.
    func duration(_ attribute: String, default defaultValue: Duration) throws(RayoParseError) -> Duration {
        guard let raw = element[attribute: attribute] else { return defaultValue }
        let value = try nonNegativeInteger(
            raw,
            attribute: attribute,
            maximum: limits.maxMilliseconds,
            unit: "milliseconds"
        )
        return .milliseconds(value)
    }

    /// A required non-negative number of milliseconds up to the limit.
    func requiredDuration(_ attribute: String) throws(RayoParseError) -> Duration {
        let raw = try required(attribute)
        let value = try nonNegativeInteger(
            raw,
            attribute: attribute,
            maximum: limits.maxMilliseconds,
            unit: "milliseconds"
        )
        return .milliseconds(value)
    }

    /// A Rayo timeout: `-1` (or absent) disables it (`nil`), otherwise a non-negative number of milliseconds.
    func timeout(_ attribute: String) throws(RayoParseError) -> Duration? {
        guard let raw = element[attribute: attribute] else { return nil }
        if raw.trimmingXMLWhitespace == "-1" { return nil }
        guard let value = Self.integer(raw), value >= 0 else {
            if Self.isIntegerSyntax(raw), raw.trimmingXMLWhitespace.hasPrefix("-") == false {
                throw error("\(name) \(attribute) must be at most \(limits.maxMilliseconds) milliseconds, got '\(raw)'")
            }
            throw error("\(name) \(attribute) must be -1 or a non-negative integer of milliseconds, got '\(raw)'")
        }
        guard value <= limits.maxMilliseconds else {
            throw error("\(name) \(attribute) must be at most \(limits.maxMilliseconds) milliseconds, got '\(raw)'")
        }
        return .milliseconds(value)
    }

    /// A decimal between 0 and 1 inclusive.
    func fraction(_ attribute: String, default defaultValue: Double) throws(RayoParseError) -> Double {
        guard let raw = element[attribute: attribute] else { return defaultValue }
        let text = raw.trimmingXMLWhitespace
        guard Self.isDecimalSyntax(text), let value = Double(text), value >= 0, value <= 1 else {
            throw error("\(name) \(attribute) must be a decimal between 0 and 1, got '\(raw)'")
        }
        return value
    }

    /// One of a fixed set of values.
    func choice<Value: RawRepresentable & CaseIterable>(
        _ attribute: String,
        default defaultValue: Value
    ) throws(RayoParseError) -> Value where Value.RawValue == String {
        guard let raw = element[attribute: attribute] else { return defaultValue }
        return try requiredChoice(attribute, raw: raw)
    }

    /// One of a fixed set of values, or `nil` when absent.
    func optionalChoice<Value: RawRepresentable & CaseIterable>(
        _ attribute: String,
        as type: Value.Type
    ) throws(RayoParseError) -> Value? where Value.RawValue == String {
        guard let raw = element[attribute: attribute] else { return nil }
        return try requiredChoice(attribute, raw: raw)
    }

    /// One of a fixed set of values given in `raw`.
    func requiredChoice<Value: RawRepresentable & CaseIterable>(
        _ attribute: String,
        raw: String
    ) throws(RayoParseError) -> Value where Value.RawValue == String {
        if let value = Value(rawValue: raw.trimmingXMLWhitespace) { return value }
        let known = Value.allCases.map(\.rawValue).joined(separator: ", ")
        throw error("\(name) \(attribute) must be one of \(known); got '\(raw)'")
    }

    /// The child elements with this name in the element's own namespace (or built without one).
    func children(_ childName: String) -> [XMLElement] {
        element.elements.filter { $0.name == childName && ($0.namespace == nil || $0.namespace == namespace) }
    }

    /// Checks the number of children against the limit.
    func checkCount(_ children: [XMLElement], of childName: String) throws(RayoParseError) {
        guard children.count <= limits.maxChildren else {
            throw error(
                "\(name) has \(children.count) \(childName) elements, more than the limit of \(limits.maxChildren)"
            )
        }
    }

    private func nonNegativeInteger(
        _ raw: String,
        attribute: String,
        maximum: Int,
        unit: String?
    ) throws(RayoParseError) -> Int {
        let ofUnit = unit.map { " of \($0)" } ?? ""
        let inUnit = unit.map { " \($0)" } ?? ""
        guard let value = Self.integer(raw), value >= 0 else {
            if Self.isIntegerSyntax(raw), raw.trimmingXMLWhitespace.hasPrefix("-") == false {
                throw error("\(name) \(attribute) must be at most \(maximum)\(inUnit), got '\(raw)'")
            }
            throw error("\(name) \(attribute) must be a non-negative integer\(ofUnit), got '\(raw)'")
        }
        guard value <= maximum else {
            throw error("\(name) \(attribute) must be at most \(maximum)\(inUnit), got '\(raw)'")
        }
        return value
    }

    /// An XML Schema integer: optional sign, ASCII digits, surrounding whitespace allowed.
    static func integer(_ raw: String) -> Int? {
        let text = raw.trimmingXMLWhitespace
        guard isIntegerSyntax(text) else { return nil }
        return Int(text)
    }

    static func isIntegerSyntax(_ raw: String) -> Bool {
        var digits = Substring(raw.trimmingXMLWhitespace)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// An XML Schema decimal: optional sign, digits with at most one point, at least one digit; no exponent.
    static func isDecimalSyntax(_ text: String) -> Bool {
        var body = Substring(text)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        var sawDigit = false
        var sawPoint = false
        for byte in body.utf8 {
            if byte >= 0x30 && byte <= 0x39 {
                sawDigit = true
            } else if byte == 0x2E && !sawPoint {
                sawPoint = true
            } else {
                return false
            }
        }
        return sawDigit
    }
}

extension String {
    /// The string without leading and trailing XML whitespace (space, tab, CR, LF).
    var trimmingXMLWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}

extension Duration {
    /// Whole milliseconds, as Rayo writes times.
    var rayoMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

/// Attribute serialization helpers.
enum ComponentAttribute {
    static func milliseconds(_ value: Duration) -> String { String(value.rayoMilliseconds) }

    static func timeout(_ value: Duration?) -> String { value.map { String($0.rayoMilliseconds) } ?? "-1" }

    static func bool(_ value: Bool) -> String { value ? "true" : "false" }

    /// A fraction (0 to 1) as an XML Schema decimal, without exponent or needless zeros (`0.5`, `1`, `0.0000001`).
    static func fraction(_ value: Double) -> String {
        guard value.isFinite, value > 0, value < 1 else { return value >= 1 ? "1" : "0" }
        let shortest = String(value)
        guard let exponentIndex = shortest.firstIndex(where: { $0 == "e" || $0 == "E" }),
            let exponent = Int(shortest[shortest.index(after: exponentIndex)...]), exponent < 0
        else { return shortest }
        let digits = shortest[..<exponentIndex].filter { $0 != "." }
        return "0." + String(repeating: "0", count: -exponent - 1) + digits
    }
}

/// The body of an inline document, grammar or result: text (CDATA arrives as text) or, when a client embedded
/// markup directly, that markup serialized.
enum InlineContent {
    static func body(of element: XMLElement) -> String {
        if element.elements.isEmpty { return element.text }
        var output = ""
        for child in element.children {
            switch child {
            case .text(let text): XMLEscaping.appendText(text, to: &output)
            case .element(let child): child.write(into: &output, inScopeNamespace: element.namespace)
            }
        }
        return output
    }
}

/// Parsing of completion reasons that are empty elements named after their raw value.
enum CompletionReason {
    static func parse<Reason: RawRepresentable & CaseIterable>(
        _ element: XMLElement,
        namespace: String,
        component: String
    ) throws(RayoParseError) -> Reason where Reason.RawValue == String {
        guard element.namespace == namespace, let reason = Reason(rawValue: element.name) else {
            let known = Reason.allCases.map(\.rawValue).joined(separator: ", ")
            throw RayoParseError(
                element: element.name,
                message: "expected a completion reason of \(component) (\(known)) in \(namespace), got <\(element.name)"
                    + (element.namespace.map { " xmlns='\($0)'" } ?? "") + ">"
            )
        }
        return reason
    }
}
