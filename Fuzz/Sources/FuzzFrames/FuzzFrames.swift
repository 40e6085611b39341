import EventSocket
import LibFuzzer
import NIOCore

// Bytes from FreeSWITCH (or from anything that connects to an outbound listener) through the frame decoder, in the
// chunking the input's first bytes choose, then every frame through the reader its Content-Type calls for: events
// of the three formats, command replies, channel data, disconnect notices, log lines.
//
// Besides crashes, leaks and hangs, it checks what the decoder promises: the same frames and the same error
// whatever the chunking, and only EventSocketError thrown.

/// Small limits, so that inputs of a few KiB reach the limit checks.
private let limits = EventSocketFrameDecoder.Limits(maxHeaderBlockBytes: 2048, maxContentLength: 4096)

/// What decoding a byte stream gave: its frames, and the error that ended it, if any.
private struct Outcome: Equatable {
    var frames: [EventSocketFrame] = []
    var error: EventSocketError.Code?
}

/// Decodes reads one after the other, as a channel would, compacting the buffer between reads.
private func decode(_ reads: [ArraySlice<UInt8>]) -> Outcome {
    var decoder = EventSocketFrameDecoder(limits: limits)
    var buffer = ByteBuffer()
    var outcome = Outcome()
    do {
        for read in reads {
            buffer.writeBytes(read)
            while let frame = try decoder.decode(buffer: &buffer) { outcome.frames.append(frame) }
            buffer.discardReadBytes()
        }
        while let frame = try decoder.decodeLast(buffer: &buffer, seenEOF: true) { outcome.frames.append(frame) }
    } catch let error as EventSocketError {
        outcome.error = error.code
    } catch {
        fatalError("the decoder threw \(type(of: error)), not EventSocketError: \(error)")
    }
    return outcome
}

/// Reads every header of an event by name, and checks that each one is found again (a name that was not UTF-8 reads
/// repaired, and so cannot be).
private func inspect(_ event: EventSocketEvent) {
    for (name, _) in event.headers where !name.unicodeScalars.contains("\u{FFFD}") {
        guard event[name] != nil, !event.values(for: name).isEmpty else {
            fatalError("header '\(name)' is listed but not found by name")
        }
    }
    _ = (event.name, event.subclass, event.uniqueID, event.jobUUID, event.applicationUUID, event.body)
    _ = event.variable("sip_call_id")
}

/// Reads a frame the way a connection does, by its Content-Type.
private func interpret(_ frame: EventSocketFrame) {
    _ = frame.bodyText
    switch frame.contentType {
    case .eventPlain, .eventJSON, .eventXML:
        if let event = try? EventSocketEvent(frame: frame) { inspect(event) }
    case .commandReply, .apiResponse:
        let reply = CommandReply(frame)
        _ = (reply.text, reply.isError, reply.message, reply.jobUUID)
        if let channel = try? ChannelData(connectReply: frame) {
            inspect(channel.event)
            _ = (channel.uniqueID, channel.socketMode)
        }
    case .disconnectNotice:
        let notice = DisconnectNotice(frame)
        _ = (notice.isLinger, notice.controlledSessionUUID)
    case .logData:
        let line = LogLine(frame)
        _ = (line.level, line.file, line.function, line.line, line.channelUUID, line.text)
    default:
        // An event body without its frame, as a test or a user's code may hand one in.
        if let body = frame.body, let event = try? EventSocketEvent(plain: body) { inspect(event) }
    }
}

/// One input, any bytes.
private let test: FuzzTest = { data, count in
    let input = FuzzInput(UnsafeRawBufferPointer(fuzzerInput: data, count: count))
    let whole = decode([input.payload[...]])
    if !input.chunkSizes.isEmpty {
        let chunked = decode(input.chunks)
        guard chunked == whole else {
            fatalError("chunking \(input.chunkSizes) changed the outcome: \(chunked) instead of \(whole)")
        }
    }
    for frame in whole.frames { interpret(frame) }
    return 0
}

/// The program: libFuzzer's driver running the test.
@main
enum FramesFuzzer {
    static func main() { runFuzzer(test) }
}
