import XMPP

/// What the service must do after an input, in order.
public enum RayoAction: Sendable {
    /// A stanza for a client, with `to` and `from` set: route it with `StanzaRouter.route(_:)`.
    case send(XMLElement)
    /// Run a request on the inbound event socket connection, then feed ``RayoInput/switchReply(_:_:)`` with this id.
    case execute(RequestID, SwitchRequest)
    /// (Re)arm a timer; when it fires, feed ``RayoInput/timerFired(_:)``.
    case startTimer(TimerID, Duration)
    /// Disarm a timer (firing anyway is harmless: a stale timer is ignored).
    case cancelTimer(TimerID)
    /// The outbound socket session of this call may end: the call is over, or it is not Rayo's (the dialplan goes on).
    case releaseCall(uuid: String)
}

/// Names one ``RayoAction/execute(_:_:)`` so that its reply finds its way back.
public struct RequestID: Sendable, Hashable, CustomStringConvertible {
    /// The number, unique for the life of a machine.
    public let rawValue: UInt64

    /// Creates an id (the machine makes them; tests may too).
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `request-<n>`.
    public var description: String { "request-\(rawValue)" }
}

/// An opaque timer name made by the machine.
public struct TimerID: Sendable, Hashable, CustomStringConvertible {
    enum Purpose: Sendable, Hashable {
        /// The offer of a call timed out.
        case offer(call: String)
        /// Time to look whether a call has been idle for `maxIdle`.
        case idle(call: String)
    }

    let purpose: Purpose

    init(_ purpose: Purpose) { self.purpose = purpose }

    /// What the timer is for, for logs.
    public var description: String {
        switch purpose {
        case .offer(let call): "offer-timeout(\(call))"
        case .idle(let call): "max-idle(\(call))"
        }
    }
}

/// A request for FreeSWITCH, sent on the inbound event socket connection.
public enum SwitchRequest: Sendable, Hashable, CustomStringConvertible {
    /// `api <command>`, e.g. `uuid_kill <uuid> USER_BUSY`; the reply is the api body.
    case api(String)
    /// `bgapi <command>`, e.g. `originate {…}sofia/… &park()`; the reply is the BACKGROUND_JOB body.
    case backgroundAPI(String)
    /// `sendmsg <uuid>` with `call-command: execute`; the reply is the command/reply text (`+OK`/`-ERR …`).
    /// Completion, if anything waits for it, comes as CHANNEL_EXECUTE_COMPLETE.
    case execute(uuid: String, application: String, argument: String?)

    /// The request as a log line.
    public var description: String {
        switch self {
        case .api(let command): "api \(command)"
        case .backgroundAPI(let command): "bgapi \(command)"
        case .execute(let uuid, let application, let argument):
            "execute \(application)\(argument.map { " " + $0 } ?? "") on \(uuid)"
        }
    }
}

/// What FreeSWITCH answered to a ``SwitchRequest``.
public enum SwitchReply: Sendable, Hashable {
    /// The api body, BACKGROUND_JOB body or command reply text, starting with `+OK` or not (an api body of
    /// `-ERR …` counts as a failure for the machine).
    case ok(String)
    /// `-ERR …`, or a timeout or transport error description.
    case failed(String)
    /// The connection dropped before the reply.
    case disconnected
}
