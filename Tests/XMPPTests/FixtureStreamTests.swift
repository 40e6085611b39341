import Foundation
import Testing
import XMPP

/// Every mod_rayo capture in Tests/Fixtures/xmpp, in both directions, parsed under every chunking.
@Suite("XMLStreamParser on the mod_rayo captures")
struct FixtureStreamTests {
    static let folders = ["rayo-c2s-call", "rayo-c2s-call-loopback", "rayo-errors", "rayo-errors-authenticated"]

    enum Chunking: String, CaseIterable {
        case whole
        case oneByte
        case randomSeed1
        case randomSeed2
        case randomSeed3
        case capturedReads
    }

    @Test(arguments: folders, Direction.allCases)
    func countsMatchTheReadmeUnderEveryChunking(folder: String, direction: Direction) throws {
        let capture = try Capture(folder: folder)
        let bytes = try capture.bytes(direction)
        let expected = try capture.expectedCounts(direction)
        for chunking in Chunking.allCases {
            let chunks = try capture.chunks(direction, chunking: chunking, total: bytes)
            #expect(chunks.reduce(0) { $0 + $1.count } == bytes.count, "\(chunking) covers the file")
            let events = try Self.parse(chunks: chunks, restarts: Self.restartOffsets(bytes, direction: direction))
            #expect(Self.counts(events) == expected, "\(folder) \(direction) \(chunking)")
        }
    }

    @Test(arguments: folders, Direction.allCases)
    func everyStanzaSurvivesSerializationAndReparsing(folder: String, direction: Direction) throws {
        let capture = try Capture(folder: folder)
        let bytes = try capture.bytes(direction)
        let events = try Self.parse(chunks: [bytes], restarts: Self.restartOffsets(bytes, direction: direction))
        var stanzas = 0
        for case .stanza(let stanza) in events {
            stanzas += 1
            let reparsed = try XMLElement.parse(stanza.serialized())
            #expect(reparsed.resolved() == stanza.resolved(), "\(stanza.serialized())")
        }
        #expect(stanzas > 0)
    }

    @Test func theCapturedReadsAreTheFiles() throws {
        for folder in Self.folders {
            let capture = try Capture(folder: folder)
            for direction in Direction.allCases {
                let chunks = try capture.capturedReads(direction)
                let file = try capture.bytes(direction)
                #expect(Array(chunks.joined()) == file, "\(folder) \(direction)")
            }
        }
    }

    @Test func parsedStanzasCarryResolvedNamespacesAndXmlLang() throws {
        let capture = try Capture(folder: "rayo-c2s-call")
        let bytes = try capture.bytes(.fromFreeSWITCH)
        let events = try Self.parse(chunks: [bytes], restarts: Self.restartOffsets(bytes, direction: .fromFreeSWITCH))
        guard case .streamStart(let header)? = events.first else {
            Issue.record("no stream start")
            return
        }
        #expect(header.name == "stream" && header.namespace == XMPPNamespace.stream)
        #expect(header[attribute: "xml:lang"] == "en")
        #expect(header[attribute: "from"] == "rayo.localhost")
        let presences = events.compactMap { event -> XMLElement? in
            if case .stanza(let stanza) = event, stanza.name == "presence" { return stanza }
            return nil
        }
        let offer = try #require(presences.first?.child("offer", namespace: "urn:xmpp:rayo:1"))
        #expect(offer.children("header").count == 3)
        #expect(offer.children("header").first?[attribute: "value"] == "<sip:0000000000@127.0.0.1>;tag=XNK4XH0HcmDpa")
        let matches = presences.compactMap { $0.child("complete")?.child("match") }
        let match = try #require(matches.first)
        #expect(match.namespace == "urn:xmpp:rayo:input:complete:1")
        #expect(match.text.hasPrefix("<result xmlns='http://www.ietf.org/xml/ns/mrcpv2'"))
        let end = try #require(presences.last?.child("end"))
        #expect(end.child("hangup-command")?.namespace == "urn:xmpp:rayo:1")
    }

    @Test func cdataArrivesAsText() throws {
        let capture = try Capture(folder: "rayo-c2s-call")
        let bytes = try capture.bytes(.toFreeSWITCH)
        let events = try Self.parse(chunks: [bytes], restarts: Self.restartOffsets(bytes, direction: .toFreeSWITCH))
        let output = events.lazy.compactMap { event -> XMLElement? in
            if case .stanza(let stanza) = event { return stanza.child("output") }
            return nil
        }.first
        let document = try #require(output?.child("document"))
        #expect(document.text.hasPrefix("<speak version='1.0'"))
        #expect(document.children.count == 1)
    }

    // MARK: - Driving

    /// Parses `chunks`, resetting the parser when a chunk ends at a stream restart (after the client's `<auth>` or
    /// the server's `<success/>`), as a server does: a peer restarts only once SASL succeeded, so its new stream
    /// header never shares a read with the bytes before it. Chunks are split at the restart offsets.
    static func parse(chunks: [[UInt8]], restarts: [Int]) throws -> [XMLStreamEvent] {
        let parser = XMLStreamParser()
        var events: [XMLStreamEvent] = []
        var offset = 0
        var lastStanza: XMLElement?
        for chunk in split(chunks, at: restarts) {
            for event in try parser.parse(chunk) {
                events.append(event)
                if case .stanza(let stanza) = event { lastStanza = stanza }
            }
            offset += chunk.count
            if restarts.contains(offset) {
                guard let lastStanza, lastStanza.name == "auth" || lastStanza.name == "success" else {
                    Issue.record("a restart at byte \(offset) does not follow <auth> or <success/>")
                    return events
                }
                parser.reset()
            }
        }
        return events
    }

    /// Where a new document starts: each `<?xml` after the first byte (client) or each `<stream:stream` after the
    /// first (mod_rayo restarts without an XML declaration).
    static func restartOffsets(_ bytes: [UInt8], direction: Direction) -> [Int] {
        let marker = Array((direction == .toFreeSWITCH ? "<?xml" : "<stream:stream").utf8)
        var offsets: [Int] = []
        var index = 1
        while index + marker.count <= bytes.count {
            if bytes[index] == marker[0] && Array(bytes[index..<index + marker.count]) == marker {
                offsets.append(index)
            }
            index += 1
        }
        return offsets
    }

    static func split(_ chunks: [[UInt8]], at offsets: [Int]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var start = 0
        for chunk in chunks {
            var piece = chunk[...]
            for offset in offsets where offset > start && offset < start + chunk.count {
                let cut = offset - start - (chunk.count - piece.count)
                result.append(Array(piece.prefix(cut)))
                piece = piece.dropFirst(cut)
            }
            result.append(Array(piece))
            start += chunk.count
        }
        return result
    }

    /// Counts in the README's notation: `<stream:stream>`, `</stream:stream>`, `name` (no type), `name[type=x]`.
    static func counts(_ events: [XMLStreamEvent]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for event in events {
            switch event {
            case .streamStart: counts["<stream:stream>", default: 0] += 1
            case .streamEnd: counts["</stream:stream>", default: 0] += 1
            case .stanza(let stanza):
                var key = stanza.namespace == XMPPNamespace.stream ? "stream:" + stanza.name : stanza.name
                if let type = stanza[attribute: "type"] { key += "[type=\(type)]" }
                counts[key, default: 0] += 1
            }
        }
        return counts
    }
}

/// Which file of a capture.
enum Direction: String, CaseIterable, CustomTestStringConvertible {
    case fromFreeSWITCH = "from-freeswitch"
    case toFreeSWITCH = "to-freeswitch"

    var testDescription: String { rawValue }
}

/// One folder of Tests/Fixtures/xmpp.
struct Capture {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/xmpp")

    let folder: URL

    init(folder name: String) throws {
        folder = Self.root.appendingPathComponent(name)
    }

    func bytes(_ direction: Direction) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: folder.appendingPathComponent(direction.rawValue + ".bin")))
    }

    /// The reads and writes of `exchange.jsonl` in this direction (`out` is to FreeSWITCH).
    func capturedReads(_ direction: Direction) throws -> [[UInt8]] {
        let text = try String(contentsOf: folder.appendingPathComponent("exchange.jsonl"), encoding: .utf8)
        var chunks: [[UInt8]] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let dir = try #require(object["dir"] as? String)
            guard (dir == "out") == (direction == .toFreeSWITCH) else { continue }
            let encoded = try #require(object["b64"] as? String)
            let data = try #require(Data(base64Encoded: encoded))
            chunks.append([UInt8](data))
        }
        return chunks
    }

    func chunks(
        _ direction: Direction,
        chunking: FixtureStreamTests.Chunking,
        total bytes: [UInt8]
    ) throws
        -> [[UInt8]]
    {
        switch chunking {
        case .whole: return [bytes]
        case .oneByte: return bytes.map { [$0] }
        case .capturedReads: return try capturedReads(direction)
        case .randomSeed1, .randomSeed2, .randomSeed3:
            var generator = SplitMix64(seed: UInt64(chunking.rawValue.last!.asciiValue!))
            var chunks: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let length = Int.random(in: 1...40, using: &generator)
                chunks.append(Array(bytes[index..<min(index + length, bytes.count)]))
                index += length
            }
            return chunks
        }
    }

    /// The "Stanza counts" table of the README for this direction.
    func expectedCounts(_ direction: Direction) throws -> [String: Int] {
        let readme = try String(contentsOf: folder.appendingPathComponent("README.md"), encoding: .utf8)
        let header = direction == .fromFreeSWITCH ? "| from FreeSWITCH | count |" : "| to FreeSWITCH | count |"
        var counts: [String: Int] = [:]
        var inTable = false
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == header {
                inTable = true
                continue
            }
            guard inTable else { continue }
            if line.isEmpty { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2, cells[0].hasPrefix("`"), let count = Int(cells[1]) else { continue }
            counts[String(cells[0].dropFirst().dropLast())] = count
        }
        #expect(!counts.isEmpty, "README of \(folder.lastPathComponent) has a \(direction) table")
        return counts
    }
}

/// A seeded generator, so random chunkings are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
