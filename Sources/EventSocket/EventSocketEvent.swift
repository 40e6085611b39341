import NIOCore

/// An event from FreeSWITCH: its headers (URL-decoded exactly once) and an optional body.
///
/// Event-plain bodies are indexed when the event is created, but a value is decoded only when it is read: a
/// CHANNEL event has about 150 headers and most handlers read a handful. JSON and XML events are decoded whole.
///
/// Values that FreeSWITCH writes as `_undef_` read as `""`. Array values (`ARRAY::a|:b` in plain and XML, real arrays
/// in JSON) read as one string through the subscript and element by element through ``values(for:)``.
public struct EventSocketEvent: Sendable {
    /// The wire encoding an event came in.
    public enum Format: String, Sendable, Hashable {
        /// `text/event-plain`: URL-encoded `Name: value` lines.
        case plain
        /// `text/event-json`: a JSON object, body in `_body`.
        case json
        /// `text/event-xml`: `<event><headers>…</headers><body>…</body></event>`.
        case xml
    }

    /// The encoding this event came in.
    public let format: Format
    private let storage: Storage

    private enum Storage: Sendable {
        case plain(PlainEventBody)
        case decoded(EventSocketHeaders, arrays: [String: [String]], body: String?)
    }

    /// Parses the body of a `text/event-plain` frame.
    public init(plain bytes: ByteBuffer) throws {
        self.format = .plain
        self.storage = .plain(try PlainEventBody(bytes))
    }

    /// Parses an event frame of any of the three formats.
    public init(frame: EventSocketFrame) throws {
        let body = frame.body ?? ByteBuffer()
        switch frame.contentType {
        case .eventPlain:
            try self.init(plain: body)
        case .eventJSON:
            let decoded = try JSONEventParser.parse(body)
            self.init(format: .json, headers: decoded.headers, arrays: decoded.arrays, body: decoded.body)
        case .eventXML:
            let decoded = try XMLEventParser.parse(body)
            self.init(format: .xml, headers: decoded.headers, arrays: [:], body: decoded.body)
        default:
            throw EventSocketError(.malformedEvent, "frame of type '\(frame.contentType)' is not an event")
        }
    }

    /// An event whose headers are URL-encoded lines read from the wire, decoded when read: the channel data of an
    /// outbound `connect` reply.
    init(encodedLines headers: EventSocketHeaders) {
        self.format = .plain
        if let index = headers.index {
            self.storage = .plain(PlainEventBody(lines: index))
        } else {
            let decoded = headers.map { (name: $0.name, value: Self.normalize(PercentDecoding.decode($0.value))) }
            self.storage = .decoded(EventSocketHeaders(decoded), arrays: [:], body: nil)
        }
    }

    /// Creates an event from decoded headers, as a test or a `sendevent` would build it.
    public init(headers: EventSocketHeaders, body: String? = nil) {
        self.init(format: .plain, headers: headers, arrays: [:], body: body)
    }

    private init(format: Format, headers: EventSocketHeaders, arrays: [String: [String]], body: String?) {
        self.format = format
        self.storage = .decoded(headers, arrays: arrays, body: body)
    }

    /// The first value of a header, URL-decoded, or `nil` when the event has no such header.
    public subscript(_ name: String) -> String? {
        switch storage {
        case .plain(let plain): plain.value(named: name)
        case .decoded(let headers, _, _): headers[name]
        }
    }

    /// Every element of an array header (`ARRAY::a|:b`, or a JSON array), or the one value of a plain header.
    public func values(for name: String) -> [String] {
        if case .decoded(_, let arrays, _) = storage,
            let array = arrays.first(where: { EventSocketHeaders.namesMatch($0.key, name) })?.value
        {
            return array
        }
        guard let value = self[name] else { return [] }
        return Self.splitArray(value)
    }

    /// All headers, decoded, in wire order (JSON: FreeSWITCH's object order is not kept).
    public var headers: EventSocketHeaders {
        switch storage {
        case .plain(let plain): plain.allHeaders()
        case .decoded(let headers, _, _): headers
        }
    }

    /// The event's body (the text after the inner `Content-Length`, `_body` in JSON, `<body>` in XML).
    public var body: String? {
        switch storage {
        case .plain(let plain): plain.body.map { String(buffer: $0) }
        case .decoded(_, _, let body): body
        }
    }

    /// The value of the last header named `name`, URL-decoded. For a header that occurs once and that FreeSWITCH
    /// writes after the channel's own (`Application-UUID`; a `connect` reply's `Reply-Text`), the same value as the
    /// subscript, found without walking the whole event.
    package func lastValue(named name: StaticString) -> String? {
        switch storage {
        case .plain(let plain): plain.lastValue(named: name)
        case .decoded(let headers, _, _): headers.values(for: name.description).last
        }
    }

    /// `Event-Name`, e.g. `CHANNEL_ANSWER` or `CUSTOM`.
    public var name: String { self["Event-Name"] ?? "" }
    /// `Event-Subclass` of a CUSTOM event, e.g. `sofia::register`.
    public var subclass: String? { self["Event-Subclass"] }
    /// The channel the event is about (`Unique-ID`), if any.
    public var uniqueID: String? { self["Unique-ID"] }
    /// `Job-UUID` of a BACKGROUND_JOB.
    public var jobUUID: String? { self["Job-UUID"] }
    /// `Application-UUID` of CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE: the `Event-UUID` sent with `sendmsg`.
    public var applicationUUID: String? { self["Application-UUID"] }

    /// A channel variable carried by the event (`variable_<name>`).
    public func variable(_ name: String) -> String? { self["variable_" + name] }

    /// Splits FreeSWITCH's `ARRAY::a|:b|:c` form; any other value is a one-element array.
    public static func splitArray(_ value: String) -> [String] {
        guard value.hasPrefix("ARRAY::") else { return [value] }
        return value.dropFirst(7).split(separator: "|:", omittingEmptySubsequences: false).map(String.init)
    }

    /// FreeSWITCH writes an empty value as `_undef_`.
    static func normalize(_ value: String) -> String { value == "_undef_" ? "" : value }
}

/// The body of an event-plain frame (or the header block of a `connect` reply): the raw lines with their index, and
/// the inner body. Values are URL-decoded when read.
private struct PlainEventBody: Sendable {
    private let index: HeaderIndex
    let body: ByteBuffer?

    init(_ buffer: ByteBuffer) throws {
        let index = try HeaderIndex(buffer, stoppingAtBlankLine: true, expectedLines: 160)
        self.index = index
        guard let blankLine = index.blankLine,
            let contentLength = index.firstValue(named: "Content-Length", { Int(String(decoding: $0, as: UTF8.self)) }),
            let contentLength, contentLength > 0
        else {
            self.body = nil
            return
        }
        let bodyStart = blankLine + 2
        let length = min(contentLength, buffer.readableBytes - bodyStart)
        if length < contentLength {
            throw EventSocketError(
                .malformedEvent,
                "event body declares Content-Length \(contentLength) but only \(length) bytes follow"
            )
        }
        self.body = buffer.getSlice(at: buffer.readerIndex + bodyStart, length: length)
    }

    /// Lines that carry no inner body, such as a frame's header block.
    init(lines index: HeaderIndex) {
        self.index = index
        self.body = nil
    }

    func value(named name: String) -> String? {
        index.firstValue(named: name, Self.decodedValue)
    }

    func lastValue(named name: StaticString) -> String? {
        index.lastValue(named: name, Self.decodedValue)
    }

    func allHeaders() -> EventSocketHeaders {
        EventSocketHeaders(index.fields(value: Self.decodedValue))
    }

    private static func decodedValue(_ raw: UnsafeRawBufferPointer) -> String {
        EventSocketEvent.normalize(PercentDecoding.decode(raw: raw))
    }
}
