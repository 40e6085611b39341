import Foundation
import XMPP

/// (e) XMPP stanzas parsed per second: the stream parser alone, one thread, no socket.
///
/// The corpus is what mod_rayo sent a client after its stream restart in the `rayo-c2s-call` capture (offers with
/// SIP headers, IQ results with `<ref>`, component completions with NLSML), plus the client's own commands: every
/// stanza a Rayo server parses or writes. It is repeated inside one stream until `stanzas` have gone, fed in reads
/// of `readSize` bytes, the way a socket delivers them.
struct StanzaParseBenchmark {
    var stanzas: Int
    var readSize = 16 * 1024

    struct Result {
        var stanzasPerSecond: Double
        var meanStanzaBytes: Int
        var seconds: Double
    }

    func run(fixtures folder: String?) throws -> Result {
        let root = (folder ?? EventCorpus.defaultFixturesFolder) + "/xmpp/rayo-c2s-call"
        var corpus: [UInt8] = []
        var count = 0
        for (file, after) in [("from-freeswitch.bin", "<success "), ("to-freeswitch.bin", "<iq ")] {
            guard let data = FileManager.default.contents(atPath: "\(root)/\(file)") else {
                throw BenchFailure("no capture at \(root)/\(file)")
            }
            let text = String(decoding: data, as: UTF8.self)
            // The stanzas after the restart's stream header (and without the closing tag).
            guard let start = text.range(of: after) else { throw BenchFailure("\(file): no '\(after)'") }
            var body = String(text[start.lowerBound...])
            if let header = body.range(of: "<stream:stream") {
                let afterHeader = body[header.lowerBound...].firstIndex(of: ">")!
                body = String(body[body.index(after: afterHeader)...])
            }
            body = body.replacingOccurrences(of: "</stream:stream>", with: "")
            let parser = XMLStreamParser()
            _ = try parser.parse(Array(StreamHeader.client(to: "rayo.localhost").utf8))
            let events = try parser.parse(Array(body.utf8))
            count += events.count { if case .stanza = $0 { true } else { false } }
            corpus += Array(body.utf8)
        }
        guard count > 0 else { throw BenchFailure("no stanzas in the corpus") }
        let repeats = (stanzas + count - 1) / count
        var stream = Array(StreamHeader.client(to: "rayo.localhost").utf8)
        stream.reserveCapacity(stream.count + corpus.count * repeats)
        for _ in 0..<repeats { stream += corpus }

        let parser = XMLStreamParser()
        var parsed = 0
        let started = ContinuousClock.now
        try stream.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + readSize, bytes.count)
                for event in try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) {
                    if case .stanza = event { parsed += 1 }
                }
                offset = end
            }
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        guard parsed == repeats * count else {
            throw BenchFailure("parsed \(parsed) stanzas, expected \(repeats * count)")
        }
        return Result(
            stanzasPerSecond: Double(parsed) / seconds,
            meanStanzaBytes: corpus.count / count,
            seconds: seconds
        )
    }
}
