import SwitchboardDiagnostics

/// A failure opening the daemon's log file.
public struct LogFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case openFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file could not be opened or created (missing directory, permissions, read-only file system).
        public static let openFailed = Code(.openFailed)

        /// The code's name, e.g. `openFailed`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The log file's path.
    public var path: String
    /// The `errno` value of the failed call.
    public var errno: Int32

    /// Creates an error.
    public init(_ code: Code, path: String, errno: Int32) {
        self.code = code
        self.path = path
        self.errno = errno
    }

    /// The path and the system's reason: `cannot open log file /var/log/switchboard/x.log: permission denied`.
    public var description: String {
        "cannot open log file \(path.loggable): \(SocketErrorDescription(errno: errno).reason)"
    }
}
