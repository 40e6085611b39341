import LibFuzzer
import Rayo
import XMPP

// A client's XMPP stream into the Rayo server: the stream parser (libexpat, restricted XML, limits) in the chunking
// the input's first bytes choose, then every stanza and each of its children through the Rayo parsers the server
// uses (call commands, component requests and commands, events).
//
// Besides crashes, leaks and hangs, it checks that the parser gives the same events whatever the chunking, and fails
// or not alike, with the same stream error for the peer. (The error's code may differ where expat needs more bytes
// to see an error at the very start of a document: a read cut there fails on garbage that a longer read would
// still hold as a partial token, and the invalid UTF-8 after it is then reported instead. Both tell the peer
// `<not-well-formed/>`.)

/// Small limits, so that inputs of a few KiB reach the limit checks.
private let limits = XMLStreamLimits(maxStanzaBytes: 4096, maxDepth: 16, maxAttributes: 16)

/// What parsing a stream gave: its events, or the stream error a server sends for the error that ended it.
private enum Outcome: Equatable {
    case events([XMLStreamEvent])
    case failed(StreamError.Condition)
}

/// Parses reads one after the other, then the end of input, as a connection would.
private func parse(_ reads: [ArraySlice<UInt8>]) -> Outcome {
    let parser = XMLStreamParser(limits: limits)
    var events: [XMLStreamEvent] = []
    do {
        for read in reads { events += try parser.parse(read) }
        try parser.finish()
    } catch {
        return .failed(error.streamErrorCondition)
    }
    return .events(events)
}

/// Runs an element through every Rayo parser that may see it.
private func interpret(_ element: XMLElement) {
    _ = try? RayoCommand.parse(element)
    _ = try? RayoComponentRequest.parse(element)
    _ = try? RayoComponentCommand.parse(element)
    _ = try? RayoEvent.parse(element)
    _ = try? RayoComponentEvent.parse(element)
}

/// One input, any bytes.
private let test: FuzzTest = { data, count in
    let input = FuzzInput(UnsafeRawBufferPointer(fuzzerInput: data, count: count))
    let whole = parse([input.payload[...]])
    if !input.chunkSizes.isEmpty {
        let chunked = parse(input.chunks)
        guard chunked == whole else {
            fatalError("chunking \(input.chunkSizes) changed the outcome: \(chunked) instead of \(whole)")
        }
    }
    guard case .events(let events) = whole else { return 0 }
    for case .stanza(let stanza) in events {
        interpret(stanza)
        for child in stanza.elements {
            interpret(child)
            for grandchild in child.elements { interpret(grandchild) }
        }
    }
    return 0
}

/// The program: libFuzzer's driver running the test.
@main
enum XMPPFuzzer {
    static func main() { runFuzzer(test) }
}
