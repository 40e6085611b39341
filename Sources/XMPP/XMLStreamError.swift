/// Why an ``XMLStreamParser`` refused its input, and where.
///
/// Compare by ``code``; ``message`` names the problem and its line and column. ``streamErrorCondition`` is the
/// stream error a server sends before closing the stream.
public struct XMLStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notWellFormed
            case invalidUTF8
            case restrictedXML
            case unsupportedEncoding
            case stanzaTooLarge
            case tooDeep
            case tooManyAttributes
            case incomplete
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The bytes are not well-formed XML (a syntax error, mismatched tags, junk after the stream, a NUL byte).
        public static let notWellFormed = Code(.notWellFormed)
        /// A byte sequence is not valid UTF-8 (overlong, a lone continuation byte, a surrogate, truncated).
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// A DOCTYPE, entity declaration, comment, processing instruction or undefined entity reference
        /// (RFC 6120 §11.1 forbids them).
        public static let restrictedXML = Code(.restrictedXML)
        /// The XML declaration names an encoding other than UTF-8.
        public static let unsupportedEncoding = Code(.unsupportedEncoding)
        /// A stanza (or the stream header) is longer than ``XMLStreamLimits/maxStanzaBytes``.
        public static let stanzaTooLarge = Code(.stanzaTooLarge)
        /// Elements are nested deeper than ``XMLStreamLimits/maxDepth``.
        public static let tooDeep = Code(.tooDeep)
        /// An element has more than ``XMLStreamLimits/maxAttributes`` attributes.
        public static let tooManyAttributes = Code(.tooManyAttributes)
        /// The input ended inside an element (``XMLStreamParser/finish()`` or a standalone document).
        public static let incomplete = Code(.incomplete)

        /// The code's name.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What is wrong and where (line and column).
    public var message: String
    /// The 1-based line of the offending input.
    public var line: Int
    /// The 1-based column (in bytes) of the offending input.
    public var column: Int

    /// Creates an error.
    public init(_ code: Code, _ message: String, line: Int = 0, column: Int = 0) {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
    }

    /// The stream error condition a server answers this failure with: `restricted-xml`, `policy-violation` for a
    /// limit, `unsupported-encoding`, otherwise `not-well-formed`.
    public var streamErrorCondition: StreamError.Condition {
        switch code {
        case .restrictedXML: .restrictedXML
        case .stanzaTooLarge, .tooDeep, .tooManyAttributes: .policyViolation
        case .unsupportedEncoding: .unsupportedEncoding
        default: .notWellFormed
        }
    }

    /// The stream error to send for this failure, with ``message`` as its text.
    public var streamError: StreamError { StreamError(streamErrorCondition, text: message) }

    /// The code and the message.
    public var description: String { "XMLStreamError.\(code): \(message)" }
}

/// Limits an ``XMLStreamParser`` enforces while it parses, so a peer cannot make it buffer or recurse without bound.
public struct XMLStreamLimits: Sendable, Hashable {
    /// The most bytes one stanza may take, counted from the `<` of its start tag to the `>` of its end tag. The
    /// stream header (with any XML declaration before it) and whitespace between stanzas are bounded by it too.
    public var maxStanzaBytes: Int
    /// The deepest element nesting; the stream root is not counted, a stanza is depth 1. For a standalone
    /// document the root element is depth 1.
    public var maxDepth: Int
    /// The most attributes on one element (namespace declarations not counted).
    public var maxAttributes: Int

    /// Creates limits: 256 KiB per stanza, depth 64, 64 attributes by default.
    public init(maxStanzaBytes: Int = 262_144, maxDepth: Int = 64, maxAttributes: Int = 64) {
        self.maxStanzaBytes = maxStanzaBytes
        self.maxDepth = maxDepth
        self.maxAttributes = maxAttributes
    }
}

/// What an ``XMLStreamParser`` found in the bytes it was given.
public enum XMLStreamEvent: Sendable, Hashable {
    /// The root start tag (`<stream:stream …>`): its name, namespace and attributes, no children.
    case streamStart(XMLElement)
    /// A complete child of the root (a stanza or a stream-level element such as `<stream:features>` or `<auth>`).
    case stanza(XMLElement)
    /// The root's end tag (`</stream:stream>`).
    case streamEnd
}
