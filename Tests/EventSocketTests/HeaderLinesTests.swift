import TestSupport
import Testing

@testable import EventSocket

/// The word-at-a-time line splitter against a byte-at-a-time reference, on blocks built to put line feeds, colons and
/// carriage returns at every offset of a 64-bit word, and on the shapes that matter (blank line, no trailing newline).
@Suite struct HeaderLinesTests {
    /// What the splitter reports: each line's name and value, then where it stopped, or the error.
    private enum Outcome: Equatable {
        case lines([String], stop: Int?)
        case malformed
    }

    /// The obvious implementation: one byte at a time.
    private static func reference(_ bytes: [UInt8], stoppingAtBlankLine: Bool) -> Outcome {
        var lines: [String] = []
        var lineStart = 0
        var index = 0
        func emit(_ start: Int, _ end: Int) -> Bool {
            var end = end
            if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            guard end > start else { return true }
            guard let colon = bytes[start..<end].firstIndex(of: UInt8(ascii: ":")) else { return false }
            var valueStart = colon + 1
            if valueStart < end, bytes[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
            lines.append(
                String(decoding: bytes[start..<colon], as: UTF8.self) + "="
                    + String(decoding: bytes[valueStart..<end], as: UTF8.self)
            )
            return true
        }
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                guard emit(lineStart, index) else { return .malformed }
                if stoppingAtBlankLine, index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") {
                    return .lines(lines, stop: index)
                }
                lineStart = index + 1
            }
            index += 1
        }
        if lineStart < bytes.count, !emit(lineStart, bytes.count) { return .malformed }
        return .lines(lines, stop: nil)
    }

    private static func split(_ bytes: [UInt8], stoppingAtBlankLine: Bool) -> Outcome {
        var lines: [String] = []
        do {
            let stop = try bytes.withUnsafeBytes { raw in
                try HeaderLines.forEach(in: raw, stoppingAtBlankLine: stoppingAtBlankLine) { name, value in
                    lines.append(
                        String(decoding: raw[name], as: UTF8.self) + "="
                            + String(decoding: raw[value], as: UTF8.self)
                    )
                }
            }
            return .lines(lines, stop: stop)
        } catch {
            return .malformed
        }
    }

    @Test(.cpuBound) func agreesWithTheByteAtATimeReference() {
        var generator = SplitMix64(seed: 0x5EED)
        let alphabet = Array("abcXYZ-_:: \r\n\n%0".utf8)
        for round in 0..<20_000 {
            let length = Int(generator.next() % 40)
            var bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            if round % 3 == 0 { bytes = Array("Event-Name: X\n".utf8) + bytes }
            for stopping in [false, true] {
                let expected = Self.reference(bytes, stoppingAtBlankLine: stopping)
                let actual = Self.split(bytes, stoppingAtBlankLine: stopping)
                #expect(actual == expected, "input \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                if actual != expected { return }
            }
        }
    }

    @Test func findsTheBlankLineAtEveryOffsetOfAWord() {
        for padding in 0..<17 {
            let name = String(repeating: "N", count: padding + 1)
            let text = "\(name): v:w\r\nB: 2\n\nInner: body"
            let bytes = Array(text.utf8)
            let stop = text.utf8.count - "\n\nInner: body".utf8.count
            #expect(Self.split(bytes, stoppingAtBlankLine: true) == .lines(["\(name)=v:w", "B=2"], stop: stop))
            #expect(
                Self.split(bytes, stoppingAtBlankLine: false)
                    == .lines(["\(name)=v:w", "B=2", "Inner=body"], stop: nil)
            )
        }
    }

    @Test func aLineWithoutAColonIsMalformedWhereverItLies() {
        for padding in 0..<17 {
            let bytes = Array("A: 1\n\(String(repeating: "x", count: padding + 1))\nB: 2\n".utf8)
            #expect(Self.split(bytes, stoppingAtBlankLine: false) == .malformed)
        }
    }
}
