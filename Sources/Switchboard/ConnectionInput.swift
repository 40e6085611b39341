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

extension ConnectionInput {
    /// Parses an event frame: `.event`, or `.unrecognized` with the reason when its body does not parse.
    init(eventFrame frame: EventSocketFrame) {
        do {
            self = .event(try EventSocketEvent(frame: frame))
        } catch {
            self = .unrecognized(frame, reason: "\(error)")
        }
    }
}

/// What travels from the channel handler to the read task, one batch per socket read.
enum HandlerDelivery: Sendable {
    /// An input, ready.
    case input(ConnectionInput)
    /// An event frame that nothing on the event loop needed to look into (no job or application was waiting): the
    /// read task parses it, so the event loop thread only frames events and the parsing runs on another core.
    case eventFrame(EventSocketFrame)

    /// The input, parsing the event frame if that is still to do.
    var input: ConnectionInput {
        switch self {
        case .input(let input): input
        case .eventFrame(let frame): ConnectionInput(eventFrame: frame)
        }
    }
}
