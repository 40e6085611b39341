import NIOCore

/// One message from FreeSWITCH: a header block and, when it has a `Content-Length`, exactly that many body bytes.
///
/// Header values are kept exactly as sent (not URL-decoded): only event bodies and the outbound `connect` reply are
/// URL-encoded, and those are decoded where they are interpreted (``EventSocketEvent``, ``ChannelData``).
public struct EventSocketFrame: Sendable, Hashable {
    /// The frame's headers, in wire order.
    public var headers: EventSocketHeaders
    /// The body, when the frame had a non-zero `Content-Length`.
    public var body: ByteBuffer?

    /// Creates a frame.
    public init(headers: EventSocketHeaders, body: ByteBuffer? = nil) {
        self.headers = headers
        self.body = body
    }

    /// The frame's `Content-Type`; a frame without one is reported as an empty, unknown type.
    public var contentType: ContentType { ContentType(rawValue: headers["Content-Type"] ?? "") }

    /// The body as UTF-8 text (invalid sequences repaired), or `""` when there is none.
    public var bodyText: String {
        guard let body else { return "" }
        return String(buffer: body)
    }
}
