import NIOCore

/// A block of `Name: value` lines kept as the bytes that arrived, with an index of where each name and value lie.
///
/// Frame header blocks and event-plain bodies share this shape. Indexing is one pass over the bytes with no
/// allocation per line; a value becomes a `String` only when someone reads it. That matters on the outbound path:
/// the `connect` reply carries the whole channel (about 200 headers), and a session reads a handful of them.
struct HeaderIndex: Sendable {
    /// Where one line's name and value lie, as offsets from the start of ``bytes``' readable bytes.
    struct Span: Sendable {
        var nameStart: UInt32
        var nameLength: UInt32
        var valueStart: UInt32
        var valueLength: UInt32

        var name: Range<Int> { Int(nameStart)..<Int(nameStart + nameLength) }
        var value: Range<Int> { Int(valueStart)..<Int(valueStart + valueLength) }
    }

    /// The indexed bytes (and, for an event-plain body, whatever follows the blank line).
    let bytes: ByteBuffer
    let spans: [Span]
    /// With `stoppingAtBlankLine`, the offset of the "\n\n" that ended the lines, if there was one.
    let blankLine: Int?

    /// Indexes the lines of `buffer`. With `stoppingAtBlankLine`, indexing ends at the first blank line (an
    /// event-plain body's inner body follows it). A line without a colon is a malformed frame.
    init(_ buffer: ByteBuffer, stoppingAtBlankLine: Bool, expectedLines: Int = 4) throws {
        guard buffer.readableBytes <= UInt32.max else {
            throw EventSocketError(.headerBlockTooLarge, "a header block of \(buffer.readableBytes) bytes")
        }
        var spans: [Span] = []
        spans.reserveCapacity(expectedLines)
        blankLine = try buffer.withUnsafeReadableBytes { bytes in
            try HeaderLines.forEach(in: bytes, stoppingAtBlankLine: stoppingAtBlankLine) { name, value in
                spans.append(
                    Span(
                        nameStart: UInt32(truncatingIfNeeded: name.lowerBound),
                        nameLength: UInt32(truncatingIfNeeded: name.count),
                        valueStart: UInt32(truncatingIfNeeded: value.lowerBound),
                        valueLength: UInt32(truncatingIfNeeded: value.count)
                    )
                )
            }
        }
        self.bytes = buffer
        self.spans = spans
    }

    /// The number of lines.
    var count: Int { spans.count }

    /// Calls `body` with the raw value of the first line named `name` (ASCII case ignored); `nil` when there is none.
    func firstValue<Result>(named name: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        var name = name
        return name.withUTF8 { utf8 in
            let wanted = UnsafeRawBufferPointer(utf8)
            return bytes.withUnsafeReadableBytes { bytes in
                for span in spans where Int(span.nameLength) == wanted.count {
                    if ByteScan.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: bytes[span.name]), wanted) {
                        return body(UnsafeRawBufferPointer(rebasing: bytes[span.value]))
                    }
                }
                return nil
            }
        }
    }

    /// The first lines named `first` and `second` (ASCII case ignored), found in one pass: `firstValue` and
    /// `secondValue` are called with their raw values.
    func firstValues<First, Second>(
        named first: StaticString,
        _ second: StaticString,
        _ firstValue: (UnsafeRawBufferPointer) -> First,
        _ secondValue: (UnsafeRawBufferPointer) -> Second
    ) -> (First?, Second?) {
        let firstName = UnsafeRawBufferPointer(start: first.utf8Start, count: first.utf8CodeUnitCount)
        let secondName = UnsafeRawBufferPointer(start: second.utf8Start, count: second.utf8CodeUnitCount)
        return bytes.withUnsafeReadableBytes { bytes in
            var found: (First?, Second?) = (nil, nil)
            for span in spans {
                let length = Int(span.nameLength)
                guard length == firstName.count || length == secondName.count else { continue }
                let name = UnsafeRawBufferPointer(rebasing: bytes[span.name])
                if found.0 == nil, ByteScan.equalsIgnoringCase(name, firstName) {
                    found.0 = firstValue(UnsafeRawBufferPointer(rebasing: bytes[span.value]))
                    if found.1 != nil { break }
                } else if found.1 == nil, ByteScan.equalsIgnoringCase(name, secondName) {
                    found.1 = secondValue(UnsafeRawBufferPointer(rebasing: bytes[span.value]))
                    if found.0 != nil { break }
                }
            }
            return found
        }
    }

    /// Calls `body` with the raw value of the last line named `name` (ASCII case ignored); `nil` when there is none.
    /// For the headers FreeSWITCH appends after a channel's 100-odd (an event's own, a reply's), this finds them
    /// at once where ``firstValue(named:_:)`` would walk past the whole channel.
    func lastValue<Result>(named name: StaticString, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        let wanted = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return bytes.withUnsafeReadableBytes { bytes in
            for span in spans.reversed() where Int(span.nameLength) == wanted.count {
                if ByteScan.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: bytes[span.name]), wanted) {
                    return body(UnsafeRawBufferPointer(rebasing: bytes[span.value]))
                }
            }
            return nil
        }
    }

    /// Calls `body` with the raw values of every line named `name`, in order.
    func allValues<Result>(named name: String, _ body: (UnsafeRawBufferPointer) -> Result) -> [Result] {
        var name = name
        return name.withUTF8 { utf8 in
            let wanted = UnsafeRawBufferPointer(utf8)
            return bytes.withUnsafeReadableBytes { bytes in
                spans.lazy
                    .filter {
                        Int($0.nameLength) == wanted.count
                            && ByteScan.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: bytes[$0.name]), wanted)
                    }
                    .map { body(UnsafeRawBufferPointer(rebasing: bytes[$0.value])) }
            }
        }
    }

    /// Every line as a `(name, value)` pair in order, each value passed through `value`.
    func fields(value: (UnsafeRawBufferPointer) -> String) -> [(name: String, value: String)] {
        bytes.withUnsafeReadableBytes { bytes in
            spans.map { span in
                (
                    String(decoding: bytes[span.name], as: UTF8.self),
                    value(UnsafeRawBufferPointer(rebasing: bytes[span.value]))
                )
            }
        }
    }
}
