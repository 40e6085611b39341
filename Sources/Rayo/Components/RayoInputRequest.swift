import XMPP

/// An input component request (XEP-0327 §6.5.4): `<input xmlns='urn:xmpp:rayo:input:1'>` collecting DTMF or speech
/// against one or more grammars. With `mode='cpa'` it is a call progress analysis request (XEP-0341), see
/// ``RayoCPARequest``.
///
/// Attributes left at their defaults are not written when serialized. Unknown attributes are ignored, as mod_rayo
/// did (its internal `barge-event` and `start-timers` among them).
public struct RayoInputRequest: Sendable, Hashable {
    /// How input is collected (`mode`).
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// DTMF or speech, whichever comes.
        case any
        /// DTMF only.
        case dtmf
        /// Speech only.
        case voice
        /// Call progress analysis (XEP-0341).
        case cpa
    }

    /// A grammar governing recognition: inline (SRGS in CDATA, usually) or a URL (always, for CPA).
    public enum Grammar: Sendable, Hashable {
        /// A grammar fetched from (or, for CPA, named by) `url`; `contentType` is echoed only when given.
        case url(String, contentType: String? = nil)
        /// A grammar carried inline, e.g. `application/srgs+xml`.
        case inline(contentType: String, body: String)
    }

    /// The content type assumed for an inline grammar without one: SRGS XML, as mod_rayo assumed.
    public static let defaultGrammarContentType = "application/srgs+xml"
    /// The default `match-content-type` and `<match content-type>`: NLSML.
    public static let nlsmlContentType = "application/nlsml+xml"
    /// The default recognition language.
    public static let defaultLanguage = "en-US"

    /// The grammars; at least one.
    public var grammars: [Grammar]
    /// How input is collected. Default ``Mode/any`` (the XEP's table and mod_rayo; its schema says `dtmf`).
    public var mode: Mode
    /// A DTMF digit that ends collection (`terminator`); `nil` for none. mod_rayo accepted one DTMF digit only.
    public var terminator: Character?
    /// The recognizer to route to (`recognizer`); `nil` for the server's default.
    public var recognizer: String?
    /// The recognition language (`language`). Default `en-US`.
    public var language: String
    /// How long to wait for the first input (`initial-timeout`); `nil` (-1) for ever. Default `nil`.
    public var initialTimeout: Duration?
    /// How long to wait between DTMF digits (`inter-digit-timeout`); `nil` (-1) for ever. Default `nil`.
    public var interDigitTimeout: Duration?
    /// How long speech may go on before a match is due (`recognition-timeout`); `nil` (-1) for ever. Default `nil`.
    public var recognitionTimeout: Duration?
    /// The longest silence allowed once input began (`max-silence`); `nil` (-1) for ever. Default `nil`.
    public var maxSilence: Duration?
    /// Sensitivity to quiet versus loud input, 0 to 1 (`sensitivity`). Default 0.5.
    public var sensitivity: Double
    /// The confidence below which a match is unreliable, 0 to 1 (`min-confidence`). Default 0.
    public var minConfidence: Double
    /// The format of the match result (`match-content-type`). Default `application/nlsml+xml`.
    public var matchContentType: String

    /// Creates an input request.
    public init(
        grammars: [Grammar],
        mode: Mode = .any,
        terminator: Character? = nil,
        recognizer: String? = nil,
        language: String = RayoInputRequest.defaultLanguage,
        initialTimeout: Duration? = nil,
        interDigitTimeout: Duration? = nil,
        recognitionTimeout: Duration? = nil,
        maxSilence: Duration? = nil,
        sensitivity: Double = 0.5,
        minConfidence: Double = 0,
        matchContentType: String = RayoInputRequest.nlsmlContentType
    ) {
        self.grammars = grammars
        self.mode = mode
        self.terminator = terminator
        self.recognizer = recognizer
        self.language = language
        self.initialTimeout = initialTimeout
        self.interDigitTimeout = interDigitTimeout
        self.recognitionTimeout = recognitionTimeout
        self.maxSilence = maxSilence
        self.sensitivity = sensitivity
        self.minConfidence = minConfidence
        self.matchContentType = matchContentType
    }

    /// Parses and validates an `<input>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(element, name: "input", namespace: RayoNamespace.input, limits: limits)
        mode = try reader.choice("mode", default: .any)
        if let raw = reader.string("terminator") {
            let text = raw.trimmingXMLWhitespace
            guard text.count == 1, let digit = text.first, Self.isDTMFDigit(digit) else {
                throw reader.error("input terminator must be one DTMF digit (0-9, A-D, * or #), got '\(raw)'")
            }
            terminator = digit
        } else {
            terminator = nil
        }
        recognizer = try reader.nonEmpty("recognizer")
        language = try reader.nonEmpty("language") ?? Self.defaultLanguage
        initialTimeout = try reader.timeout("initial-timeout")
        interDigitTimeout = try reader.timeout("inter-digit-timeout")
        recognitionTimeout = try reader.timeout("recognition-timeout")
        maxSilence = try reader.timeout("max-silence")
        sensitivity = try reader.fraction("sensitivity", default: 0.5)
        minConfidence = try reader.fraction("min-confidence", default: 0)
        matchContentType = try reader.nonEmpty("match-content-type") ?? Self.nlsmlContentType
        let children = reader.children("grammar")
        guard !children.isEmpty else { throw reader.error("input must contain at least one grammar") }
        try reader.checkCount(children, of: "grammar")
        var grammars: [Grammar] = []
        for child in children {
            let (url, contentType, body) = try InlineOrURL.parse(
                child,
                name: "grammar",
                parent: "input",
                defaultContentType: Self.defaultGrammarContentType
            )
            if let url {
                grammars.append(.url(url, contentType: contentType))
            } else {
                grammars.append(.inline(contentType: contentType ?? Self.defaultGrammarContentType, body: body))
            }
        }
        self.grammars = grammars
    }

    /// The `<input xmlns='urn:xmpp:rayo:input:1'>` element.
    public var element: XMLElement {
        var element = XMLElement(
            "input",
            namespace: RayoNamespace.input,
            [
                "mode": mode == .any ? nil : mode.rawValue,
                "terminator": terminator.map { String($0) },
                "recognizer": recognizer,
                "language": language == Self.defaultLanguage ? nil : language,
                "initial-timeout": initialTimeout.map(ComponentAttribute.milliseconds),
                "inter-digit-timeout": interDigitTimeout.map(ComponentAttribute.milliseconds),
                "recognition-timeout": recognitionTimeout.map(ComponentAttribute.milliseconds),
                "max-silence": maxSilence.map(ComponentAttribute.milliseconds),
                "sensitivity": sensitivity == 0.5 ? nil : ComponentAttribute.fraction(sensitivity),
                "min-confidence": minConfidence == 0 ? nil : ComponentAttribute.fraction(minConfidence),
                "match-content-type": matchContentType == Self.nlsmlContentType ? nil : matchContentType,
            ]
        )
        for grammar in grammars {
            switch grammar {
            case .url(let url, let contentType):
                element.append(XMLElement("grammar", ["content-type": contentType, "url": url]))
            case .inline(let contentType, let body):
                element.append(XMLElement("grammar", ["content-type": contentType], children: [.text(body)]))
            }
        }
        return element
    }

    /// Whether `character` is a DTMF digit: 0-9, A-D (either case), `*` or `#`.
    public static func isDTMFDigit(_ character: Character) -> Bool {
        switch character {
        case "0"..."9", "A"..."D", "a"..."d", "*", "#": true
        default: false
        }
    }
}

/// A command to a running input component (`urn:xmpp:rayo:input:1`). Stop is the common `<stop>` of
/// `urn:xmpp:rayo:ext:1`, handled by the component machinery.
public enum RayoInputCommand: String, Sendable, Hashable, CaseIterable {
    /// `<start-timers/>`: start the initial and inter-digit timers now (a mod_rayo extension used by prompt).
    case startTimers = "start-timers"

    /// Parses an input command; `nil` when the element is not one.
    public static func parse(_ element: XMLElement) -> RayoInputCommand? {
        guard element.namespace == RayoNamespace.input else { return nil }
        return Self(rawValue: element.name)
    }

    /// The command element.
    public var element: XMLElement { XMLElement(rawValue, namespace: RayoNamespace.input) }
}

/// The result document of a `<match>` completion: NLSML by default, as text (mod_rayo sent it escaped, not CDATA).
public struct RayoInputMatch: Sendable, Hashable {
    /// The result's content type (`content-type`). Default `application/nlsml+xml`.
    public var contentType: String
    /// The result document, e.g. `<result xmlns='http://www.ietf.org/xml/ns/mrcpv2'>…</result>`.
    public var content: String

    /// Creates a match result.
    public init(contentType: String = RayoInputRequest.nlsmlContentType, content: String) {
        self.contentType = contentType
        self.content = content
    }
}

/// Why an input component completed, besides the common `stop`, `hangup` and `error`
/// (`urn:xmpp:rayo:input:complete:1`). mod_rayo also reported the initial, inter-digit and max-silence timeouts with
/// these reasons (`noinput`, `nomatch`), never with reasons of their own.
public enum RayoInputCompletion: Sendable, Hashable {
    /// `<match content-type>`: a grammar matched; carries the result document.
    case match(RayoInputMatch)
    /// `<nomatch/>`: input arrived that no grammar matched (also: inter-digit timeout without a match).
    case nomatch
    /// `<noinput/>`: no input before the initial timeout.
    case noinput

    /// Parses a completion reason element.
    public init(element: XMLElement) throws(RayoParseError) {
        guard element.namespace == RayoNamespace.inputComplete else {
            throw Self.unexpected(element)
        }
        switch element.name {
        case "match":
            let contentType = element[attribute: "content-type"] ?? RayoInputRequest.nlsmlContentType
            guard !contentType.trimmingXMLWhitespace.isEmpty else {
                throw RayoParseError(element: "match", message: "match content-type must not be empty")
            }
            self = .match(RayoInputMatch(contentType: contentType, content: InlineContent.body(of: element)))
        case "nomatch": self = .nomatch
        case "noinput": self = .noinput
        default: throw Self.unexpected(element)
        }
    }

    private static func unexpected(_ element: XMLElement) -> RayoParseError {
        RayoParseError(
            element: element.name,
            message: "expected a completion reason of input (match, nomatch, noinput) in "
                + "\(RayoNamespace.inputComplete), got <\(element.name)"
                + (element.namespace.map { " xmlns='\($0)'" } ?? "") + ">"
        )
    }

    /// The reason element, to put inside `<complete xmlns='urn:xmpp:rayo:ext:1'>`.
    public var element: XMLElement {
        switch self {
        case .match(let match):
            XMLElement(
                "match",
                namespace: RayoNamespace.inputComplete,
                ["content-type": match.contentType],
                children: match.content.isEmpty ? [] : [.text(match.content)]
            )
        case .nomatch: XMLElement("nomatch", namespace: RayoNamespace.inputComplete)
        case .noinput: XMLElement("noinput", namespace: RayoNamespace.inputComplete)
        }
    }
}
