import XMPP

/// An output component request (XEP-0327 §6.5.3): `<output xmlns='urn:xmpp:rayo:output:1'>` rendering one or more
/// documents (SSML, text, audio URLs) to a call or mixer.
///
/// Attributes left at their defaults are not written when serialized.
public struct RayoOutputRequest: Sendable, Hashable {
    /// Which input interrupts the output (`interrupt-on`, from earlier XEP-0327 drafts and Adhearsion's punchblock).
    public enum InterruptOn: String, Sendable, Hashable, CaseIterable {
        /// Any input.
        case any
        /// DTMF only.
        case dtmf
        /// Speech only.
        case voice
        /// Never interrupted.
        case none
    }

    /// A document to render: inline content (SSML, plain text) or a URL.
    public enum Document: Sendable, Hashable {
        /// A document fetched from `url`; `contentType` is only echoed when the client gave one.
        case url(String, contentType: String? = nil)
        /// A document carried inline (usually CDATA), e.g. `application/ssml+xml`.
        case inline(contentType: String, body: String)
    }

    /// The content type assumed for an inline document without one: SSML, the type every server must support.
    public static let defaultContentType = "application/ssml+xml"

    /// The documents, rendered in order; at least one.
    public var documents: [Document]
    /// Which input interrupts the output; `nil` when not given (not interrupted).
    public var interruptOn: InterruptOn?
    /// How far into the output rendering starts (`start-offset`). Default 0.
    public var startOffset: Duration
    /// Whether the component starts paused (`start-paused`). Default `false`.
    public var startPaused: Bool
    /// Silence between repeats (`repeat-interval`). Default 0.
    public var repeatInterval: Duration
    /// How many times the documents are played (`repeat-times`); 0 repeats until stopped. Default 1.
    public var repeatTimes: Int
    /// The longest the output may run, repeats included (`max-time`); `nil` (-1) for no limit. Default `nil`.
    public var maxTime: Duration?
    /// The media engine to render with (`renderer`); `nil` for the server's default.
    public var renderer: String?
    /// The TTS voice (`voice`); `nil` for the engine's default.
    public var voice: String?

    /// Creates an output request.
    public init(
        documents: [Document],
        interruptOn: InterruptOn? = nil,
        startOffset: Duration = .zero,
        startPaused: Bool = false,
        repeatInterval: Duration = .zero,
        repeatTimes: Int = 1,
        maxTime: Duration? = nil,
        renderer: String? = nil,
        voice: String? = nil
    ) {
        self.documents = documents
        self.interruptOn = interruptOn
        self.startOffset = startOffset
        self.startPaused = startPaused
        self.repeatInterval = repeatInterval
        self.repeatTimes = repeatTimes
        self.maxTime = maxTime
        self.renderer = renderer
        self.voice = voice
    }

    /// Parses and validates an `<output>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(
            element,
            name: "output",
            namespace: RayoNamespace.output,
            limits: limits
        )
        interruptOn = try reader.optionalChoice("interrupt-on", as: InterruptOn.self)
        startOffset = try reader.duration("start-offset", default: .zero)
        startPaused = try reader.bool("start-paused", default: false)
        repeatInterval = try reader.duration("repeat-interval", default: .zero)
        repeatTimes = try reader.count("repeat-times", default: 1, maximum: limits.maxRepeatTimes)
        maxTime = try reader.timeout("max-time")
        renderer = try reader.nonEmpty("renderer")
        voice = try reader.nonEmpty("voice")
        let children = reader.children("document")
        guard !children.isEmpty else { throw reader.error("output must contain at least one document") }
        try reader.checkCount(children, of: "document")
        var documents: [Document] = []
        for child in children {
            let (url, contentType, body) = try InlineOrURL.parse(
                child,
                name: "document",
                parent: "output",
                defaultContentType: Self.defaultContentType
            )
            if let url {
                documents.append(.url(url, contentType: contentType))
            } else {
                documents.append(.inline(contentType: contentType ?? Self.defaultContentType, body: body))
            }
        }
        self.documents = documents
    }

    /// The `<output xmlns='urn:xmpp:rayo:output:1'>` element.
    public var element: XMLElement {
        var element = XMLElement(
            "output",
            namespace: RayoNamespace.output,
            [
                "interrupt-on": interruptOn?.rawValue,
                "start-offset": startOffset == .zero ? nil : ComponentAttribute.milliseconds(startOffset),
                "start-paused": startPaused ? "true" : nil,
                "repeat-interval": repeatInterval == .zero ? nil : ComponentAttribute.milliseconds(repeatInterval),
                "repeat-times": repeatTimes == 1 ? nil : String(repeatTimes),
                "max-time": maxTime.map(ComponentAttribute.milliseconds),
                "renderer": renderer,
                "voice": voice,
            ]
        )
        for document in documents {
            switch document {
            case .url(let url, let contentType):
                element.append(XMLElement("document", ["content-type": contentType, "url": url]))
            case .inline(let contentType, let body):
                element.append(XMLElement("document", ["content-type": contentType], children: [.text(body)]))
            }
        }
        return element
    }
}

/// Parsing shared by `<document>` and `<grammar>`: a URL, or a content type and an inline body, never both.
enum InlineOrURL {
    static func parse(
        _ child: XMLElement,
        name: String,
        parent: String,
        defaultContentType: String
    ) throws(RayoParseError) -> (url: String?, contentType: String?, body: String) {
        let contentType = child[attribute: "content-type"]
        if let contentType, contentType.trimmingXMLWhitespace.isEmpty {
            throw RayoParseError(element: name, message: "\(parent) \(name) content-type must not be empty")
        }
        let body = InlineContent.body(of: child)
        let hasBody = !body.trimmingXMLWhitespace.isEmpty
        if let url = child[attribute: "url"] {
            guard !url.trimmingXMLWhitespace.isEmpty else {
                throw RayoParseError(element: name, message: "\(parent) \(name) url must not be empty")
            }
            guard !hasBody else {
                throw RayoParseError(
                    element: name,
                    message: "\(parent) \(name) must have either a url or inline content, not both"
                )
            }
            return (url, contentType, "")
        }
        guard hasBody else {
            throw RayoParseError(element: name, message: "\(parent) \(name) needs a url attribute or inline content")
        }
        return (nil, contentType ?? defaultContentType, body)
    }
}

/// The direction of an output `<seek>`.
public enum RayoSeekDirection: String, Sendable, Hashable, CaseIterable {
    /// Later in the output.
    case forward
    /// Earlier in the output.
    case back
}

/// A command to a running output component (`urn:xmpp:rayo:output:1`).
public enum RayoOutputCommand: Sendable, Hashable {
    /// `<pause/>`: stop rendering at the current marker.
    case pause
    /// `<resume/>`: continue from the pause marker.
    case resume
    /// `<seek direction amount>`: move the play marker.
    case seek(direction: RayoSeekDirection, amount: Duration)
    /// `<speed-up/>`: faster by one unit.
    case speedUp
    /// `<speed-down/>`: slower by one unit.
    case speedDown
    /// `<volume-up/>`: louder by one unit.
    case volumeUp
    /// `<volume-down/>`: quieter by one unit.
    case volumeDown

    /// Parses an output command; `nil` when the element is not one (another namespace or an unknown name).
    public static func parse(
        _ element: XMLElement,
        limits: RayoComponentLimits = .init()
    ) throws(RayoParseError) -> RayoOutputCommand? {
        guard element.namespace == RayoNamespace.output else { return nil }
        switch element.name {
        case "pause": return .pause
        case "resume": return .resume
        case "speed-up": return .speedUp
        case "speed-down": return .speedDown
        case "volume-up": return .volumeUp
        case "volume-down": return .volumeDown
        case "seek":
            let reader = try ComponentElementReader(
                element,
                name: "seek",
                namespace: RayoNamespace.output,
                limits: limits
            )
            let direction: RayoSeekDirection = try reader.requiredChoice(
                "direction",
                raw: try reader.required("direction")
            )
            let amount = try reader.requiredDuration("amount")
            return .seek(direction: direction, amount: amount)
        default: return nil
        }
    }

    /// The command element.
    public var element: XMLElement {
        switch self {
        case .pause: XMLElement("pause", namespace: RayoNamespace.output)
        case .resume: XMLElement("resume", namespace: RayoNamespace.output)
        case .speedUp: XMLElement("speed-up", namespace: RayoNamespace.output)
        case .speedDown: XMLElement("speed-down", namespace: RayoNamespace.output)
        case .volumeUp: XMLElement("volume-up", namespace: RayoNamespace.output)
        case .volumeDown: XMLElement("volume-down", namespace: RayoNamespace.output)
        case .seek(let direction, let amount):
            XMLElement(
                "seek",
                namespace: RayoNamespace.output,
                ["direction": direction.rawValue, "amount": ComponentAttribute.milliseconds(amount)]
            )
        }
    }
}

/// Why an output component completed, besides the common `stop`, `hangup` and `error`
/// (`urn:xmpp:rayo:output:complete:1`).
public enum RayoOutputCompletion: String, Sendable, Hashable, CaseIterable {
    /// `<finish/>`: every document was rendered.
    case finish
    /// `<max-time/>`: `max-time` elapsed (mod_rayo never reported this one).
    case maxTime = "max-time"

    /// Parses a completion reason element.
    public init(element: XMLElement) throws(RayoParseError) {
        self = try CompletionReason.parse(element, namespace: RayoNamespace.outputComplete, component: "output")
    }

    /// The reason element, to put inside `<complete xmlns='urn:xmpp:rayo:ext:1'>`.
    public var element: XMLElement {
        XMLElement(rawValue, namespace: RayoNamespace.outputComplete)
    }
}
