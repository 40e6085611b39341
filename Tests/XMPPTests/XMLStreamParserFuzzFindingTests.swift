import Foundation
import Testing
import XMPP

/// The inputs in Tests/Fixtures/fuzz/FuzzXMPP that once made the XMPP fuzz target fail (see its README).
@Suite("XMLStreamParser fuzz findings")
struct XMLStreamParserFuzzFindingTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz/FuzzXMPP")

    /// The stream in a fuzzer input: what follows the chunking byte and the chunk sizes it announces.
    static func payload(_ name: String) throws -> [UInt8] {
        let input = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
        let control = try #require(input.first)
        return Array(input.dropFirst(1 + Int(control & 0x0F)))
    }

    /// The code of the first error when `stream` is read in pieces of `size` bytes (all at once for 0), then ended.
    static func firstErrorCode(_ stream: [UInt8], readsOf size: Int) -> XMLStreamError.Code? {
        let parser = XMLStreamParser()
        let step = size == 0 ? max(stream.count, 1) : size
        do {
            for start in stride(from: 0, to: stream.count, by: step) {
                _ = try parser.parse(stream[start..<min(stream.count, start + step)])
            }
            try parser.finish()
            return nil
        } catch {
            return error.code
        }
    }

    /// A control byte in an attribute value, then invalid UTF-8 further in the same tag: the control byte comes
    /// first, so the stream is not well-formed, in any reads (it was `invalidUTF8` when read whole).
    @Test func theFirstErrorWinsWhateverTheReads() throws {
        let stream = try Self.payload("control-byte-before-invalid-utf8")
        for size in [0, 1, 2, 3, 5, 7, 64] {
            #expect(Self.firstErrorCode(stream, readsOf: size) == .notWellFormed, "reads of \(size)")
        }
    }

    /// Invalid UTF-8 that comes before any other error is reported as such, in any reads.
    @Test func invalidUTF8FirstIsInvalidUTF8WhateverTheReads() {
        let stream = Array((XMLStreamParserTests.header + "<message to='a").utf8) + [0x9E] + Array("\u{1A}'/>".utf8)
        for size in [0, 1, 2, 3, 5, 7, 64] {
            #expect(Self.firstErrorCode(stream, readsOf: size) == .invalidUTF8, "reads of \(size)")
        }
    }
}
