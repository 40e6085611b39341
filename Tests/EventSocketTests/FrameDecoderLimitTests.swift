import EventSocket
import NIOCore
import NIOTestUtils
import Testing

/// The frame decoder on hand-made input: limits, malformed and truncated frames, unusual but legal shapes.
@Suite struct FrameDecoderLimitTests {
    private static let smallLimits = EventSocketFrameDecoder.Limits(maxHeaderBlockBytes: 64, maxContentLength: 1000)

    /// Decodes `text` cut into the given chunks.
    private static func decode(
        _ chunks: [String],
        limits: EventSocketFrameDecoder.Limits = .init()
    ) throws -> FrameFeeder.Result {
        try FrameFeeder.decode(chunks: chunks.map { ByteBuffer(string: $0) }, limits: limits)
    }

    /// Every way of cutting `text` in two, plus one byte at a time.
    private static func chunkings(of text: String) -> [[ByteBuffer]] {
        let bytes = Array(text.utf8)
        var result = (0...bytes.count).map { [ByteBuffer(bytes: bytes[..<$0]), ByteBuffer(bytes: bytes[$0...])] }
        result.append(FrameFeeder.bytewise(bytes[...]))
        return result
    }

    // MARK: - Header block limit

    @Test func aHeaderBlockOverTheLimitThrowsWithoutBufferingMore() throws {
        var decoder = EventSocketFrameDecoder(limits: Self.smallLimits)
        var buffer = ByteBuffer()
        var thrownAfter: Int?
        for (count, byte) in zip(1..., "X-Long: \(String(repeating: "a", count: 200))".utf8) {
            buffer.writeInteger(byte)
            do {
                #expect(try decoder.decode(buffer: &buffer) == nil)
            } catch {
                #expect((error as? EventSocketError)?.code == .headerBlockTooLarge)
                thrownAfter = count
                break
            }
        }
        // Thrown as soon as the 65th byte shows the block cannot fit in 64, not once a blank line arrives.
        #expect(thrownAfter == 65)
    }

    @Test func aHeaderBlockOverTheLimitThrowsWhenItArrivesWhole() {
        let text = "Content-Type: command/reply\nReply-Text: +OK \(String(repeating: "x", count: 100))\n\n"
        let error = #expect(throws: EventSocketError.self) { try Self.decode([text], limits: Self.smallLimits) }
        #expect(error?.code == .headerBlockTooLarge)
    }

    /// A block of exactly the limit passes and one byte more fails, however the bytes are cut: the limit must not
    /// depend on whether the blank line's first "\n" came in the same read as its second.
    @Test func theHeaderLimitIsExactUnderEveryChunking() throws {
        let prefix = "Content-Type: command/reply\nReply-Text: +OK "
        let atLimit = prefix + String(repeating: "x", count: 64 - prefix.utf8.count)
        #expect(atLimit.utf8.count == 64)
        for chunks in Self.chunkings(of: atLimit + "\n\n") {
            let result = try FrameFeeder.decode(chunks: chunks, limits: Self.smallLimits)
            #expect(result.frames.count == 1, "\(chunks.map(\.readableBytes))")
            #expect(result.frames.first?.headers["Reply-Text"] == "+OK " + String(repeating: "x", count: 20))
        }
        for chunks in Self.chunkings(of: atLimit + "y\n\n") {
            let error = #expect(throws: EventSocketError.self, "\(chunks.map(\.readableBytes))") {
                try FrameFeeder.decode(chunks: chunks, limits: Self.smallLimits)
            }
            #expect(error?.code == .headerBlockTooLarge)
        }
    }

    // MARK: - Content-Length

    @Test func aContentLengthOverTheLimitThrowsBeforeTheBodyArrives() {
        var decoder = EventSocketFrameDecoder(limits: Self.smallLimits)
        var buffer = ByteBuffer(string: "Content-Type: api/response\nContent-Length: 1001\n\n")
        let error = #expect(throws: EventSocketError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error?.code == .contentTooLarge)
    }

    @Test func aContentLengthAtTheLimitIsAccepted() throws {
        let body = String(repeating: "b", count: 1000)
        let result = try Self.decode(
            ["Content-Type: api/response\nContent-Length: 1000\n\n", body],
            limits: Self.smallLimits
        )
        #expect(result.frames.count == 1)
        #expect(result.frames.first?.bodyText == body)
    }

    @Test(arguments: ["abc", "-1", "12x", "", "0x10", "1.5"])
    func aMalformedContentLengthThrows(_ value: String) {
        let text = "Content-Type: api/response\nContent-Length: \(value)\n\nbody"
        let error = #expect(throws: EventSocketError.self) { try Self.decode([text]) }
        #expect(error?.code == .malformedFrame)
    }

    @Test func aHeaderLineWithoutAColonThrows() {
        let error = #expect(throws: EventSocketError.self) {
            try Self.decode(["Content-Type: command/reply\nthis line has no colon\n\n"])
        }
        #expect(error?.code == .malformedFrame)
    }

    // MARK: - End of stream

    @Test(arguments: [
        "Content-Type: command/reply\nReply-Te",  // inside the header block
        "Content-Type: command/reply\nReply-Text: +OK\n",  // the blank line never came
        "Content-Type: api/response\nContent-Length: 10\n\n",  // no body byte
        "Content-Type: api/response\nContent-Length: 10\n\n+OK",  // part of the body
    ])
    func aFrameTruncatedAtEOFThrowsFromDecodeLast(_ text: String) throws {
        // Decoding alone only waits for more bytes…
        var decoder = EventSocketFrameDecoder()
        var buffer = ByteBuffer(string: "Content-Type: auth/request\n\n" + text)
        #expect(try decoder.decode(buffer: &buffer)?.contentType == .authRequest)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        // …and the end of the stream says they will never come.
        let error = #expect(throws: EventSocketError.self) { try decoder.decodeLast(buffer: &buffer, seenEOF: true) }
        #expect(error?.code == .malformedFrame)
    }

    @Test func trailingBlankLinesAtEOFAreNotAFrame() throws {
        let result = try Self.decode(["Content-Type: command/reply\nReply-Text: +OK\n\n", "\n\n\n"])
        #expect(result.frames.count == 1)
        #expect(result.leftover == 0)
    }

    // MARK: - Shapes

    @Test func anUnknownContentTypeIsAFrameNotAnError() throws {
        let result = try Self.decode([
            "Content-Type: text/x-future\nContent-Length: 3\n\nabc",
            "Content-Type: command/reply\nReply-Text: +OK\n\n",
        ])
        try #require(result.frames.count == 2)
        #expect(result.frames[0].contentType == ContentType(rawValue: "text/x-future"))
        #expect(!result.frames[0].contentType.isKnown)
        #expect(result.frames[0].bodyText == "abc")
        #expect(result.frames[1].contentType == .commandReply)
    }

    @Test func aFrameWithoutContentTypeHasAnEmptyUnknownType() throws {
        let result = try Self.decode(["Reply-Text: +OK\n\n"])
        #expect(result.frames.first?.contentType.rawValue == "")
        #expect(result.frames.first?.contentType.isKnown == false)
    }

    @Test func aNonASCIIBodyIsCountedInBytes() throws {
        let body = "Grüße aus Zürich ☎\nzweite Zeile\n"
        #expect(body.utf8.count != body.count)
        for chunks in Self.chunkings(
            of: "Content-Type: api/response\nContent-Length: \(body.utf8.count)\n\n\(body)"
                + "Content-Type: command/reply\nReply-Text: +OK\n\n"
        ) {
            let result = try FrameFeeder.decode(chunks: chunks)
            try #require(result.frames.count == 2)
            #expect(result.frames[0].bodyText == body)
            #expect(result.frames[0].body?.readableBytes == body.utf8.count)
            #expect(result.frames[1].headers["Reply-Text"] == "+OK")
        }
    }

    @Test func aBodyHoldingBlankLinesAndHeadersStaysOneBody() throws {
        let body = "Event-Name: CUSTOM\n\nContent-Type: command/reply\nReply-Text: -ERR fake\n\n"
        let result = try Self.decode([
            "Content-Type: text/event-plain\nContent-Length: \(body.utf8.count)\n\n\(body)"
        ])
        #expect(result.frames.count == 1)
        #expect(result.frames.first?.bodyText == body)
    }

    @Test func blankLinesBetweenFramesAreSkipped() throws {
        let result = try Self.decode([
            "\n\nContent-Type: command/reply\nReply-Text: +OK\n\n\n",
            "\nContent-Type: auth/request\n\n",
        ])
        #expect(result.frames.map(\.contentType) == [.commandReply, .authRequest])
    }

    @Test func headerValuesAreKeptAsSent() throws {
        let result = try Self.decode([
            "content-type: command/reply\nReply-Text: +OK a: b\nX-Tight:value\nX-Wide:  two\n"
                + "X-Dup: 1\nx-dup: 2\nX-Empty: \nX-Encoded: a%20b\n\n"
        ])
        let headers = try #require(result.frames.first?.headers)
        #expect(result.frames.first?.contentType == .commandReply)
        #expect(headers["REPLY-TEXT"] == "+OK a: b")
        #expect(headers["X-Tight"] == "value")
        #expect(headers["X-Wide"] == " two")
        #expect(headers["X-Dup"] == "1")
        #expect(headers.values(for: "X-DUP") == ["1", "2"])
        #expect(headers["X-Empty"] == "")
        #expect(headers["X-Encoded"] == "a%20b")
        #expect(headers["X-Missing"] == nil)
        #expect(headers.count == 8)
        #expect(
            headers.fields.map(\.name) == [
                "content-type", "Reply-Text", "X-Tight", "X-Wide", "X-Dup", "x-dup", "X-Empty", "X-Encoded",
            ]
        )
    }

    @Test func decodedHeadersBehaveLikeBuiltOnes() throws {
        let result = try Self.decode(["Content-Type: command/reply\nReply-Text: +OK\nX-Dup: 1\nX-Dup: 2\n\n"])
        var decoded = try #require(result.frames.first?.headers)
        let built: EventSocketHeaders = [
            "Content-Type": "command/reply", "Reply-Text": "+OK", "X-Dup": "1", "X-Dup": "2",
        ]
        #expect(decoded == built)
        #expect(decoded.hashValue == built.hashValue)
        #expect(decoded.contains("x-dup") && !decoded.contains("X-Du"))
        #expect(Array(decoded).map(\.value) == ["command/reply", "+OK", "1", "2"])

        decoded.append(name: "X-Dup", value: "3")
        #expect(decoded.values(for: "X-Dup") == ["1", "2", "3"])
        #expect(decoded.count == 5)
        #expect(decoded != built)
    }

    @Test func theVerifierAcceptsHandMadeFrames() throws {
        let nonASCII = "Grüße ☎\n"
        let pairs: [(String, [EventSocketFrame])] = [
            ("Content-Type: auth/request\n\n", [EventSocketFrame(headers: ["Content-Type": "auth/request"])]),
            (
                "Content-Type: api/response\nContent-Length: \(nonASCII.utf8.count)\n\n\(nonASCII)",
                [
                    EventSocketFrame(
                        headers: ["Content-Type": "api/response", "Content-Length": "\(nonASCII.utf8.count)"],
                        body: ByteBuffer(string: nonASCII)
                    )
                ]
            ),
            (
                "Content-Type: text/x-future\nContent-Length: 4\n\n\n\n\n\n",
                [
                    EventSocketFrame(
                        headers: ["Content-Type": "text/x-future", "Content-Length": "4"],
                        body: ByteBuffer(string: "\n\n\n\n")
                    )
                ]
            ),
            (
                "Content-Type: text/disconnect-notice\nContent-Disposition: linger\nContent-Length: 0\n\n",
                [
                    EventSocketFrame(headers: [
                        "Content-Type": "text/disconnect-notice", "Content-Disposition": "linger",
                        "Content-Length": "0",
                    ])
                ]
            ),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) { EventSocketFrameDecoder() }
    }

    @Test func contentTypeClassification() {
        let known: [ContentType] = [
            .authRequest, .commandReply, .apiResponse, .eventPlain, .eventJSON, .eventXML, .disconnectNotice,
            .logData, .rudeRejection,
        ]
        #expect(known.allSatisfy { $0.isKnown })
        #expect(known.filter(\.isEvent) == [.eventPlain, .eventJSON, .eventXML])
        #expect(known.filter(\.isReply) == [.commandReply, .apiResponse])
        #expect(ContentType.eventPlain.rawValue == "text/event-plain")
        #expect(ContentType(rawValue: "Text/Event-Plain").isKnown == false)
        #expect("\(ContentType.logData)" == "log/data")
    }
}
