import EventSocket
import NIOCore
import NIOTestUtils
import TestSupport
import Testing

/// The frame decoder against every real Event Socket capture, under every chunking of its input.
@Suite(.cpuBound)
struct FrameDecoderCaptureTests {
    @Test func indexListsTheKnownCaptures() {
        let names = Set(Fixtures.eslCaptureNames)
        for name in [
            "inbound-api-bgapi", "inbound-auth-bad", "inbound-auth-ok-events-plain", "inbound-events-json",
            "inbound-events-xml", "inbound-filters", "inbound-large-api", "inbound-log", "inbound-sendevent-custom",
            "inbound-userauth", "outbound-async-full", "outbound-caller-hangup", "outbound-dtmf",
            "outbound-getvar-api", "outbound-sync",
        ] {
            #expect(names.contains(name), "index.json does not list esl/\(name)")
        }
    }

    @Test(arguments: Fixtures.eslCaptureNames)
    func exchangeChunksRebuildTheStreams(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        #expect(capture.inChunks.count + capture.outChunks.count == capture.expectedChunkCount)
        #expect(Array(capture.inChunks.joined()) == capture.fromFreeSWITCH)
        #expect(Array(capture.outChunks.joined()) == capture.toFreeSWITCH)
    }

    /// All at once: the counts per Content-Type are those of `index.json`, nothing is left over, and every frame is
    /// exactly the bytes the independent framer finds, headers kept as sent.
    @Test(arguments: Fixtures.eslCaptureNames)
    func wholeStreamMatchesIndexCounts(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        let result = try FrameFeeder.decode(chunks: [ByteBuffer(bytes: capture.fromFreeSWITCH)])
        #expect(result.frames.countsByContentType == capture.expectedFrames)
        #expect(result.leftover == 0)

        let independent = try IndependentFramer.frames(in: capture.fromFreeSWITCH)
        try #require(result.frames.count == independent.count)
        for (index, (frame, reference)) in zip(result.frames, independent).enumerated() {
            #expect(frame.contentType.rawValue == reference.contentType, "frame \(index)")
            #expect((frame.body?.readableBytes ?? 0) == reference.bodyLength, "frame \(index)")
            #expect(frame.contentType.isKnown, "frame \(index): '\(frame.contentType)'")
            // Serialised again, the frame must be the very bytes it came from: no header lost, merged or altered.
            var wire = ""
            for (headerName, value) in frame.headers { wire += "\(headerName): \(value)\n" }
            var bytes = Array((wire + "\n").utf8)
            bytes += frame.body?.bytes ?? []
            #expect(bytes[...] == capture.fromFreeSWITCH[reference.range], "frame \(index) does not round-trip")
        }
    }

    /// One byte at a time, random chunkings with fixed seeds and the real TCP read boundaries all give the frames
    /// the whole stream gives.
    @Test(arguments: Fixtures.eslCaptureNames)
    func everyChunkingGivesTheSameFrames(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        let all = capture.fromFreeSWITCH[...]
        let reference = try FrameFeeder.decode(chunks: [ByteBuffer(bytes: all)]).frames
        try #require(reference.count == capture.expectedFrames.values.reduce(0, +))

        let exchange = try FrameFeeder.decode(chunks: capture.inChunks.map { ByteBuffer(bytes: $0) })
        expectSameFrames(exchange, reference, "exchange.jsonl chunks")

        let small = all.count <= Fixtures.smallCaptureLimit
        for (seed, maxChunk) in [(1, 16), (2, 512), (3, 9000), (4, 70000)] as [(UInt64, Int)]
        where small || maxChunk >= 512 {
            let chunks = FrameFeeder.random(all, seed: seed, maxChunk: maxChunk)
            expectSameFrames(try FrameFeeder.decode(chunks: chunks), reference, "seed \(seed), chunks ≤ \(maxChunk)")
        }

        if small {
            expectSameFrames(try FrameFeeder.decode(chunks: FrameFeeder.bytewise(all)), reference, "one byte at a time")
            return
        }
        // The large event captures: byte at a time and tiny chunks over three windows of whole frames.
        let independent = try IndependentFramer.frames(in: capture.fromFreeSWITCH)
        for window in Self.windows(of: independent, maxBytes: 24 * 1024) {
            let start = independent[window.lowerBound].range.lowerBound
            let end = independent[window.upperBound].range.upperBound
            let bytes = capture.fromFreeSWITCH[start..<end]
            let expected = Array(reference[window])
            expectSameFrames(
                try FrameFeeder.decode(chunks: FrameFeeder.bytewise(bytes)),
                expected,
                "one byte at a time, frames \(window)"
            )
            expectSameFrames(
                try FrameFeeder.decode(chunks: FrameFeeder.random(bytes, seed: 1, maxChunk: 16)),
                expected,
                "seed 1, chunks ≤ 16, frames \(window)"
            )
        }
    }

    /// NIO's own verifier: it feeds the frames one by one, byte by byte (ten times over) and all at once, in
    /// shuffled order, and checks what comes out. It is slow (a channel pipeline per byte), so the small captures go
    /// whole and the others send their smallest frame of each Content-Type.
    @Test(arguments: Fixtures.eslCaptureNames)
    func byteToMessageDecoderVerifierAcceptsTheCapture(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        let reference = try capture.frames()
        let independent = try IndependentFramer.frames(in: capture.fromFreeSWITCH)
        try #require(reference.count == independent.count)

        var chosen = Array(independent.indices)
        if capture.fromFreeSWITCH.count > Fixtures.verifierCaptureLimit {
            let size = { (index: Int) in independent[index].range.count }
            let byType = Dictionary(grouping: independent.indices) { independent[$0].contentType }
            let smallest = byType.values.compactMap { indices in indices.min { size($0) < size($1) } }
            chosen = smallest.filter { size($0) <= Fixtures.verifierFrameLimit }.sorted()
        }
        try #require(!chosen.isEmpty)
        let pairs = chosen.map { (ByteBuffer(bytes: capture.fromFreeSWITCH[independent[$0].range]), [reference[$0]]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { EventSocketFrameDecoder() }
    }

    /// Up to three runs of consecutive frames (start, middle, end), each at most `maxBytes` long.
    private static func windows(of frames: [IndependentFramer.Frame], maxBytes: Int) -> [ClosedRange<Int>] {
        func window(from start: Int) -> ClosedRange<Int> {
            var end = start
            var bytes = frames[start].range.count
            while end + 1 < frames.count, bytes + frames[end + 1].range.count <= maxBytes {
                end += 1
                bytes += frames[end].range.count
            }
            return start...end
        }
        var lastStart = frames.count - 1
        var bytes = frames[lastStart].range.count
        while lastStart > 0, bytes + frames[lastStart - 1].range.count <= maxBytes {
            lastStart -= 1
            bytes += frames[lastStart].range.count
        }
        return [window(from: 0), window(from: frames.count / 2), window(from: lastStart)]
    }
}

/// Records one issue naming the first frame that differs, rather than printing two arrays of frames.
func expectSameFrames(
    _ actual: FrameFeeder.Result,
    _ expected: [EventSocketFrame],
    _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.leftover == 0, "\(label): bytes left over", sourceLocation: sourceLocation)
    #expect(actual.frames.count == expected.count, "\(label): frame count", sourceLocation: sourceLocation)
    for (index, (frame, reference)) in zip(actual.frames, expected).enumerated() where frame != reference {
        Issue.record(
            "\(label): frame \(index) differs: \(frame.headers.fields) vs \(reference.headers.fields)",
            sourceLocation: sourceLocation
        )
        return
    }
}
