/// What happened on a simulated call, as the simulated switch saw it, for assertions.
public struct CallRecord: Sendable {
    /// Who ended the call.
    public enum Ending: Sendable, Hashable {
        /// The handler ran the `hangup` application with this cause.
        case hangupApplication(cause: String)
        /// The handler sent `sendmsg` with `call-command: hangup` and this `hangup-cause`.
        case hangupCommand(cause: String)
        /// The caller hung up (``CallScript/callerHangsUpDuring`` or
        /// ``BridgeOutcome/answered(callerHangsUpAfter:cause:)``).
        case caller
        /// FreeSWITCH hung up the call after a bridge: a failed bridge without `continue_on_fail`, or a bridge whose
        /// far end hung up while `hangup_after_bridge` was true. The cause is the far end's.
        case afterBridge(cause: String)
        /// The call was still up when the socket closed (the handler ended early).
        case stillUp
    }

    /// The channel's UUID.
    public var uuid: String
    /// Every command the listener sent, in order.
    public var commands: [ClientCommand]
    /// The applications run, in order, with their arguments.
    public var applications: [(name: String, argument: String?)]
    /// The channel variables when the socket closed: the script's and those the call set.
    public var variables: [String: String]
    /// Every event the switch sent on the call's socket, in order (CHANNEL_EXECUTE, CHANNEL_BRIDGE, …).
    public var events: [FakeEvent]
    /// How the call ended.
    public var ending: Ending
    /// The channel's hangup cause (`Hangup-Cause`), or `nil` when the call was still up.
    public var hangupCause: String?
    /// Whether the listener said `exit` before closing.
    public var saidExit: Bool
}
