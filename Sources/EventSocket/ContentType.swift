/// The `Content-Type` of a frame from FreeSWITCH, which says how to read it.
///
/// Every type FreeSWITCH 1.10 sends has a constant here. A type this library does not know is kept as it came
/// (``isKnown`` is `false`) so that callers can decide what to do; it is never a decoding error.
public struct ContentType: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    /// The header value as it came on the wire.
    public let rawValue: String

    /// Creates a content type from its header value.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The greeting on an inbound connection: FreeSWITCH waits for `auth` or `userauth`.
    public static let authRequest = ContentType(rawValue: "auth/request")
    /// The answer to a command: `Reply-Text: +OK …` or `-ERR …`.
    public static let commandReply = ContentType(rawValue: "command/reply")
    /// The answer to `api`: the command's output is the body.
    public static let apiResponse = ContentType(rawValue: "api/response")
    /// An event whose body is URL-encoded `Name: value` lines.
    public static let eventPlain = ContentType(rawValue: "text/event-plain")
    /// An event whose body is a JSON object.
    public static let eventJSON = ContentType(rawValue: "text/event-json")
    /// An event whose body is an XML document.
    public static let eventXML = ContentType(rawValue: "text/event-xml")
    /// FreeSWITCH is about to close the socket, or (with `Content-Disposition: linger`) the call ended and the socket
    /// lingers.
    public static let disconnectNotice = ContentType(rawValue: "text/disconnect-notice")
    /// A log line, sent after the `log` command.
    public static let logData = ContentType(rawValue: "log/data")
    /// The connection was refused by an ACL; FreeSWITCH closes it next.
    public static let rudeRejection = ContentType(rawValue: "text/rude-rejection")

    /// The constant for a known type (no new text made for the types of nearly every frame), or a new type.
    init(bytes: UnsafeRawBufferPointer) {
        if ByteScan.equals(bytes, "text/event-plain") {
            self = .eventPlain
        } else if ByteScan.equals(bytes, "command/reply") {
            self = .commandReply
        } else if ByteScan.equals(bytes, "api/response") {
            self = .apiResponse
        } else if ByteScan.equals(bytes, "text/disconnect-notice") {
            self = .disconnectNotice
        } else {
            self.init(rawValue: String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Whether this is one of the types FreeSWITCH 1.10 is known to send.
    public var isKnown: Bool {
        switch self {
        case .authRequest, .commandReply, .apiResponse, .eventPlain, .eventJSON, .eventXML, .disconnectNotice,
            .logData, .rudeRejection:
            true
        default:
            false
        }
    }

    /// Whether a frame of this type carries an event.
    public var isEvent: Bool { self == .eventPlain || self == .eventJSON || self == .eventXML }

    /// Whether a frame of this type answers a command (and so belongs to the command in flight).
    public var isReply: Bool { self == .commandReply || self == .apiResponse }

    public var description: String { rawValue }
}
