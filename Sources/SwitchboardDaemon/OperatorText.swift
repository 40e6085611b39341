import EventSocket
import Switchboard
import SwitchboardDiagnostics
import XMPPServer

/// The daemon's words for any error it reports: the message of Switchboard's own errors (which name what failed),
/// NIO and system errors through ``SwitchboardDiagnostics/SocketErrorDescription``, never a raw error dump.
public enum OperatorText {
    /// The error as a phrase for a log line or for standard error.
    public static func reason(_ error: any Error) -> String {
        switch error {
        case let error as DaemonError: error.message.loggable(limit: 1_000)
        case let error as SwitchboardError: error.message.loggable(limit: 1_000)
        case let error as EventSocketError: error.message.loggable(limit: 1_000)
        case let error as XMPPServerError: "rayo: \(error.message)"
        case let error as LogFileError: error.description
        case let error as HandlerCreationError: error.description.loggable(limit: 1_000)
        case let error as SystemdError: error.message
        default: SocketErrorDescription(error).reason
        }
    }
}
