import EventSocket
import NIOCore

/// A command as FreeSWITCH receives it from a client: the command line, its headers, and a body when it had a
/// `Content-Length`.
public struct ClientCommand: Sendable, Hashable, CustomStringConvertible {
    /// The command line, e.g. `api status` or `sendmsg`.
    public var line: String
    /// Headers after the command line, in order.
    public var headers: EventSocketHeaders
    /// The body, when one was sent.
    public var body: String?

    /// The first word of the line (`api`, `sendmsg`, …).
    public var verb: String { String(line.prefix { $0 != " " }) }
    /// The rest of the line after the first word.
    public var arguments: String { String(line.drop { $0 != " " }.dropFirst()) }

    public var description: String { line.hasPrefix("auth ") ? "auth ******" : line }
}

/// Splits a client's byte stream into ``ClientCommand``s, as mod_event_socket does: lines up to a blank line, then
/// `Content-Length` body bytes.
struct ClientCommandDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = ClientCommand

    private var pending: (ClientCommand, Int)?

    mutating func decode(buffer: inout ByteBuffer) throws -> ClientCommand? {
        if let (command, length) = pending {
            guard let body = buffer.readString(length: length) else { return nil }
            pending = nil
            var complete = command
            complete.body = body
            return complete
        }
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: [UInt8(ascii: "\n"), UInt8(ascii: "\n")]) else {
            if buffer.readableBytes > 1 << 20 { throw EventSocketError(.headerBlockTooLarge, "command over 1 MiB") }
            return nil
        }
        let length = end.lowerBound - view.startIndex
        let text = buffer.readString(length: length)!
        buffer.moveReaderIndex(forwardBy: 2)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        guard !lines.isEmpty else { return nil }
        let line = lines.removeFirst()
        var headers = EventSocketHeaders()
        for header in lines {
            guard let colon = header.firstIndex(of: ":") else { continue }
            headers.append(
                name: String(header[..<colon]),
                value: String(header[header.index(after: colon)...].drop { $0 == " " })
            )
        }
        let command = ClientCommand(line: line, headers: headers, body: nil)
        if let contentLength = headers["Content-Length"].flatMap({ Int($0) }), contentLength > 0 {
            pending = (command, contentLength)
            return try decode(buffer: &buffer)
        }
        return command
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ClientCommand? {
        try decode(buffer: &buffer)
    }
}
