/// An error from a Switchboard connection: the peer went away, a command timed out, login failed, the call hung up.
///
/// Compare by ``code``; ``message`` says what happened and where (command, listener, call).
public struct SwitchboardError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case disconnected
            case commandTimedOut
            case authenticationFailed
            case callHungUp
            case connectionRejected
            case protocolViolation
            case slowConsumer
            case heartbeatMissed
            case invalidArgument
            case connectionRefused
            case connectTimedOut
            case hostNotFound
            case hostUnreachable
            case connectFailed
            case listenFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The connection closed before the command, job or application finished.
        public static let disconnected = Code(.disconnected)
        /// No reply (or completion) arrived within the timeout. Later replies are still matched correctly.
        public static let commandTimedOut = Code(.commandTimedOut)
        /// FreeSWITCH refused the password or user.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The call ended before the application could run or finish.
        public static let callHungUp = Code(.callHungUp)
        /// FreeSWITCH's ACL refused the connection (`text/rude-rejection`).
        public static let connectionRejected = Code(.connectionRejected)
        /// FreeSWITCH sent something that does not fit the exchange (e.g. no `auth/request` greeting).
        public static let protocolViolation = Code(.protocolViolation)
        /// Events arrived faster than the handler consumed them and the backlog limit was reached.
        public static let slowConsumer = Code(.slowConsumer)
        /// Nothing, not even a HEARTBEAT event, arrived within the watchdog interval.
        public static let heartbeatMissed = Code(.heartbeatMissed)
        /// A value cannot be passed to FreeSWITCH as given (a channel variable, an application argument); nothing was
        /// sent.
        public static let invalidArgument = Code(.invalidArgument)
        /// Nothing listens on FreeSWITCH's event socket port (the TCP connect was refused).
        public static let connectionRefused = Code(.connectionRefused)
        /// The TCP connect, or FreeSWITCH's `auth/request` greeting, did not come within the connect timeout.
        public static let connectTimedOut = Code(.connectTimedOut)
        /// FreeSWITCH's host name does not resolve (DNS).
        public static let hostNotFound = Code(.hostNotFound)
        /// There is no route to FreeSWITCH's host or network.
        public static let hostUnreachable = Code(.hostUnreachable)
        /// The TCP connect failed for another reason (the message says which).
        public static let connectFailed = Code(.connectFailed)
        /// A listener cannot listen on its address (in use, not available, not permitted).
        public static let listenFailed = Code(.listenFailed)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened, naming the command, listener or call concerned.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SwitchboardError.\(code): \(message)" }
}
