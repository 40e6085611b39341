import XMPP

/// A record component request (XEP-0327 §6.5.6): `<record xmlns='urn:xmpp:rayo:record:1'>`.
///
/// Attributes left at their defaults are not written when serialized.
public struct RayoRecordRequest: Sendable, Hashable {
    /// Which audio is recorded (`direction`).
    public enum Direction: String, Sendable, Hashable, CaseIterable {
        /// Both sent and received audio.
        case duplex
        /// Only the audio the caller sends.
        case send
        /// Only the audio the caller receives.
        case recv
    }

    /// A format-specific encoding hint (`<hint name value>`).
    public struct Hint: Sendable, Hashable {
        /// The hint's name as the recorder expects it.
        public var name: String
        /// The hint's value.
        public var value: String

        /// Creates a hint.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The default file format: `wav` per XEP-0327 (mod_rayo defaulted to `mp3`).
    public static let defaultFormat = "wav"

    /// The file format (`format`), e.g. `wav`, `mp3`. Default `wav`.
    public var format: String
    /// Whether a beep precedes recording (`start-beep`). Default `false`.
    public var startBeep: Bool
    /// Whether a beep marks the stop (`stop-beep`). Default `false`.
    public var stopBeep: Bool
    /// Whether the component starts paused (`start-paused`). Default `false`.
    public var startPaused: Bool
    /// The longest recording (`max-duration`); `nil` (-1) for no limit. Default `nil`.
    public var maxDuration: Duration?
    /// How long to wait for sound before giving up (`initial-timeout`); `nil` (-1) for ever. Default `nil`.
    public var initialTimeout: Duration?
    /// The silence after speech that ends the recording (`final-timeout`); `nil` (-1) for none. Default `nil`.
    public var finalTimeout: Duration?
    /// Which audio is recorded. Default ``Direction/duplex``.
    public var direction: Direction
    /// Whether all legs are mixed into one channel (`mix`). Default `false`.
    public var mix: Bool
    /// Encoding hints, in order.
    public var hints: [Hint]

    /// Creates a record request.
    public init(
        format: String = RayoRecordRequest.defaultFormat,
        startBeep: Bool = false,
        stopBeep: Bool = false,
        startPaused: Bool = false,
        maxDuration: Duration? = nil,
        initialTimeout: Duration? = nil,
        finalTimeout: Duration? = nil,
        direction: Direction = .duplex,
        mix: Bool = false,
        hints: [Hint] = []
    ) {
        self.format = format
        self.startBeep = startBeep
        self.stopBeep = stopBeep
        self.startPaused = startPaused
        self.maxDuration = maxDuration
        self.initialTimeout = initialTimeout
        self.finalTimeout = finalTimeout
        self.direction = direction
        self.mix = mix
        self.hints = hints
    }

    /// Parses and validates a `<record>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(
            element,
            name: "record",
            namespace: RayoNamespace.record,
            limits: limits
        )
        if let raw = reader.string("format") {
            let text = raw.trimmingXMLWhitespace
            guard !text.isEmpty, text.utf8.allSatisfy({ Self.isFormatByte($0) }) else {
                throw reader.error("record format must be a file format token such as wav or mp3, got '\(raw)'")
            }
            format = text
        } else {
            format = Self.defaultFormat
        }
        startBeep = try reader.bool("start-beep", default: false)
        stopBeep = try reader.bool("stop-beep", default: false)
        startPaused = try reader.bool("start-paused", default: false)
        maxDuration = try reader.timeout("max-duration")
        initialTimeout = try reader.timeout("initial-timeout")
        finalTimeout = try reader.timeout("final-timeout")
        direction = try reader.choice("direction", default: .duplex)
        mix = try reader.bool("mix", default: false)
        let children = reader.children("hint")
        try reader.checkCount(children, of: "hint")
        var hints: [Hint] = []
        for child in children {
            guard let name = child[attribute: "name"], !name.isEmpty else {
                throw RayoParseError(element: "hint", message: "missing record hint name attribute")
            }
            guard let value = child[attribute: "value"] else {
                throw RayoParseError(element: "hint", message: "missing record hint value attribute")
            }
            hints.append(Hint(name: name, value: value))
        }
        self.hints = hints
    }

    /// Letters, digits, `.`, `-`, `_` and `+`: enough for every format name, and safe in a file name.
    private static func isFormatByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x2D, 0x5F, 0x2B: true
        default: false
        }
    }

    /// The `<record xmlns='urn:xmpp:rayo:record:1'>` element.
    public var element: XMLElement {
        XMLElement(
            "record",
            namespace: RayoNamespace.record,
            [
                "format": format == Self.defaultFormat ? nil : format,
                "start-beep": startBeep ? "true" : nil,
                "stop-beep": stopBeep ? "true" : nil,
                "start-paused": startPaused ? "true" : nil,
                "max-duration": maxDuration.map(ComponentAttribute.milliseconds),
                "initial-timeout": initialTimeout.map(ComponentAttribute.milliseconds),
                "final-timeout": finalTimeout.map(ComponentAttribute.milliseconds),
                "direction": direction == .duplex ? nil : direction.rawValue,
                "mix": mix ? "true" : nil,
            ],
            children: hints.map { .element(XMLElement("hint", ["name": $0.name, "value": $0.value])) }
        )
    }
}

/// A command to a running record component (`urn:xmpp:rayo:record:1`).
public enum RayoRecordCommand: String, Sendable, Hashable, CaseIterable {
    /// `<pause/>`: stop recording, keeping the file open for appending.
    case pause
    /// `<resume/>`: continue recording into the same file.
    case resume

    /// Parses a record command; `nil` when the element is not one.
    public static func parse(_ element: XMLElement) -> RayoRecordCommand? {
        guard element.namespace == RayoNamespace.record else { return nil }
        return Self(rawValue: element.name)
    }

    /// The command element.
    public var element: XMLElement { XMLElement(rawValue, namespace: RayoNamespace.record) }
}

/// Why a record component completed, besides the common `stop`, `hangup` and `error`
/// (`urn:xmpp:rayo:record:complete:1`). The ``RayoRecording`` accompanies every reason, the common ones included.
public enum RayoRecordCompletion: String, Sendable, Hashable, CaseIterable {
    /// `<max-duration/>`: the recording reached `max-duration`.
    case maxDuration = "max-duration"
    /// `<initial-timeout/>`: no sound before `initial-timeout`.
    case initialTimeout = "initial-timeout"
    /// `<final-timeout/>`: silence for `final-timeout` after sound.
    case finalTimeout = "final-timeout"

    /// Parses a completion reason element.
    public init(element: XMLElement) throws(RayoParseError) {
        self = try CompletionReason.parse(element, namespace: RayoNamespace.recordComplete, component: "record")
    }

    /// The reason element, to put inside `<complete xmlns='urn:xmpp:rayo:ext:1'>`.
    public var element: XMLElement { XMLElement(rawValue, namespace: RayoNamespace.recordComplete) }
}

/// The finished recording, reported beside the completion reason:
/// `<recording xmlns='urn:xmpp:rayo:record:complete:1' uri duration size>`.
public struct RayoRecording: Sendable, Hashable {
    /// Where the recording is available (`uri`), e.g. `file:///var/lib/switchboard/recordings/….wav`.
    public var uri: String
    /// The recording's length (`duration`, milliseconds).
    public var duration: Duration
    /// The file's size in bytes (`size`). mod_rayo always reported 0.
    public var size: Int64

    /// Creates a recording report.
    public init(uri: String, duration: Duration, size: Int64) {
        self.uri = uri
        self.duration = duration
        self.size = size
    }

    /// Parses a `<recording>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(
            element,
            name: "recording",
            namespace: RayoNamespace.recordComplete,
            limits: limits
        )
        uri = try reader.required("uri")
        let rawDuration = try reader.required("duration")
        guard let milliseconds = ComponentElementReader.integer(rawDuration), milliseconds >= 0 else {
            throw reader.error(
                "recording duration must be a non-negative integer of milliseconds, got '\(rawDuration)'"
            )
        }
        duration = .milliseconds(milliseconds)
        let rawSize = try reader.required("size")
        guard let size = ComponentElementReader.integer(rawSize).map(Int64.init), size >= 0 else {
            throw reader.error("recording size must be a non-negative integer of bytes, got '\(rawSize)'")
        }
        self.size = size
    }

    /// The `<recording>` element.
    public var element: XMLElement {
        XMLElement(
            "recording",
            namespace: RayoNamespace.recordComplete,
            ["uri": uri, "duration": ComponentAttribute.milliseconds(duration), "size": String(size)]
        )
    }
}
