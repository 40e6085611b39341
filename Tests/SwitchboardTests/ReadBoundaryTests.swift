import EventSocket
import Foundation
import NIOCore
import NIOEmbedded
import TestSupport
import Testing

@testable import Switchboard

/// The channel handler frames what FreeSWITCH sends whatever the reads cut it into: a frame begun in one read is
/// completed from the next (copying only what it needs) and the rest of that read is framed in place.
@Suite("Frames cut across reads", .cpuBound)
struct ReadBoundaryTests {
    /// How a capture is cut into reads.
    enum Cut: Sendable, CustomTestStringConvertible {
        case whole
        case every(Int)
        /// Lengths from 1 to 20,000 bytes that jump about: the `step`-th multiples of a prime, modulo 20,000.
        case scattered(step: Int)

        var testDescription: String {
            switch self {
            case .whole: "in one read"
            case .every(let size): "in reads of \(size) bytes"
            case .scattered(let step): "in reads of 1 to 20,000 bytes (step \(step))"
            }
        }

        func pieces(of bytes: [UInt8]) -> [ArraySlice<UInt8>] {
            var pieces: [ArraySlice<UInt8>] = []
            var start = 0
            while start < bytes.count {
                let length: Int
                switch self {
                case .whole: length = bytes.count
                case .every(let size): length = size
                case .scattered(let step): length = (pieces.count + 1) * step * 7_919 % 20_000 + 1
                }
                let end = min(bytes.count, start + length)
                pieces.append(bytes[start..<end])
                start = end
            }
            return pieces
        }
    }

    @Test(
        "every event of a real capture arrives whole and in order, however the reads cut it",
        arguments: ["inbound-auth-ok-events-plain", "inbound-events-json", "inbound-events-xml"],
        [
            Cut.whole, .every(1_000), .every(4_095), .every(4_097), .every(65_536), .scattered(step: 7),
            .scattered(step: 11),
        ]
    )
    func eventsAcrossReads(capture: String, cut: Cut) async throws {
        let bytes = try Array(Data(contentsOf: Self.captureFile(capture)))
        let expected = try Self.eventsDecodedAtOnce(bytes)
        #expect(expected.count > 100)
        #expect(try await Self.eventsDelivered(cut.pieces(of: bytes)) == expected)
    }

    @Test("byte by byte: the first 40,000 bytes of a capture give the same events as in one read")
    func byteByByte() async throws {
        let bytes = try Array(Data(contentsOf: Self.captureFile("inbound-auth-ok-events-plain")).prefix(40_000))
        let expected = try await Self.eventsDelivered([bytes[...]])
        #expect(expected.count > 10)
        #expect(try await Self.eventsDelivered(Cut.every(1).pieces(of: bytes)) == expected)
    }

    @Test("a body of 200 KB cut into many reads, with frames before and after it in the same reads")
    func largeBody() async throws {
        var stream = ""
        let value = String(repeating: "x", count: 200_000)
        for (uniqueID, payload) in [("a", "short"), ("big", value), ("b", "tail")] {
            let body = "Event-Name: CUSTOM\nUnique-ID: \(uniqueID)\nPayload: \(payload)\n\n"
            stream += "Content-Length: \(body.utf8.count)\nContent-Type: text/event-plain\n\n\(body)"
        }
        let bytes = Array(stream.utf8)
        let expected = try await Self.eventsDelivered([bytes[...]])
        #expect(expected.map(\.uniqueID) == ["a", "big", "b"])
        for cut in [Cut.every(3_000), .every(65_536), .scattered(step: 3)] {
            #expect(try await Self.eventsDelivered(cut.pieces(of: bytes)) == expected, "\(cut.testDescription)")
        }
    }

    /// What the test compares of each event.
    struct Seen: Equatable {
        var name: String?
        var uniqueID: String?
        var headerCount: Int
        var body: String?
    }

    /// Feeds `pieces` as successive reads to a connection on an embedded channel; returns the events it passed on.
    static func eventsDelivered(_ pieces: [ArraySlice<UInt8>]) async throws -> [Seen] {
        let channel = EmbeddedChannel()
        let connection = try EventSocketConnection.install(
            on: channel,
            options: EventSocketConnection.Options(backlogWarningThreshold: 100_000, backlogLimit: 100_000),
            metrics: .disabled,
            logger: testLogger
        )
        for piece in pieces {
            try channel.writeInbound(channel.allocator.buffer(bytes: piece))
        }
        _ = try? channel.finish()
        var seen: [Seen] = []
        for await batch in connection.inputs {
            for delivery in batch {
                if case .event(let event) = delivery.input { seen.append(Seen(event)) }
            }
        }
        return seen
    }

    /// The events of `bytes` decoded from one buffer, without a channel.
    static func eventsDecodedAtOnce(_ bytes: [UInt8]) throws -> [Seen] {
        var buffer = ByteBuffer(bytes: bytes)
        var decoder = EventSocketFrameDecoder()
        var events: [Seen] = []
        while let frame = try decoder.decode(buffer: &buffer) {
            if frame.contentType.isEvent { events.append(Seen(try EventSocketEvent(frame: frame))) }
        }
        return events
    }

    static func captureFile(_ capture: String) -> URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/esl/\(capture)/from-freeswitch.bin")
    }
}

extension ReadBoundaryTests.Seen {
    init(_ event: EventSocketEvent) {
        self.init(
            name: event.name,
            uniqueID: event.uniqueID,
            headerCount: event.headers.count,
            body: event.body
        )
    }
}
