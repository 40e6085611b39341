/// A JSON value as the configuration parser reads it: objects keep their members in document order.
enum JSONValue: Sendable, Hashable {
    /// One member of an object.
    struct Member: Sendable, Hashable {
        var key: String
        var value: JSONValue
    }

    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([Member])

    /// How a message names this value's type: "a string", "an object".
    var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// How a message names this value when it is the wrong one: `a string "x"`, `a number 5`, `an object`.
    var foundDescription: String {
        switch self {
        case .string(let text): "\(typeDescription) \(KeyPath.quoted(text))"
        case .number(let number): "\(typeDescription) \(Self.format(number))"
        case .bool(let flag): "\(typeDescription) \(flag)"
        default: typeDescription
        }
    }

    /// A number as a message shows it: `5`, `0.5`.
    static func format(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 1e15 { return String(Int(number)) }
        return String(number)
    }
}

/// A parsed JSON document with what the validator needs besides the values: where each value starts, by key path,
/// and the keys that appeared twice in one object.
struct JSONDocument: Sendable {
    /// A key that appeared again in the same object; only the first occurrence is kept in the values.
    struct DuplicateKey: Sendable, Hashable {
        /// The key path of the repeated member.
        var path: String
        /// Where the repeated key starts.
        var position: TextPosition
        /// Where the first occurrence starts.
        var firstPosition: TextPosition
    }

    /// The top-level value.
    var root: JSONValue
    /// Where each value starts, by key path (`listeners[1].port`); the root is `""`.
    var positions: [String: TextPosition]
    /// Where each member's key starts, by the member's key path.
    var keyPositions: [String: TextPosition]
    /// The keys that appeared more than once in one object, in document order.
    var duplicateKeys: [DuplicateKey]

    /// Where the value at `path` starts; for a key that was left out (a default), where its nearest enclosing value
    /// starts.
    func position(of path: String) -> TextPosition? {
        var path = Substring(path)
        while true {
            if let position = positions[String(path)] { return position }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else {
                return path.isEmpty ? nil : positions[""]
            }
            path = path[..<cut]
        }
    }

    /// Where the key of the member at `path` starts.
    func keyPosition(of path: String) -> TextPosition? {
        keyPositions[path] ?? positions[path]
    }
}

/// Key paths in the form problems are reported in: `log.level`, `listeners[1].handler`,
/// `listeners[0].filters.Caller-Context`; a key that would be ambiguous in that form is quoted: `filters["a.b"]`.
enum KeyPath {
    /// The path of member `key` of the object at `path`.
    static func appending(key: String, to path: String) -> String {
        let plain =
            !key.isEmpty
            && key.unicodeScalars.allSatisfy { scalar in
                scalar.value > 0x20 && scalar.value != 0x7F && !".[]\"'\\".unicodeScalars.contains(scalar)
            }
        if plain { return path.isEmpty ? key : "\(path).\(key)" }
        return "\(path)[\(quoted(key))]"
    }

    /// The path of element `index` of the array at `path`.
    static func appending(index: Int, to path: String) -> String { "\(path)[\(index)]" }

    /// `text` as a JSON string literal, for messages.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
