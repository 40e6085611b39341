import EventSocket

/// What the channel handler passes to a connection's read task: everything FreeSWITCH sends that is not the reply
/// to a command (replies go straight to the command that waits for them).
enum ConnectionInput: Sendable {
    /// The greeting of an inbound connection.
    case authRequest
    /// An event (plain, JSON or XML).
    case event(EventSocketEvent)
    /// FreeSWITCH announced a close, or (linger) the end of the call.
    case disconnectNotice(DisconnectNotice)
    /// A log line.
    case log(LogLine)
    /// Anything else: an unknown content type, or an event whose body did not parse.
    case unrecognized(EventSocketFrame, reason: String)
}
