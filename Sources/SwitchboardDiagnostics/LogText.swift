extension String {
    /// The string with line breaks and other control characters escaped, at most 200 characters, so that text from
    /// the wire (a disconnect notice, a header value, a caller's name, a reply) cannot split a log entry or forge one
    /// (Unicode line and paragraph separators included).
    public var loggable: String { loggable(limit: 200) }

    /// The string with control characters escaped (`\n`, `\r`, `\t`, `\u{1b}`), cut to `limit` characters with `…`.
    public func loggable(limit: Int) -> String {
        var output = ""
        var count = 0
        for scalar in unicodeScalars {
            if count == limit {
                output += "…"
                break
            }
            count += 1
            switch scalar {
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.isLogBreaking {
                    output += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output
    }

    /// Whether ``loggable`` would change the string: it holds a control character or a line separator.
    public var needsLogEscaping: Bool { unicodeScalars.contains { $0.isLogBreaking } }
}

extension Unicode.Scalar {
    /// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
    fileprivate var isLogBreaking: Bool {
        value < 0x20 || value == 0x7F || (0x80...0x9F).contains(value) || value == 0x2028 || value == 0x2029
    }
}
