import EventSocket
import Foundation
import NIOCore
import Testing

/// The real FreeSWITCH captures in `Tests/Fixtures` (recorded traffic of FreeSWITCH 1.10.12; see its README).
///
/// They are part of the repository, so no test skips for want of them.
enum Fixtures {
    /// `<package root>/Tests/Fixtures`, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/EventSocketTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures")
        .standardizedFileURL

    /// `index.json`, or `nil` when it is unreadable (a test then fails in ``capture(_:)``).
    static let index: FixtureIndex? = {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("index.json")) else { return nil }
        return try? JSONDecoder().decode(FixtureIndex.self, from: data)
    }()

    /// The Event Socket capture names (`inbound-api-bgapi`, …) listed in `index.json`; empty if index.json is unreadable.
    static let eslCaptureNames: [String] = (index?.captures ?? [])
        .filter { $0.folder.hasPrefix("esl/") }
        .map { String($0.folder.dropFirst("esl/".count)) }

    /// Captures small enough to feed whole through every chunking, including one byte at a time and NIO's
    /// `ByteToMessageDecoderVerifier`; the 0.6 to 1.1 MB event captures are sampled instead.
    static let smallCaptureLimit = 160 * 1024

    /// Captures whose every byte is fed to NIO's verifier, which drip-feeds its input ten times over through a
    /// channel pipeline (about a millisecond a byte in a debug build).
    static let verifierCaptureLimit = 4 * 1024

    /// The largest frame a sampled capture gives the verifier.
    static let verifierFrameLimit = 3 * 1024

    private static let cache: [String: Result<ESLCapture, any Error>] = {
        var loaded: [String: Result<ESLCapture, any Error>] = [:]
        for entry in index?.captures ?? [] where entry.folder.hasPrefix("esl/") {
            loaded[String(entry.folder.dropFirst("esl/".count))] = Result { try ESLCapture(entry: entry) }
        }
        return loaded
    }()

    /// A loaded capture; throws when it is not listed or its files cannot be read.
    static func capture(_ name: String) throws -> ESLCapture {
        guard let result = cache[name] else {
            throw FixtureError("capture '\(name)' is not in \(root.path)/index.json")
        }
        return try result.get()
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The parts of `index.json` the tests use.
struct FixtureIndex: Decodable, Sendable {
    struct Entry: Decodable, Sendable {
        var folder: String
        var chunks: Int
        var bytes: [String: Int]
        var framesByContentType: [String: Int]?

        enum CodingKeys: String, CodingKey {
            case folder, chunks, bytes
            case framesByContentType = "frames_by_content_type"
        }
    }

    var captures: [Entry]
}

/// One line of `exchange.jsonl`.
private struct ExchangeLine: Decodable {
    var dir: String
    var len: Int
    var b64: String
}

/// One `esl/<scenario>/` folder, loaded.
struct ESLCapture: Sendable {
    /// The scenario, e.g. `inbound-api-bgapi`.
    let name: String
    /// `frames_by_content_type` from `index.json`.
    let expectedFrames: [String: Int]
    /// Every byte FreeSWITCH sent.
    let fromFreeSWITCH: [UInt8]
    /// Every byte sent to FreeSWITCH.
    let toFreeSWITCH: [UInt8]
    /// The `in` chunks of `exchange.jsonl`, at their real TCP read boundaries.
    let inChunks: [[UInt8]]
    /// The `out` chunks of `exchange.jsonl`.
    let outChunks: [[UInt8]]
    /// The chunk count `index.json` gives.
    let expectedChunkCount: Int

    fileprivate init(entry: FixtureIndex.Entry) throws {
        let folder = Fixtures.root.appendingPathComponent(entry.folder)
        name = String(entry.folder.dropFirst("esl/".count))
        guard let frames = entry.framesByContentType else {
            throw FixtureError("\(entry.folder) has no frames_by_content_type in index.json")
        }
        expectedFrames = frames
        expectedChunkCount = entry.chunks
        fromFreeSWITCH = Array(try Data(contentsOf: folder.appendingPathComponent("from-freeswitch.bin")))
        toFreeSWITCH = Array(try Data(contentsOf: folder.appendingPathComponent("to-freeswitch.bin")))
        let jsonl = try String(contentsOf: folder.appendingPathComponent("exchange.jsonl"), encoding: .utf8)
        var inChunks: [[UInt8]] = []
        var outChunks: [[UInt8]] = []
        let decoder = JSONDecoder()
        for line in jsonl.split(separator: "\n") where !line.isEmpty {
            let chunk = try decoder.decode(ExchangeLine.self, from: Data(line.utf8))
            guard let bytes = Data(base64Encoded: chunk.b64), bytes.count == chunk.len else {
                throw FixtureError("\(entry.folder)/exchange.jsonl: a chunk's base64 does not hold \(chunk.len) bytes")
            }
            if chunk.dir == "in" { inChunks.append(Array(bytes)) } else { outChunks.append(Array(bytes)) }
        }
        self.inChunks = inChunks
        self.outChunks = outChunks
    }

    /// The frames FreeSWITCH sent, decoded from the whole file at once.
    func frames() throws -> [EventSocketFrame] {
        try FrameFeeder.decode(chunks: [ByteBuffer(bytes: fromFreeSWITCH)]).frames
    }

    /// The frames of one Content-Type, in order.
    func frames(_ type: ContentType) throws -> [EventSocketFrame] {
        try frames().filter { $0.contentType == type }
    }

    /// The events FreeSWITCH sent, in order.
    func events() throws -> [EventSocketEvent] {
        try frames().filter(\.contentType.isEvent).map { try EventSocketEvent(frame: $0) }
    }

    /// The channel data of an outbound capture's `connect` reply (its first frame).
    func channelData() throws -> ChannelData {
        let first = try #require(try frames().first)
        return try ChannelData(connectReply: first)
    }
}

/// Feeds bytes to ``EventSocketFrameDecoder`` through NIO's own single-step driver, as a channel would.
enum FrameFeeder {
    struct Result {
        var frames: [EventSocketFrame]
        /// Bytes the decoder left unconsumed after `decodeLast(seenEOF: true)`.
        var leftover: Int
    }

    static func decode(
        chunks: some Sequence<ByteBuffer>,
        limits: EventSocketFrameDecoder.Limits = .init()
    ) throws -> Result {
        let processor = NIOSingleStepByteToMessageProcessor(EventSocketFrameDecoder(limits: limits))
        var frames: [EventSocketFrame] = []
        for chunk in chunks {
            try processor.process(buffer: chunk) { frames.append($0) }
        }
        try processor.finishProcessing(seenEOF: true) { frames.append($0) }
        return Result(frames: frames, leftover: processor.unprocessedBytes)
    }

    /// `bytes` cut into consecutive chunks of the given sizes (the last chunk takes what remains).
    static func chunks(of bytes: ArraySlice<UInt8>, sizes: some Sequence<Int>) -> [ByteBuffer] {
        var result: [ByteBuffer] = []
        var start = bytes.startIndex
        var sizes = sizes.makeIterator()
        while start < bytes.endIndex {
            let size = max(1, sizes.next() ?? bytes.count)
            let end = min(bytes.endIndex, start + size)
            result.append(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        return result
    }

    /// One buffer per byte.
    static func bytewise(_ bytes: ArraySlice<UInt8>) -> [ByteBuffer] {
        bytes.map { ByteBuffer(bytes: [$0]) }
    }

    /// Chunks of random sizes in `1...maxChunk`, reproducible from `seed`.
    static func random(_ bytes: ArraySlice<UInt8>, seed: UInt64, maxChunk: Int) -> [ByteBuffer] {
        var generator = SplitMix64(seed: seed)
        let sizes = AnyIterator { Int.random(in: 1...maxChunk, using: &generator) }
        return chunks(of: bytes, sizes: IteratorSequence(sizes))
    }
}

/// A small, fixed pseudo-random generator, so that "random" chunkings are the same on every run and platform.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// A framing parser written independently of the library, as the fixtures README describes it: headers end at the
/// first blank line, `Content-Length` body bytes follow. It gives each frame's byte range, so that the library's
/// frames can be checked against it and frames can be fed one by one.
enum IndependentFramer {
    struct Frame {
        var range: Range<Int>
        var contentType: String
        var bodyLength: Int
    }

    static func frames(in bytes: [UInt8]) throws -> [Frame] {
        var frames: [Frame] = []
        var start = 0
        while start < bytes.count {
            var end = start
            while end + 1 < bytes.count, !(bytes[end] == 0x0A && bytes[end + 1] == 0x0A) { end += 1 }
            guard end + 1 < bytes.count else { throw FixtureError("incomplete header block at byte \(start)") }
            var contentType = ""
            var bodyLength = 0
            for line in bytes[start..<end].split(separator: 0x0A) {
                let text = String(decoding: line, as: UTF8.self)
                if text.hasPrefix("Content-Type: ") { contentType = String(text.dropFirst(14)) }
                if text.hasPrefix("Content-Length: ") { bodyLength = Int(text.dropFirst(16)) ?? -1 }
            }
            guard bodyLength >= 0, end + 2 + bodyLength <= bytes.count else {
                throw FixtureError("bad or truncated body at byte \(start)")
            }
            let next = end + 2 + bodyLength
            frames.append(Frame(range: start..<next, contentType: contentType, bodyLength: bodyLength))
            start = next
        }
        return frames
    }
}

extension Array where Element == EventSocketFrame {
    /// How many frames there are of each Content-Type.
    var countsByContentType: [String: Int] {
        reduce(into: [:]) { counts, frame in counts[frame.contentType.rawValue, default: 0] += 1 }
    }
}

extension ByteBuffer {
    /// The readable bytes as an array, for exact comparisons.
    var bytes: [UInt8] { Array(readableBytesView) }
}
