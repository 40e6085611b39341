import NIOCore

/// One message from FreeSWITCH: a header block and, when it has a `Content-Length`, exactly that many body bytes.
///
/// Header values are kept exactly as sent (not URL-decoded): only event bodies and the outbound `connect` reply are
/// URL-encoded, and those are decoded where they are interpreted (``EventSocketEvent``, ``ChannelData``).
public struct EventSocketFrame: Sendable, Hashable {
    /// The frame's headers, in wire order.
    public var headers: EventSocketHeaders {
        didSet { knownContentType = nil }
    }
    /// The body, when the frame had a non-zero `Content-Length`.
    public var body: ByteBuffer?
    /// The `Content-Type` the decoder found, so that it is not looked up again each time it is asked for (an
    /// outbound `connect` reply has it after some 200 channel headers).
    private var knownContentType: ContentType?

    /// Creates a frame.
    public init(headers: EventSocketHeaders, body: ByteBuffer? = nil) {
        self.headers = headers
        self.body = body
    }

    init(headers: EventSocketHeaders, body: ByteBuffer?, contentType: ContentType) {
        self.headers = headers
        self.body = body
        self.knownContentType = contentType
    }

    /// The frame's `Content-Type`; a frame without one is reported as an empty, unknown type.
    public var contentType: ContentType {
        knownContentType ?? ContentType(rawValue: headers["Content-Type"] ?? "")
    }

    /// Frames are equal when their headers and bodies are.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.headers == rhs.headers && lhs.body == rhs.body }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(headers)
        hasher.combine(body)
    }

    /// For a `text/event-plain` body that starts with its `Event-Name` line, as FreeSWITCH writes the events it makes
    /// itself, whether that name is `name`; `nil` when the body does not start so (an event fired with `sendevent`
    /// starts with the sender's headers), and then only parsing it tells. Reads a few bytes and parses nothing, so
    /// that a connection can tell the events it must look into from those it may pass on.
    package func leadingEventName(is name: StaticString) -> Bool? {
        leadingEventName(among: [name]).map { $0 == 0 }
    }

    /// The same look as ``leadingEventName(is:)``, for several names at once: the index of the one the event has,
    /// `names.count` when it has another, `nil` when its body does not say up front.
    package func leadingEventName(among names: [StaticString]) -> Int? {
        guard let body else { return nil }
        return body.withUnsafeReadableBytes { bytes -> Int? in
            let prefix: StaticString = "Event-Name: "
            let start = prefix.utf8CodeUnitCount
            guard bytes.count > start, ByteScan.equals(UnsafeRawBufferPointer(rebasing: bytes[..<start]), prefix),
                let end = ByteScan.firstIndex(of: UInt8(ascii: "\n"), in: bytes, from: start)
            else { return nil }
            let name = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            return names.firstIndex { ByteScan.equals(name, $0) } ?? names.count
        }
    }

    /// The body as UTF-8 text (invalid sequences repaired), or `""` when there is none.
    public var bodyText: String {
        guard let body else { return "" }
        return String(buffer: body)
    }
}
