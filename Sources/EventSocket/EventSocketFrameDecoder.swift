import NIOCore

/// Splits the byte stream from FreeSWITCH into ``EventSocketFrame``s.
///
/// A frame is a header block ended by a blank line, followed by exactly `Content-Length` body bytes. The decoder
/// works under any chunking of its input, never holds more than the configured limits, and reports a frame that
/// breaks them with a typed ``EventSocketError`` instead of buffering without bound.
public struct EventSocketFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = EventSocketFrame

    /// How large a frame may be.
    public struct Limits: Sendable, Hashable {
        /// The largest header block, in bytes, before its blank line. An outbound `connect` reply carries every
        /// channel variable in its headers, so this is generous. Default 1 MiB.
        public var maxHeaderBlockBytes: Int
        /// The largest `Content-Length` accepted. FreeSWITCH itself caps bodies at 16 MiB. Default 16 MiB.
        public var maxContentLength: Int

        /// Creates limits; the defaults suit FreeSWITCH 1.10.
        public init(maxHeaderBlockBytes: Int = 1 << 20, maxContentLength: Int = 16 << 20) {
            self.maxHeaderBlockBytes = maxHeaderBlockBytes
            self.maxContentLength = maxContentLength
        }
    }

    private enum State {
        /// Looking for the end of a header block; `scanned` bytes are known to hold no blank line.
        case headers(scanned: Int)
        /// The header block is parsed; waiting for `length` body bytes.
        case body(EventSocketHeaders, length: Int)
    }

    /// The limits this decoder enforces.
    public let limits: Limits
    private var state: State = .headers(scanned: 0)

    /// Creates a decoder that enforces the given limits.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> EventSocketFrame? {
        while true {
            switch state {
            case .headers(let scanned):
                // Blank lines between frames carry nothing; FreeSWITCH sends some after bodies that end in "\n".
                if scanned == 0 {
                    while buffer.readableBytesView.first == UInt8(ascii: "\n") {
                        buffer.moveReaderIndex(forwardBy: 1)
                    }
                }
                guard let end = Self.endOfHeaderBlock(in: buffer.readableBytesView, from: scanned) else {
                    let available = buffer.readableBytes
                    // The block is at least `available` bytes, or `available - 1` when the last byte may be the
                    // first "\n" of the blank line: throw only once that is certain, so that a block of exactly the
                    // limit passes whatever the chunking.
                    let lastMayEndBlock = buffer.readableBytesView.last == UInt8(ascii: "\n")
                    if available - (lastMayEndBlock ? 1 : 0) > limits.maxHeaderBlockBytes {
                        throw EventSocketError(
                            .headerBlockTooLarge,
                            "header block exceeds \(limits.maxHeaderBlockBytes) bytes without a blank line"
                        )
                    }
                    // Re-scan the last byte next time: it may be the first "\n" of the "\n\n".
                    state = .headers(scanned: max(0, available - 1))
                    return nil
                }
                if end > limits.maxHeaderBlockBytes {
                    throw EventSocketError(
                        .headerBlockTooLarge,
                        "header block of \(end) bytes exceeds the limit of \(limits.maxHeaderBlockBytes)"
                    )
                }
                let block = buffer.readSlice(length: end)!
                buffer.moveReaderIndex(forwardBy: 2)
                let headers = try Self.parseHeaderBlock(block)
                let length = try contentLength(of: headers)
                if length == 0 {
                    state = .headers(scanned: 0)
                    return EventSocketFrame(headers: headers)
                }
                state = .body(headers, length: length)
            case .body(let headers, let length):
                guard let body = buffer.readSlice(length: length) else { return nil }
                state = .headers(scanned: 0)
                return EventSocketFrame(headers: headers, body: body)
            }
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> EventSocketFrame? {
        if let frame = try decode(buffer: &buffer) { return frame }
        // At EOF, a partial frame can never complete. Report it rather than dropping it in silence.
        if seenEOF {
            switch state {
            case .body(let headers, let length):
                throw EventSocketError(
                    .malformedFrame,
                    "connection closed after \(buffer.readableBytes) of \(length) body bytes of a "
                        + "\(headers["Content-Type"] ?? "frame without Content-Type")"
                )
            case .headers:
                if buffer.readableBytesView.contains(where: { $0 != UInt8(ascii: "\n") }) {
                    throw EventSocketError(
                        .malformedFrame,
                        "connection closed inside a header block (\(buffer.readableBytes) bytes)"
                    )
                }
                buffer.moveReaderIndex(to: buffer.writerIndex)
            }
        }
        return nil
    }

    private func contentLength(of headers: EventSocketHeaders) throws -> Int {
        guard let text = headers["Content-Length"] else { return 0 }
        guard let length = Int(text), length >= 0 else {
            throw EventSocketError(.malformedFrame, "Content-Length '\(text)' is not a non-negative integer")
        }
        if length > limits.maxContentLength {
            throw EventSocketError(
                .contentTooLarge,
                "Content-Length \(length) exceeds the limit of \(limits.maxContentLength) bytes"
            )
        }
        return length
    }

    /// The offset of the first "\n\n" at or after `start`, or `nil`.
    @inlinable
    static func endOfHeaderBlock(in bytes: ByteBufferView, from start: Int) -> Int? {
        var index = bytes.startIndex + start
        let end = bytes.endIndex
        while index < end {
            guard let newline = bytes[index..<end].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            let next = newline + 1
            if next == end { return nil }
            if bytes[next] == UInt8(ascii: "\n") { return newline - bytes.startIndex }
            index = next
        }
        return nil
    }

    /// Parses `Name: value` lines. Values are kept as sent; a line without a colon is a malformed frame.
    static func parseHeaderBlock(_ block: ByteBuffer) throws -> EventSocketHeaders {
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(4)
        try HeaderLines.forEach(in: block.readableBytesView) { name, value in
            fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return EventSocketHeaders(fields)
    }
}

/// Splits a block of `Name: value` lines, the shape of both frame headers and event-plain bodies.
enum HeaderLines {
    /// Calls `body` with the name and value bytes of each line; a trailing "\r" is dropped, empty lines skipped.
    @inlinable
    static func forEach(
        in bytes: ByteBufferView,
        _ body: (ByteBufferView.SubSequence, ByteBufferView.SubSequence) throws -> Void
    ) throws {
        var lineStart = bytes.startIndex
        let end = bytes.endIndex
        while lineStart < end {
            var lineEnd = bytes[lineStart..<end].firstIndex(of: UInt8(ascii: "\n")) ?? end
            let next = lineEnd == end ? end : lineEnd + 1
            if lineEnd > lineStart, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            if lineEnd > lineStart {
                guard let colon = bytes[lineStart..<lineEnd].firstIndex(of: UInt8(ascii: ":")) else {
                    let line = String(decoding: bytes[lineStart..<lineEnd].prefix(80), as: UTF8.self)
                    throw EventSocketError(.malformedFrame, "header line without a colon: '\(line)'")
                }
                var valueStart = colon + 1
                if valueStart < lineEnd, bytes[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
                try body(bytes[lineStart..<colon], bytes[valueStart..<lineEnd])
            }
            lineStart = next
        }
    }
}
