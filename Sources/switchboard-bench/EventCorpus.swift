import EventSocket
import Foundation
import NIOCore
import SwitchboardTesting

/// The CHANNEL_* `text/event-plain` frames the blaster replays, whole (outer headers and body), back to back in one
/// buffer that is sent over and over.
struct EventCorpus: Sendable {
    /// Every frame, back to back, exactly as FreeSWITCH sent them.
    let bytes: ByteBuffer
    /// The offset just past each frame in ``bytes``.
    let frameEnds: [Int]
    /// Where the frames came from, for the report.
    let source: String
    /// Consecutive runs of frames of about ``batchBytes`` each, covering the corpus: what one write sends.
    let batches: [Range<Int>]

    /// The size a write aims at: enough to keep the socket busy, small enough to respect writability closely.
    static let batchBytes = 64 * 1024

    init(frames: [ByteBuffer], source: String) {
        precondition(!frames.isEmpty, "an event corpus needs at least one frame")
        var bytes = ByteBuffer()
        var ends: [Int] = []
        for var frame in frames {
            bytes.writeBuffer(&frame)
            ends.append(bytes.writerIndex)
        }
        var batches: [Range<Int>] = []
        var first = 0
        for index in ends.indices {
            let start = first == 0 ? 0 : ends[first - 1]
            if ends[index] - start >= Self.batchBytes || index == ends.count - 1 {
                batches.append(first..<(index + 1))
                first = index + 1
            }
        }
        self.bytes = bytes
        self.frameEnds = ends
        self.source = source
        self.batches = batches
    }

    /// The number of distinct frames.
    var frameCount: Int { frameEnds.count }

    /// The mean size of a frame on the wire.
    var meanFrameBytes: Int { bytes.readableBytes / frameCount }

    /// The bytes of the first `events` frames sent, cycling through the corpus.
    func byteCount(forEvents events: Int) -> Int {
        let (cycles, rest) = events.quotientAndRemainder(dividingBy: frameCount)
        return cycles * bytes.readableBytes + (rest == 0 ? 0 : frameEnds[rest - 1])
    }

    /// The bytes of batch `index`, cut to at most `maxFrames` frames, and how many frames that is.
    func batch(_ index: Int, maxFrames: Int) -> (bytes: ByteBuffer, frames: Int) {
        let range = batches[index]
        let frames = min(range.count, maxFrames)
        let start = range.lowerBound == 0 ? 0 : frameEnds[range.lowerBound - 1]
        let end = frameEnds[range.lowerBound + frames - 1]
        return (bytes.getSlice(at: bytes.readerIndex + start, length: end - start)!, frames)
    }

    /// The same frames with every `Unique-ID` replaced by one: all the events of one channel, which the listener
    /// must hand over in order, one after the other (the worst case for its per-channel lanes). Frame sizes do not
    /// change (a UUID replaces a UUID).
    func singleChannel(uuid: String = "5f1c6b1e-0d9a-4c55-9b0e-3a4f2e7c8d61") -> EventCorpus {
        let needle = Array("\nUnique-ID: ".utf8)
        let replacement = Array(uuid.utf8)
        var frames: [ByteBuffer] = []
        var start = 0
        for end in frameEnds {
            var frame = Array(bytes.getBytes(at: bytes.readerIndex + start, length: end - start)!)
            if let found = frame.firstRange(of: needle), found.upperBound + replacement.count < frame.count,
                frame[found.upperBound + replacement.count] == UInt8(ascii: "\n")
            {
                frame.replaceSubrange(found.upperBound..<(found.upperBound + replacement.count), with: replacement)
            }
            frames.append(ByteBuffer(bytes: frame))
            start = end
        }
        return EventCorpus(frames: frames, source: source + ", all with one Unique-ID")
    }

    // MARK: Loading

    /// The capture the corpus comes from, inside the fixtures folder.
    static let capture = "esl/inbound-auth-ok-events-plain/from-freeswitch.bin"

    /// The fixtures folder of this package (`<package>/Tests/Fixtures`).
    static var defaultFixturesFolder: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // switchboard-bench
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // the package
            .appendingPathComponent("Tests/Fixtures")
            .standardizedFileURL.path
    }

    /// The CHANNEL_* frames of the real capture, or (when it is absent) frames built from SwitchboardTesting's
    /// channel template in the same plain format.
    static func load(fixtures folder: String?) throws -> EventCorpus {
        let path = (folder ?? defaultFixturesFolder) + "/" + capture
        guard let data = FileManager.default.contents(atPath: path) else {
            if folder != nil { throw BenchFailure("no capture at \(path)") }
            return synthetic()
        }
        let frames = try channelFrames(in: ByteBuffer(bytes: data))
        guard !frames.isEmpty else { throw BenchFailure("no CHANNEL_* text/event-plain frames in \(path)") }
        return EventCorpus(frames: frames, source: "\(frames.count) real CHANNEL_* frames of \(capture)")
    }

    /// Splits a capture into frames (headers up to the blank line, then `Content-Length` body bytes) and keeps the
    /// `text/event-plain` ones whose `Event-Name` starts with `CHANNEL_`.
    static func channelFrames(in capture: ByteBuffer) throws -> [ByteBuffer] {
        var input = capture
        var frames: [ByteBuffer] = []
        let blankLine: [UInt8] = [UInt8(ascii: "\n"), UInt8(ascii: "\n")]
        while true {
            while input.readableBytesView.first == UInt8(ascii: "\n") { input.moveReaderIndex(forwardBy: 1) }
            guard input.readableBytes > 0 else { break }
            let view = input.readableBytesView
            guard let end = view.firstRange(of: blankLine) else {
                throw BenchFailure("the capture ends inside a header block")
            }
            let headerText = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
            var contentType = ""
            var length = 0
            for line in headerText.split(separator: "\n") {
                if line.hasPrefix("Content-Type: ") { contentType = String(line.dropFirst(14)) }
                if line.hasPrefix("Content-Length: ") { length = Int(line.dropFirst(16)) ?? 0 }
            }
            let frameLength = end.upperBound - view.startIndex + length
            guard let frame = input.readSlice(length: frameLength) else {
                throw BenchFailure("the capture ends inside a frame body")
            }
            guard contentType == "text/event-plain" else { continue }
            let body = frame.getString(at: frame.readerIndex + frameLength - length, length: length) ?? ""
            if body.hasPrefix("Event-Name: CHANNEL_") || body.contains("\nEvent-Name: CHANNEL_") {
                frames.append(frame)
            }
        }
        return frames
    }

    /// 9 event names × 8 channels from `FakeEvent.channel`, encoded the way FreeSWITCH writes event-plain.
    static func synthetic() -> EventCorpus {
        let names = [
            "CHANNEL_CREATE", "CHANNEL_STATE", "CHANNEL_CALLSTATE", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE",
            "CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY",
        ]
        let uuids = (0..<8).map { _ in UUID().uuidString.lowercased() }
        var frames: [ByteBuffer] = []
        for name in names {
            for uuid in uuids {
                let event = FakeEvent.channel(name, uuid: uuid)
                let body =
                    event.headers.map { "\($0.name): \(PercentDecoding.encode($0.value))" }.joined(separator: "\n")
                    + "\n\n"
                frames.append(
                    ByteBuffer(string: "Content-Length: \(body.utf8.count)\nContent-Type: text/event-plain\n\n\(body)")
                )
            }
        }
        return EventCorpus(frames: frames, source: "\(frames.count) synthetic frames (fixtures not found)")
    }
}

/// A benchmark that could not run or did not finish.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
