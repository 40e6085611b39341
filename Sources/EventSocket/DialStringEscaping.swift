/// FreeSWITCH's escaping inside a `{name=value,…}` dial string block, one layer at a time.
///
/// FreeSWITCH 1.10 reads such a block in layers, and each layer removes one level of escaping
/// (`cleanup_separated_string`: `\\`, `\'`, `\` + the layer's separator, `\s` for a space; an unescaped `'` quotes
/// and is dropped; leading and trailing spaces are trimmed): the block is split into pairs at `,`, each pair into
/// name and value at its first `=`, and before those the `originate` API splits its arguments at spaces. Learned from
/// FreeSWITCH 1.10.12 (`switch_event_create_brackets`, `switch_separate_string`) and checked against it by the
/// integration tests, which read values back with `uuid_getvar`.
public enum DialStringEscaping {
    /// One layer: `\` → `\\`, `'` → `\'`, space → `\s`, the separator (if any) → `\` + separator.
    public static func escape(_ text: String, separator: Unicode.Scalar?) -> String {
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\", "'":
                escaped.append("\\")
                escaped.append(scalar)
            case " ":
                escaped.append("\\")
                escaped.append("s")
            default:
                if scalar == separator { escaped.append("\\") }
                escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    /// A value inside the block: escaped for the `=` and the `,` layers.
    public static func blockValue(_ value: String) -> String {
        escape(escape(value, separator: "="), separator: ",")
    }

    /// A value inside the block of the `originate` API's first argument: one more layer for its split at spaces.
    public static func originateValue(_ value: String) -> String {
        escape(blockValue(value), separator: nil)
    }

    /// Why no escaping can carry `value` through a dial string block, or `nil` when it can: control characters
    /// (CR, LF, tab, …), `${` (FreeSWITCH expands it, or refuses to set a value holding it), `:_:` (a dial string
    /// separator found before any escape is read), braces that do not pair up (the block's end is found by counting
    /// braces).
    public static func problem(with value: String) -> String? {
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "holds a control character (CR, LF, tab, …), which FreeSWITCH cannot read in a dial string"
        }
        if value.contains("${") {
            return "holds '${', which FreeSWITCH would expand or refuse to set"
        }
        if value.contains(":_:") {
            return "holds ':_:', FreeSWITCH's dial string separator"
        }
        var depth = 0
        for scalar in value.unicodeScalars {
            if scalar == "{" { depth += 1 }
            if scalar == "}" { depth -= 1 }
            if depth < 0 { break }
        }
        if depth != 0 {
            return "holds braces that do not pair up, which would end FreeSWITCH's '{…}' block early"
        }
        return nil
    }
}
