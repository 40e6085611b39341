import EventSocket

/// Channel variables as FreeSWITCH's `{name=value,…}` dial string prefix, escaped so that every value reaches the new
/// channel unchanged.
///
/// FreeSWITCH 1.10 reads such a block in layers, and each layer removes one level of escaping
/// (`cleanup_separated_string`: `\\`, `\'`, `\` + the layer's separator, `\s` for a space; an unescaped `'` quotes
/// and is dropped; leading and trailing spaces are trimmed):
/// 1. the block is split into `name=value` pairs at `,` (a value's `,` must be `\,`; `^^:` is only read at the very
///    start of a block, so a value's `^^:a:b` is stored as it is);
/// 2. each pair is split into name and value at its first `=`.
///
/// Before those, depending on where the block travels:
/// - the `originate` API splits its arguments at spaces: one more layer;
/// - an application's argument (`bridge`) holding a backslash is expanded (`\\` becomes `\`) before the application
///   reads it: every backslash is doubled once more.
///
/// Learned from FreeSWITCH 1.10.12 (`switch_event_create_brackets`, `switch_separate_string`); the integration tests
/// read every kind of value back with `uuid_getvar`.
///
/// What no escaping can carry is refused with ``SwitchboardError/Code/invalidArgument`` naming the variable: control
/// characters (CR, LF, tab, …), `${` (FreeSWITCH expands it, or refuses to set a value holding it), `:_:` (a dial
/// string separator found before any escape is read), and braces that do not pair up (the block's end is found by
/// counting braces). Names are letters, digits, `_`, `-`, `.` and `:`.
struct ChannelVariables {
    /// Where the block is sent: each adds its own layer of unescaping.
    enum Destination {
        /// The argument of an application such as `bridge`.
        case application
        /// The first argument of the `originate` API command.
        case originate
    }

    var variables: [String: String]

    init(_ variables: [String: String]) { self.variables = variables }

    /// `{a=1,b=2}` with the values escaped for `destination`, or `""` when there are none.
    func prefix(for destination: Destination) throws(SwitchboardError) -> String {
        guard !variables.isEmpty else { return "" }
        var pairs: [String] = []
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) {
            try Self.check(name: name, value: value)
            let block = DialStringEscaping.blockValue(value)
            switch destination {
            case .application:
                pairs.append("\(name)=\(Self.doublingBackslashes(block))")
            case .originate:
                pairs.append("\(name)=\(Self.escape(block, separator: nil))")
            }
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    /// Refuses what no escaping carries through.
    static func check(name: String, value: String) throws(SwitchboardError) {
        let nameIsPlain =
            !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                        || "_-.:".unicodeScalars.contains(scalar))
            }
        guard nameIsPlain else {
            throw SwitchboardError(
                .invalidArgument,
                "channel variable name '\(name)' must be letters, digits, '_', '-', '.' or ':'"
            )
        }
        if let problem = DialStringEscaping.problem(with: value) {
            throw SwitchboardError(.invalidArgument, "channel variable '\(name)': the value \(problem)")
        }
    }

    /// One layer of FreeSWITCH escaping (``DialStringEscaping/escape(_:separator:)``).
    static func escape(_ text: String, separator: Unicode.Scalar?) -> String {
        DialStringEscaping.escape(text, separator: separator)
    }

    /// What survives FreeSWITCH's expansion of an application's argument: every backslash doubled.
    static func doublingBackslashes(_ text: String) -> String {
        var doubled = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\\" { doubled.append("\\") }
            doubled.append(scalar)
        }
        return String(doubled)
    }

    /// A caller ID name inside `'…'`: backslashes and quotes escaped.
    static func escapingQuotes(_ text: String) -> String {
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\\" || scalar == "'" { escaped.append("\\") }
            escaped.append(scalar)
        }
        return String(escaped)
    }
}
