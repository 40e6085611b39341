import EventSocket
import SwitchboardDiagnostics

extension SwitchboardError {
    /// The error of a TCP connect to FreeSWITCH's event socket that failed, worded by its cause:
    /// `FreeSWITCH at 127.0.0.1:8021 refused the connection`.
    ///
    /// - Parameters:
    ///   - error: What NIO threw.
    ///   - peer: The address tried, as configured (``SwitchboardDiagnostics/SocketAddress/loggable(host:port:)``).
    ///   - timeout: The connect timeout, named when it ran out.
    static func connectFailed(_ error: any Error, peer: String, timeout: Duration) -> SwitchboardError {
        if let error = error as? SwitchboardError { return error }
        let description = SocketErrorDescription(error)
        switch description.cause {
        case .connectionRefused:
            return SwitchboardError(.connectionRefused, "FreeSWITCH at \(peer) refused the connection")
        case .timedOut:
            return SwitchboardError(.connectTimedOut, "FreeSWITCH at \(peer) did not answer within \(timeout.loggable)")
        case .hostNotFound:
            return SwitchboardError(.hostNotFound, "FreeSWITCH at \(peer) cannot be found: \(description.reason)")
        case .hostUnreachable, .networkUnreachable:
            return SwitchboardError(.hostUnreachable, "FreeSWITCH at \(peer) cannot be reached: \(description.reason)")
        case .connectionReset, .connectionClosed:
            return SwitchboardError(.connectFailed, "FreeSWITCH at \(peer) reset the connection")
        case .addressInUse, .permissionDenied, .addressNotAvailable, .other:
            return SwitchboardError(.connectFailed, "cannot connect to FreeSWITCH at \(peer): \(description.reason)")
        }
    }

    /// Why an established connection to FreeSWITCH ended, as a sentence naming the peer: the error's own message
    /// when it names it, `FreeSWITCH at … reset the connection` for a socket error, `FreeSWITCH at … closed the
    /// connection` for none.
    static func connectionEnded(_ error: (any Error)?, peer: String) -> String {
        guard let error else { return "FreeSWITCH at \(peer) closed the connection" }
        switch error {
        case let error as SwitchboardError:
            let message = error.message.loggable(limit: 1_000)
            return message.contains(peer) ? message : "the connection to FreeSWITCH at \(peer) ended: \(message)"
        case let error as EventSocketError:
            return "the connection to FreeSWITCH at \(peer) ended: \(error.message.loggable(limit: 1_000))"
        default:
            let description = SocketErrorDescription(error)
            switch description.cause {
            case .connectionReset: return "FreeSWITCH at \(peer) reset the connection"
            case .connectionClosed: return "FreeSWITCH at \(peer) closed the connection"
            default: return "the connection to FreeSWITCH at \(peer) failed: \(description.reason)"
            }
        }
    }

    /// An error as a short phrase for a log line or a message: a Switchboard or event socket error's own message
    /// (which may quote FreeSWITCH, so it is escaped), a socket error in words.
    static func reasonText(_ error: any Error) -> String {
        switch error {
        case let error as SwitchboardError: error.message.loggable(limit: 1_000)
        case let error as EventSocketError: error.message.loggable(limit: 1_000)
        default: SocketErrorDescription(error).reason
        }
    }
}
