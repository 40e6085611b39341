/// An error from the Event Socket protocol layer: a malformed frame, a limit that was exceeded, a command that
/// cannot be encoded safely, or a reply that reports failure.
///
/// Errors are compared by ``code``; ``message`` says what went wrong and where, for logs and people.
public struct EventSocketError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case headerBlockTooLarge
            case contentTooLarge
            case malformedFrame
            case malformedEvent
            case invalidCommand
            case commandFailed
            case unexpectedReply
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A frame's header block grew past the configured limit before its blank line arrived.
        public static let headerBlockTooLarge = Code(.headerBlockTooLarge)
        /// A frame announced a `Content-Length` above the configured limit.
        public static let contentTooLarge = Code(.contentTooLarge)
        /// A frame could not be parsed: a bad `Content-Length`, a header line without a colon, truncated input.
        public static let malformedFrame = Code(.malformedFrame)
        /// An event body (plain, JSON or XML) could not be parsed.
        public static let malformedEvent = Code(.malformedEvent)
        /// A command could not be encoded: a value holds CR or LF (header injection), or a required part is empty.
        public static let invalidCommand = Code(.invalidCommand)
        /// FreeSWITCH answered `-ERR`: in a `command/reply`, or in the body of an `api/response`.
        public static let commandFailed = Code(.commandFailed)
        /// A frame arrived that does not fit the exchange in progress.
        public static let unexpectedReply = Code(.unexpectedReply)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable explanation that names the offending part (header, command, offset).
    public var message: String

    /// Creates an error with a code and an explanation.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "EventSocketError.\(code): \(message)" }
}
