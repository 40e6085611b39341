/// One fuzzer input, read as a chunking followed by the bytes to parse.
///
/// A network parser must give the same result however the bytes are split into reads. The first byte says how many
/// chunk sizes follow (its low four bits, 0 to 15); each of those bytes is one chunk's size (0 to 255), used in turn
/// and again from the first until the payload is used up. With no sizes, or only zero sizes, the payload is one
/// chunk. The rest of the input is the payload, so that a seed made of a capture prefixed with one `0x00` byte is
/// that capture in a single read, and the fuzzer explores splits by mutating the first bytes.
public struct FuzzInput {
    /// The bytes to parse.
    public let payload: [UInt8]
    /// The sizes of the reads, used in turn; empty for a single read.
    public let chunkSizes: [Int]

    /// Splits a raw fuzzer input.
    public init(_ data: UnsafeRawBufferPointer) {
        guard let control = data.first else {
            self.payload = []
            self.chunkSizes = []
            return
        }
        let count = min(Int(control & 0x0F), data.count - 1)
        let sizes = data[1..<(1 + count)].map(Int.init)
        self.chunkSizes = sizes.allSatisfy { $0 == 0 } ? [] : sizes
        self.payload = Array(data[(1 + count)...])
    }

    /// The payload split into reads of ``chunkSizes``; a zero size is an empty read.
    public var chunks: [ArraySlice<UInt8>] {
        guard !chunkSizes.isEmpty else { return [payload[...]] }
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        var next = 0
        while start < payload.count {
            let end = min(payload.count, start + chunkSizes[next])
            chunks.append(payload[start..<end])
            start = end
            next = (next + 1) % chunkSizes.count
        }
        return chunks
    }
}
