import XMPP

/// An error from ``XMPPTestClient``: a wait that timed out, a stream the server closed, a refused login.
///
/// Compare by ``code``; ``element`` holds the server's element when one caused the error (a SASL `<failure>`, an iq
/// error, a `<stream:error>`).
public struct XMPPTestClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case timedOut
            case streamClosed
            case authenticationFailed
            case unexpectedReply
            case invalidServerData
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Nothing matching arrived within the timeout.
        public static let timedOut = Code(.timedOut)
        /// The server closed the stream or the connection before what was awaited arrived.
        public static let streamClosed = Code(.streamClosed)
        /// The server answered the login with a SASL `<failure>`; ``XMPPTestClientError/element`` holds it.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The server answered with something else than the step expected (an iq error, no bind result).
        public static let unexpectedReply = Code(.unexpectedReply)
        /// The server sent bytes the client could not parse, or a SCRAM message that did not verify.
        public static let invalidServerData = Code(.invalidServerData)

        /// The code's name.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened.
    public var message: String
    /// The server's element that caused the error, if one did.
    public var element: XMLElement?

    /// Creates an error.
    public init(_ code: Code, _ message: String, element: XMLElement? = nil) {
        self.code = code
        self.message = message
        self.element = element
    }

    /// `XMPPTestClientError.<code>: <message>`.
    public var description: String {
        var text = "XMPPTestClientError.\(code): \(message)"
        if let element { text += " (\(element.serialized()))" }
        return text
    }
}
