/// A JSON syntax error: what was wrong and where.
struct JSONSyntaxError: Error, Sendable, Hashable {
    /// What was wrong, e.g. "expected ',' or '}' after an object member, found '\"'".
    var message: String
    /// Where it was found.
    var position: TextPosition
}

/// A strict RFC 8259 JSON parser for configuration files.
///
/// Unlike `JSONSerialization` it reports the line and column of a syntax error, keeps the members of an object in
/// document order, records where each value starts, and notices keys that appear twice in one object. It accepts
/// exactly JSON: no comments, no trailing commas, no single quotes, no `NaN`; a leading UTF-8 byte order mark is
/// skipped. The text must be valid UTF-8.
struct JSONParser {
    /// Nesting deeper than this is rejected rather than risking the stack; a configuration needs four levels.
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private var offset = 0
    private var line = 1
    private var column = 1
    private var positions: [String: TextPosition] = [:]
    private var keyPositions: [String: TextPosition] = [:]
    private var duplicateKeys: [JSONDocument.DuplicateKey] = []

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses a whole document: one value, surrounded by optional whitespace.
    static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONDocument {
        var parser = JSONParser(bytes: bytes)
        try parser.validateUTF8()
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.offset = 3 }
        parser.skipWhitespace()
        if parser.atEnd { throw parser.error("the file is empty; expected a JSON object") }
        let root = try parser.parseValue(path: "", depth: 0)
        parser.skipWhitespace()
        if !parser.atEnd {
            throw parser.error("unexpected \(parser.describeCurrent()) after the end of the top-level value")
        }
        return JSONDocument(
            root: root,
            positions: parser.positions,
            keyPositions: parser.keyPositions,
            duplicateKeys: parser.duplicateKeys
        )
    }

    /// Parses a whole document from text.
    static func parse(_ text: String) throws(JSONSyntaxError) -> JSONDocument {
        try parse(Array(text.utf8))
    }

    // MARK: - Values

    private mutating func parseValue(path: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard let byte = current else { throw error("unexpected end of input; expected a value") }
        if positions[path] == nil { positions[path] = position }
        switch byte {
        case UInt8(ascii: "{"):
            return try parseObject(path: path, depth: depth + 1)
        case UInt8(ascii: "["):
            return try parseArray(path: path, depth: depth + 1)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try parseLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try parseLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try parseLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw error("unexpected \(describeCurrent()); expected a value")
        }
    }

    private mutating func parseObject(path: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try checkDepth(depth)
        advance()  // {
        var members: [JSONValue.Member] = []
        var firstPositions: [String: TextPosition] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            advance()
            return .object([])
        }
        while true {
            guard current == UInt8(ascii: "\"") else {
                let hint = members.isEmpty ? " or '}'" : " (a trailing comma is not allowed)"
                throw error("expected a member name in double quotes\(hint), found \(describeCurrent())")
            }
            let keyPosition = position
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else {
                throw error("expected ':' after the member name \(KeyPath.quoted(key)), found \(describeCurrent())")
            }
            advance()
            skipWhitespace()
            let memberPath = KeyPath.appending(key: key, to: path)
            if let first = firstPositions[key] {
                duplicateKeys.append(.init(path: memberPath, position: keyPosition, firstPosition: first))
                _ = try parseValue(path: memberPath, depth: depth)
            } else {
                firstPositions[key] = keyPosition
                if keyPositions[memberPath] == nil { keyPositions[memberPath] = keyPosition }
                members.append(.init(key: key, value: try parseValue(path: memberPath, depth: depth)))
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                advance()
                skipWhitespace()
            case UInt8(ascii: "}"):
                advance()
                return .object(members)
            default:
                throw error("expected ',' or '}' after an object member, found \(describeCurrent())")
            }
        }
    }

    private mutating func parseArray(path: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try checkDepth(depth)
        advance()  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            advance()
            return .array([])
        }
        while true {
            if current == UInt8(ascii: "]") {
                throw error("expected a value, found ']' (a trailing comma is not allowed)")
            }
            elements.append(try parseValue(path: KeyPath.appending(index: elements.count, to: path), depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                advance()
                skipWhitespace()
            case UInt8(ascii: "]"):
                advance()
                return .array(elements)
            default:
                throw error("expected ',' or ']' after an array element, found \(describeCurrent())")
            }
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let start = position
        let expected = literal.withUTF8Buffer { Array($0) }
        for byte in expected {
            guard current == byte else {
                throw JSONSyntaxError(
                    message: "invalid literal; expected '\(literal)' (JSON literals are true, false and null)",
                    position: start
                )
            }
            advance()
        }
    }

    // MARK: - Strings

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        let start = position
        advance()  // "
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else {
                throw JSONSyntaxError(message: "unterminated string (missing closing '\"')", position: start)
            }
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x0A, 0x0D:
                throw JSONSyntaxError(
                    message: "unterminated string: the line ends before the closing '\"' (write a line break as \\n)",
                    position: start
                )
            case 0x00..<0x20:
                throw error(
                    "\(describeCurrent()) inside a string; control characters must be escaped (\\n, \\t, \\u0000)"
                )
            default:
                utf8.append(byte)
                advance()
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(JSONSyntaxError) {
        let escapePosition = position
        advance()  // backslash
        guard let byte = current else { throw error("unexpected end of input inside a string escape") }
        let simple: UInt8? =
            switch byte {
            case UInt8(ascii: "\""): UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): UInt8(ascii: "\\")
            case UInt8(ascii: "/"): UInt8(ascii: "/")
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let simple {
            advance()
            utf8.append(simple)
            return
        }
        guard byte == UInt8(ascii: "u") else {
            throw JSONSyntaxError(
                message: "invalid escape '\\\(describeByte(byte))'; valid escapes are "
                    + #"\" \\ \/ \b \f \n \r \t \uXXXX"#,
                position: escapePosition
            )
        }
        advance()
        var scalarValue = try parseHexQuad(escapePosition: escapePosition)
        if (0xD800...0xDBFF).contains(scalarValue) {
            guard current == UInt8(ascii: "\\"), peek(1) == UInt8(ascii: "u") else {
                throw JSONSyntaxError(
                    message: "unpaired UTF-16 surrogate \\u\(hex(scalarValue)); a low surrogate escape must follow",
                    position: escapePosition
                )
            }
            let lowPosition = position
            advance()
            advance()
            let low = try parseHexQuad(escapePosition: lowPosition)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw JSONSyntaxError(
                    message: "\\u\(hex(low)) cannot follow the high surrogate \\u\(hex(scalarValue))",
                    position: lowPosition
                )
            }
            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalarValue) {
            throw JSONSyntaxError(
                message: "unpaired UTF-16 surrogate \\u\(hex(scalarValue)); a high surrogate escape must precede it",
                position: escapePosition
            )
        }
        // Every value left is a valid scalar: surrogates were handled above.
        utf8.append(contentsOf: String(Character(Unicode.Scalar(scalarValue)!)).utf8)
    }

    private mutating func parseHexQuad(escapePosition: TextPosition) throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let digit: UInt32? =
                switch current {
                case .some(let byte) where (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
                    UInt32(byte - UInt8(ascii: "0"))
                case .some(let byte) where (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte):
                    UInt32(byte - UInt8(ascii: "a") + 10)
                case .some(let byte) where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte):
                    UInt32(byte - UInt8(ascii: "A") + 10)
                default: nil
                }
            guard let digit else {
                throw JSONSyntaxError(message: "\\u must be followed by four hex digits", position: escapePosition)
            }
            value = value << 4 | digit
            advance()
        }
        return value
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = position
        let startOffset = offset
        if current == UInt8(ascii: "-") { advance() }
        guard let first = current, isDigit(first) else {
            throw error("expected a digit after '-', found \(describeCurrent())")
        }
        advance()
        if first == UInt8(ascii: "0"), let next = current, isDigit(next) {
            throw JSONSyntaxError(message: "a number cannot start with a leading zero", position: start)
        }
        skipDigits()
        if current == UInt8(ascii: ".") {
            advance()
            guard let digit = current, isDigit(digit) else {
                throw error("expected a digit after the decimal point, found \(describeCurrent())")
            }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            advance()
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { advance() }
            guard let digit = current, isDigit(digit) else {
                throw error("expected a digit in the exponent, found \(describeCurrent())")
            }
            skipDigits()
        }
        let lexeme = String(decoding: bytes[startOffset..<offset], as: UTF8.self)
        guard let value = Double(lexeme), value.isFinite else {
            throw JSONSyntaxError(message: "the number \(lexeme) is out of range", position: start)
        }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { advance() }
    }

    // MARK: - Scanning

    private var atEnd: Bool { offset >= bytes.count }

    private var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private func peek(_ distance: Int) -> UInt8? {
        offset + distance < bytes.count ? bytes[offset + distance] : nil
    }

    private var position: TextPosition { TextPosition(line: line, column: column) }

    /// Moves one byte on, keeping line and column (in Unicode scalars) up to date.
    private mutating func advance() {
        guard offset < bytes.count else { return }
        let byte = bytes[offset]
        offset += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            // An ASCII byte or the lead byte of a scalar; positions are only taken between scalars.
            column += 1
        }
    }

    private mutating func skipWhitespace() {
        while let byte = current,
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
                || byte == UInt8(ascii: "\r")
        {
            advance()
        }
    }

    private func checkDepth(_ depth: Int) throws(JSONSyntaxError) {
        if depth > Self.maximumDepth {
            throw error("values are nested more than \(Self.maximumDepth) levels deep")
        }
    }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, position: position)
    }

    /// How a message names the character at the current position.
    private func describeCurrent() -> String {
        guard let byte = current else { return "the end of the input" }
        if byte < 0x80 { return describeASCII(byte) }
        var iterator = bytes[offset...].makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        if case .valid(let encoded) = parser.parseScalar(from: &iterator) {
            let scalar = Unicode.UTF8.decode(encoded)
            return "'\(scalar)' (U+\(hex(scalar.value)))"
        }
        return "byte 0x\(hex(UInt32(byte)))"
    }

    private func describeASCII(_ byte: UInt8) -> String {
        switch byte {
        case 0x0A: "a line break"
        case 0x0D: "a carriage return"
        case 0x09: "a tab"
        case 0x00..<0x20, 0x7F: "control character U+\(hex(UInt32(byte)))"
        default: "'\(Character(Unicode.Scalar(byte)))'"
        }
    }

    private func describeByte(_ byte: UInt8) -> String {
        byte < 0x80 ? String(Character(Unicode.Scalar(byte))) : "…"
    }

    /// Rejects text that is not valid UTF-8, naming where it stops being valid.
    private mutating func validateUTF8() throws(JSONSyntaxError) {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var validOffset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                validOffset += encoded.count
            case .emptyInput:
                return
            case .error:
                var scanner = JSONParser(bytes: Array(bytes[..<validOffset]))
                while !scanner.atEnd { scanner.advance() }
                throw JSONSyntaxError(message: "the file is not valid UTF-8", position: scanner.position)
            }
        }
    }
}
