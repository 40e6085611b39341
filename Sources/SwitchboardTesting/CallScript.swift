/// How a simulated call behaves when the simulated switch hands it to an outbound listener.
///
/// ```swift
/// let script = CallScript(
///     callerIDName: "Alice Smith",
///     callerIDNumber: "15551234567",
///     destination: "1000",
///     digits: "1#",
///     bridges: [.busy, .answered(farEndHangsUpAfter: .milliseconds(50))]
/// )
/// ```
public struct CallScript: Sendable {
    /// The caller's name (`Caller-Caller-ID-Name`, `Channel-Caller-ID-Name` and their `Orig` forms); `nil` leaves it
    /// out, as FreeSWITCH does for a caller without a name.
    public var callerIDName: String?
    /// The caller's number (`Caller-Caller-ID-Number`, `Caller-ANI` and their `Channel-` and `Orig` forms); `nil`
    /// keeps the captured call's `0000000000`.
    public var callerIDNumber: String?
    /// The number dialled (`Caller-Destination-Number`, `Channel-Destination-Number`); `nil` keeps the captured
    /// call's.
    public var destination: String?
    /// Any channel header, set in the channel data `connect` returns and in every event of the call, e.g.
    /// `["Channel-Context": "default"]`. Set last, so it wins over the fields above.
    public var headers: [String: String]
    /// Channel variables the call starts with (`variable_<name>` in the channel data).
    public var variables: [String: String]
    /// Whether the dialplan said `socket … async full` (the default) or a bare `socket host:port`.
    public var asyncFull: Bool
    /// Digits the caller presses when `play_and_get_digits` or `read` runs (a trailing terminator is stripped).
    public var digits: String?
    /// How the call's `bridge` applications end, in order; a `bridge` beyond the list is
    /// ``BridgeOutcome/answered(farEndHangsUpAfter:cause:)`` with its defaults.
    public var bridges: [BridgeOutcome]
    /// The application during which the caller hangs up (e.g. `playback`), if any.
    public var callerHangsUpDuring: String?
    /// How long each application takes before it completes (a bridge: before the far end answers or fails).
    public var applicationDuration: Duration
    /// Refuse every `sendmsg` with `-ERR`, as a switch that lost the channel would.
    public var refuseApplications: Bool

    /// Creates a script: an `async full` call from the captured caller that runs every application at once.
    public init(
        callerIDName: String? = nil,
        callerIDNumber: String? = nil,
        destination: String? = nil,
        headers: [String: String] = [:],
        variables: [String: String] = [:],
        asyncFull: Bool = true,
        digits: String? = nil,
        bridges: [BridgeOutcome] = [],
        callerHangsUpDuring: String? = nil,
        applicationDuration: Duration = .zero,
        refuseApplications: Bool = false
    ) {
        self.callerIDName = callerIDName
        self.callerIDNumber = callerIDNumber
        self.destination = destination
        self.headers = headers
        self.variables = variables
        self.asyncFull = asyncFull
        self.digits = digits
        self.bridges = bridges
        self.callerHangsUpDuring = callerHangsUpDuring
        self.applicationDuration = applicationDuration
        self.refuseApplications = refuseApplications
    }
}

/// How a simulated `bridge` ends. The simulated switch sends the events and channel variables FreeSWITCH 1.10.12
/// sends for that outcome (recorded in `Tests/Fixtures/esl/outbound-bridge-*`):
///
/// - answered: CHANNEL_BRIDGE, then CHANNEL_UNBRIDGE with `bridge_hangup_cause`; `originate_disposition` and
///   `DIALSTATUS` are `SUCCESS`. When the far end hangs up, the call stays up (unless the channel variable
///   `hangup_after_bridge` is true: then it hangs up with the far end's cause); when the caller hangs up, the call
///   ends.
/// - failed: `originate_disposition`, `originate_failed_cause` and `last_bridge_hangup_cause` are the cause,
///   `DIALSTATUS` is `BUSY`, `NOANSWER`, `CANCEL` or the cause. FreeSWITCH then hangs up the call with that cause,
///   except for `NO_ANSWER`, `NO_USER_RESPONSE` and `ORIGINATOR_CANCEL`, or when the channel variable
///   `continue_on_fail` is true or names the cause.
public struct BridgeOutcome: Sendable, Hashable, CustomStringConvertible {
    /// Who ends an answered bridge.
    enum Party: Hashable {
        case farEnd
        case caller
    }

    enum Kind: Hashable {
        case answered(lasting: Duration, endedBy: Party, cause: String)
        case failed(cause: String)
    }

    let kind: Kind

    /// The far end answers; after `duration` it hangs up with `cause`, and the bridge application completes.
    public static func answered(
        farEndHangsUpAfter duration: Duration = .zero,
        cause: String = "NORMAL_CLEARING"
    ) -> BridgeOutcome {
        BridgeOutcome(kind: .answered(lasting: duration, endedBy: .farEnd, cause: cause))
    }

    /// The far end answers; after `duration` the caller hangs up with `cause`, which ends the call.
    public static func answered(
        callerHangsUpAfter duration: Duration,
        cause: String = "NORMAL_CLEARING"
    ) -> BridgeOutcome {
        BridgeOutcome(kind: .answered(lasting: duration, endedBy: .caller, cause: cause))
    }

    /// The far end is busy (`USER_BUSY`): FreeSWITCH hangs up the call unless `continue_on_fail` allows it.
    public static let busy = failed(cause: "USER_BUSY")

    /// Nobody answers (`NO_ANSWER`): the call stays up.
    public static let noAnswer = failed(cause: "NO_ANSWER")

    /// The far end cannot be reached, with FreeSWITCH's hangup cause, e.g. `NO_ROUTE_DESTINATION`,
    /// `CALL_REJECTED`, `NORMAL_TEMPORARY_FAILURE`.
    public static func failed(cause: String) -> BridgeOutcome {
        BridgeOutcome(kind: .failed(cause: cause))
    }

    /// The outcome in words, for test failure messages.
    public var description: String {
        switch kind {
        case .answered(let duration, .farEnd, let cause):
            return "answered, the far end hangs up after \(duration) (\(cause))"
        case .answered(let duration, .caller, let cause):
            return "answered, the caller hangs up after \(duration) (\(cause))"
        case .failed(let cause):
            return "failed: \(cause)"
        }
    }
}
