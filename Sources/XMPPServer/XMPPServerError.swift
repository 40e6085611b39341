/// An error from the XMPP server: a configuration that cannot work (a bad CIDR, unreadable TLS files) or a listener
/// that could not bind.
///
/// Compare by ``code``; ``message`` says what was wrong and where.
public struct XMPPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidCIDR
            case invalidConfiguration
            case tlsSetupFailed
            case bindFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A CIDR block (`10.0.0.0/8`, `::1/128`) could not be parsed.
        public static let invalidCIDR = Code(.invalidCIDR)
        /// A setting is out of range or inconsistent (an empty domain, no listener, a zero limit).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The TLS certificate chain or private key could not be loaded.
        public static let tlsSetupFailed = Code(.tlsSetupFailed)
        /// A listener could not bind its address.
        public static let bindFailed = Code(.bindFailed)

        /// The code's name.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened, naming the value or listener concerned.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `XMPPServerError.<code>: <message>`.
    public var description: String { "XMPPServerError.\(code): \(message)" }
}
