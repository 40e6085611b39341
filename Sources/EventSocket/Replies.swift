import NIOCore

/// FreeSWITCH's answer to a command: a `command/reply` (`Reply-Text: +OK …` or `-ERR …`) or an `api/response`
/// (output in the body).
public struct CommandReply: Sendable, Hashable {
    /// The frame as it came.
    public let frame: EventSocketFrame

    /// Wraps a reply frame.
    public init(_ frame: EventSocketFrame) { self.frame = frame }

    /// `Reply-Text` of a `command/reply`, or the body of an `api/response`.
    public var text: String {
        if frame.contentType == .apiResponse { return frame.bodyText }
        return frame.headers["Reply-Text"] ?? ""
    }

    /// Whether FreeSWITCH reported failure: `-ERR` at the start of `Reply-Text`, or of an api body (an api body
    /// that merely contains `-ERR` later on is output, not an error).
    public var isError: Bool {
        let text = self.text
        return text.hasPrefix("-ERR") || text.hasPrefix("-USAGE")
    }

    /// The text after `+OK ` or `-ERR `, without the trailing newline.
    public var message: String {
        var text = Substring(text)
        for prefix in ["+OK", "-ERR", "-USAGE"] where text.hasPrefix(prefix) {
            text = text.dropFirst(prefix.count)
            break
        }
        return String(text.drop(while: { $0 == " " })).trimmingTrailingNewlines()
    }

    /// `Job-UUID` of a `bgapi` reply.
    public var jobUUID: String? { frame.headers["Job-UUID"] }

    /// Throws ``EventSocketError/Code/commandFailed`` naming the command when this reply reports failure.
    public func check(for command: EventSocketCommand) throws {
        if isError {
            throw EventSocketError(.commandFailed, "'\(command)' failed: \(text.trimmingTrailingNewlines())")
        }
    }
}

/// The notice FreeSWITCH sends before it closes a socket, or (`Content-Disposition: linger`) when the call of a
/// lingering outbound socket ended.
public struct DisconnectNotice: Sendable, Hashable {
    /// The frame as it came.
    public let frame: EventSocketFrame

    /// Wraps a `text/disconnect-notice` frame.
    public init(_ frame: EventSocketFrame) { self.frame = frame }

    /// Whether the socket stays open (the call ended but `linger` keeps it) rather than closing.
    public var isLinger: Bool { frame.headers["Content-Disposition"] == "linger" }

    /// The channel the notice is about, on an outbound socket.
    public var controlledSessionUUID: String? { frame.headers["Controlled-Session-UUID"] }
}

/// A line of FreeSWITCH's log, sent as `log/data` after the `log` command.
public struct LogLine: Sendable, Hashable {
    /// The frame as it came.
    public let frame: EventSocketFrame

    /// Wraps a `log/data` frame.
    public init(_ frame: EventSocketFrame) { self.frame = frame }

    /// The syslog-style level, 0 (console) to 7 (debug).
    public var level: Int? { frame.headers["Log-Level"].flatMap { Int($0) } }
    /// The source file that logged.
    public var file: String? { frame.headers["Log-File"] }
    /// The function that logged.
    public var function: String? { frame.headers["Log-Func"] }
    /// The line that logged.
    public var line: Int? { frame.headers["Log-Line"].flatMap { Int($0) } }
    /// The channel the line is about (`User-Data`), when any.
    public var channelUUID: String? { frame.headers["User-Data"].flatMap { $0.isEmpty ? nil : $0 } }
    /// The log text, as FreeSWITCH formatted it.
    public var text: String { frame.bodyText.trimmingTrailingNewlines() }
}

/// How FreeSWITCH's `socket` application was invoked: `async` or not, `full` or not.
public struct SocketMode: Sendable, Hashable {
    /// `Socket-Mode: async`: `sendmsg` is acknowledged at once and applications complete by event.
    public var isAsync: Bool
    /// `Control: full`: every command works (api, event, linger…), not only those for this channel.
    public var isFullControl: Bool

    /// Creates a mode, as the `connect` reply's `Socket-Mode` and `Control` headers describe it.
    public init(isAsync: Bool, isFullControl: Bool) {
        self.isAsync = isAsync
        self.isFullControl = isFullControl
    }

    /// Whether this is the mode Switchboard needs for everything it offers: `async full`.
    public var isAsyncFull: Bool { isAsync && isFullControl }
}

/// The channel data in the reply to `connect` on an outbound socket: every channel header and variable, sent
/// URL-encoded in the reply's own headers and decoded here exactly once.
public struct ChannelData: Sendable {
    /// The channel's headers and variables, as an event (`Event-Name: CHANNEL_DATA`).
    public let event: EventSocketEvent
    /// The socket application's mode.
    public let socketMode: SocketMode
    /// The channel's `Unique-ID`.
    public let uniqueID: String

    /// Reads the channel data from the `connect` reply.
    public init(connectReply frame: EventSocketFrame) throws {
        guard frame.contentType == .commandReply else {
            throw EventSocketError(
                .unexpectedReply,
                "expected the command/reply to 'connect', got '\(frame.contentType)'"
            )
        }
        let event = EventSocketEvent(encodedLines: frame.headers)
        // The reply's own headers follow the channel's: read from the end.
        if let reply = event.lastValue(named: "Reply-Text"), reply.hasPrefix("-ERR") {
            throw EventSocketError(.commandFailed, "'connect' failed: \(reply.trimmingTrailingNewlines())")
        }
        guard let uniqueID = event["Unique-ID"] ?? event["Channel-Unique-ID"] else {
            throw EventSocketError(.unexpectedReply, "the connect reply carries no Unique-ID: not an outbound socket?")
        }
        self.event = event
        self.uniqueID = uniqueID
        self.socketMode = SocketMode(
            isAsync: event.lastValue(named: "Socket-Mode") == "async",
            isFullControl: event.lastValue(named: "Control") == "full"
        )
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        // "\r\n" is one Character in Swift, equal to neither "\n" nor "\r".
        while let last = text.last, last == "\n" || last == "\r" || last == "\r\n" { text = text.dropLast() }
        return String(text)
    }
}
