/// A failure talking to systemd through libsystemd.
public struct SystemdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notificationFailed
            case invalidEnvironment
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `sd_notify` could not send a message to `NOTIFY_SOCKET`.
        public static let notificationFailed = Code(.notificationFailed)
        /// `LISTEN_FDS`, `LISTEN_FDNAMES`, `NOTIFY_SOCKET` or `WATCHDOG_USEC` is set but malformed.
        public static let invalidEnvironment = Code(.invalidEnvironment)

        /// The code's name, e.g. `notificationFailed`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed and why.
    public var message: String
    /// The `errno` value libsystemd returned (negated there), when there was one.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// The code and the message.
    public var description: String { "SystemdError.\(code): \(message)" }
}
