/// Finds the first byte of a stream that breaks UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
/// U+10FFFF), however the stream is split: a sequence cut between two reads is carried over to the next.
///
/// ``XMLStreamParser`` checks its input with it before expat sees the bytes, so that invalid UTF-8 is reported as
/// such at the byte where it starts, whatever the reads, instead of being inferred after expat failed.
struct UTF8StreamValidator {
    /// Continuation bytes still expected for the sequence in progress.
    private var remaining = 0
    /// The range the next continuation byte must be in (narrower than 0x80...0xBF right after some lead bytes).
    private var nextLow: UInt8 = 0x80
    private var nextHigh: UInt8 = 0xBF

    /// Whether the bytes so far end inside a sequence.
    var isInsideSequence: Bool { remaining > 0 }

    /// Checks the next bytes of the stream; returns the offset in `bytes` of the first byte that cannot continue
    /// valid UTF-8, or `nil` when there is none. After a non-`nil` result the validator must not be used again.
    mutating func firstInvalidByte(in bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            if remaining == 0 {
                // Plain ASCII, eight bytes at a time.
                while index + 8 <= count,
                    bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index += 8
                }
                guard index < count else { return nil }
                let byte = bytes[index]
                switch byte {
                case 0x00...0x7F: break
                case 0xC2...0xDF: expect(1, 0x80, 0xBF)
                case 0xE0: expect(2, 0xA0, 0xBF)
                case 0xE1...0xEC, 0xEE...0xEF: expect(2, 0x80, 0xBF)
                case 0xED: expect(2, 0x80, 0x9F)
                case 0xF0: expect(3, 0x90, 0xBF)
                case 0xF1...0xF3: expect(3, 0x80, 0xBF)
                case 0xF4: expect(3, 0x80, 0x8F)
                default: return index
                }
            } else {
                let byte = bytes[index]
                guard byte >= nextLow, byte <= nextHigh else { return index }
                expect(remaining - 1, 0x80, 0xBF)
            }
            index += 1
        }
        return nil
    }

    private mutating func expect(_ count: Int, _ low: UInt8, _ high: UInt8) {
        remaining = count
        nextLow = low
        nextHigh = high
    }
}
