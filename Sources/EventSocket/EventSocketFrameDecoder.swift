import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
        case body(EventSocketHeaders, ContentType, length: Int)
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
                let found = buffer.withUnsafeReadableBytes { Self.endOfHeaderBlock(in: $0, from: scanned) }
                guard let end = found else {
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
                // Most blocks are two lines; an outbound `connect` reply is some 200: room for about one line per 24
                // bytes spares the index its regrowing.
                let index = try HeaderIndex(block, stoppingAtBlankLine: false, expectedLines: max(4, end / 24))
                let (length, contentType) = try framing(of: index)
                let headers = EventSocketHeaders(index: index)
                if length == 0 {
                    state = .headers(scanned: 0)
                    return EventSocketFrame(headers: headers, body: nil, contentType: contentType)
                }
                state = .body(headers, contentType, length: length)
            case .body(let headers, let contentType, let length):
                guard let body = buffer.readSlice(length: length) else { return nil }
                state = .headers(scanned: 0)
                return EventSocketFrame(headers: headers, body: body, contentType: contentType)
            }
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> EventSocketFrame? {
        if let frame = try decode(buffer: &buffer) { return frame }
        // At EOF, a partial frame can never complete. Report it rather than dropping it in silence.
        if seenEOF {
            switch state {
            case .body(let headers, _, let length):
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

    /// The body length and the content type of a header block, found in one pass over it (an outbound `connect`
    /// reply has both after some 200 channel headers).
    private func framing(of index: HeaderIndex) throws -> (length: Int, contentType: ContentType) {
        let (lengthText, contentType) = index.firstValues(
            named: "Content-Length",
            "Content-Type",
            { String(decoding: $0, as: UTF8.self) },
            ContentType.init(bytes:)
        )
        let type = contentType ?? ContentType(rawValue: "")
        guard let text = lengthText else { return (0, type) }
        guard let length = Int(text), length >= 0 else {
            throw EventSocketError(.malformedFrame, "Content-Length '\(text)' is not a non-negative integer")
        }
        if length > limits.maxContentLength {
            throw EventSocketError(
                .contentTooLarge,
                "Content-Length \(length) exceeds the limit of \(limits.maxContentLength) bytes"
            )
        }
        return (length, type)
    }

    /// The offset of the first "\n\n" at or after `start`, or `nil`.
    static func endOfHeaderBlock(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while let newline = ByteScan.firstIndex(of: UInt8(ascii: "\n"), in: bytes, from: index) {
            let next = newline + 1
            if next == bytes.count { return nil }
            if bytes[next] == UInt8(ascii: "\n") { return newline }
            index = next
        }
        return nil
    }

}

/// Splits a block of `Name: value` lines, the shape of both frame headers and event-plain bodies.
///
/// It works on the raw bytes of a buffer and reads them eight at a time: each 64-bit word yields, in a few
/// arithmetic operations, the positions of every line feed and colon in it. A CHANNEL event has some 150 short lines,
/// and a library search per line (or a byte loop) cost more than everything else the listener does with the event.
enum HeaderLines {
    /// Calls `body` with the offsets of each line's name and value; a trailing "\r" is dropped, empty lines skipped.
    /// With `stoppingAtBlankLine`, ends at the first "\n\n", whose offset it returns (`nil` when the block runs to
    /// the end): one pass both splits an event's headers and finds where its body starts.
    static func forEach(
        in bytes: UnsafeRawBufferPointer,
        stoppingAtBlankLine: Bool,
        _ body: (_ name: Range<Int>, _ value: Range<Int>) throws -> Void
    ) throws -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var lineStart = 0
        var colon = -1  // The first colon of the current line, once seen.

        /// Handles the line feed at `newline`; returns whether the blank line that ends the block follows it.
        func endLine(at newline: Int) throws -> Bool {
            try emit(lineStart, newline, colon: colon, in: bytes, body)
            lineStart = newline + 1
            colon = -1
            return stoppingAtBlankLine && lineStart < count && bytes[lineStart] == UInt8(ascii: "\n")
        }

        var offset = 0
        while offset + 8 <= count {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            var hits = zeroBytes(word ^ 0x0A0A_0A0A_0A0A_0A0A) | zeroBytes(word ^ 0x3A3A_3A3A_3A3A_3A3A)
            while hits != 0 {
                let position = offset &+ hits.trailingZeroBitCount &>> 3
                hits &= hits &- 1
                if bytes[position] == UInt8(ascii: "\n") {
                    if try endLine(at: position) { return position }
                } else if colon < 0 {
                    colon = position
                }
            }
            offset &+= 8
        }
        while offset < count {
            switch bytes[offset] {
            case UInt8(ascii: "\n"): if try endLine(at: offset) { return offset }
            case UInt8(ascii: ":") where colon < 0: colon = offset
            default: break
            }
            offset += 1
        }
        if lineStart < count { try emit(lineStart, count, colon: colon, in: bytes, body) }
        return nil
    }

    /// The high bit of each byte of `word` that is zero, and no other bit.
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((word & low7) &+ low7) | word | low7)
    }

    /// Passes one line (`start..<end`, before its line feed) to `body`, or skips it when empty.
    @inline(__always)
    private static func emit(
        _ start: Int,
        _ end: Int,
        colon: Int,
        in bytes: UnsafeRawBufferPointer,
        _ body: (_ name: Range<Int>, _ value: Range<Int>) throws -> Void
    ) throws {
        var end = end
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard end > start else { return }
        guard colon >= start, colon < end else {
            let line = String(decoding: bytes[start..<min(end, start + 80)], as: UTF8.self)
            throw EventSocketError(.malformedFrame, "header line without a colon: '\(line)'")
        }
        var valueStart = colon + 1
        if valueStart < end, bytes[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        try body(start..<colon, valueStart..<end)
    }
}

/// Byte searches and comparisons on raw memory.
enum ByteScan {
    /// The offset of the first `byte` in `bytes[start...]`, or `nil`; through the C library's vectorised `memchr`.
    static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let found = memchr(base + start, Int32(byte), bytes.count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// Whether `text` holds a CR or a LF.
    static func containsLineBreak(_ text: String) -> Bool {
        let found = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard let base = bytes.baseAddress else { return false }
            return memchr(base, 0x0A, bytes.count) != nil || memchr(base, 0x0D, bytes.count) != nil
        }
        return found ?? text.utf8.contains { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
    }

    /// Whether `text` holds `byte`.
    static func contains(_ byte: UInt8, in text: String) -> Bool {
        let found = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard let base = bytes.baseAddress else { return false }
            return memchr(base, Int32(byte), bytes.count) != nil
        }
        return found ?? text.utf8.contains(byte)
    }

    /// Whether `bytes` are exactly the bytes of `text`.
    static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        guard let base = bytes.baseAddress else { return true }
        return memcmp(base, text.utf8Start, bytes.count) == 0
    }

    /// Whether two runs of bytes are equal, ASCII letters compared without regard to case (header names).
    static func equalsIgnoringCase(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count
        where EventSocketHeaders.asciiLowercased(lhs[index]) != EventSocketHeaders.asciiLowercased(rhs[index]) {
            return false
        }
        return true
    }
}
