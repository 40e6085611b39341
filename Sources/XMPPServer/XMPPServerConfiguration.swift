import NIOCore
import XMPP

/// How an ``XMPPServer`` serves its domain: where it listens, who may connect, TLS, and the limits that protect it.
public struct XMPPServerConfiguration: Sendable {
    /// The XMPP domain served (`rayo.example.com`): the stream's `to` must name it, and bound JIDs live on it.
    public var domain: String
    /// The client-to-server listeners.
    public var listeners: [Listener]
    /// The certificate and key for STARTTLS; when set, STARTTLS is required before authentication.
    public var tls: TLS?
    /// Sizes, timeouts and login throttling.
    public var limits: Limits

    /// Creates a configuration.
    public init(domain: String, listeners: [Listener], tls: TLS? = nil, limits: Limits = Limits()) {
        self.domain = domain
        self.listeners = listeners
        self.tls = tls
        self.limits = limits
    }

    /// One c2s listening socket.
    public struct Listener: Sendable, Hashable {
        /// The address to bind (`127.0.0.1`, `::`, `0.0.0.0`).
        public var host: String
        /// The TCP port; 0 picks a free one (tests learn it from `onListening`).
        public var port: Int
        /// The peers allowed to connect; empty allows everyone. A connection from elsewhere is closed at once.
        public var allow: [CIDR]

        /// Creates a listener.
        public init(host: String, port: Int, allow: [CIDR] = []) {
            self.host = host
            self.port = port
            self.allow = allow
        }

        /// Whether a peer may connect.
        public func admits(_ peer: SocketAddress?) -> Bool {
            if allow.isEmpty { return true }
            guard let peer else { return false }
            return allow.contains { $0.contains(peer) }
        }
    }

    /// PEM files for STARTTLS.
    public struct TLS: Sendable, Hashable {
        /// The certificate chain, leaf first.
        public var certificateChainPath: String
        /// The private key of the leaf certificate.
        public var privateKeyPath: String

        /// Creates TLS settings.
        public init(certificateChainPath: String, privateKeyPath: String) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
        }
    }

    /// Limits, timeouts and login throttling; the defaults suit a Rayo server with tens of clients.
    public struct Limits: Sendable {
        /// Bounds on a stanza's size, depth and attribute count.
        public var stream: XMLStreamLimits
        /// How long a client may take from connecting to binding a resource.
        public var handshakeTimeout: Duration
        /// Client silence after which the server sends an XEP-0199 ping.
        public var pingInterval: Duration
        /// How long the server waits for any traffic after its ping before it drops the client
        /// (`connection-timeout`).
        public var pingTimeout: Duration
        /// Failed logins allowed per address within ``failedLoginWindow``; further attempts get
        /// `temporary-auth-failure` and the stream closes.
        public var maxFailedLogins: Int
        /// The window over which failed logins are counted.
        public var failedLoginWindow: Duration
        /// Open connections allowed across all listeners; more are closed at once.
        public var maxConnections: Int
        /// Bytes queued for a client that does not read, beyond which its connection is closed.
        public var maxPendingOutputBytes: Int
        /// How long a closing stream waits for its last bytes to be written before the socket is closed anyway.
        public var closeTimeout: Duration

        /// Creates limits; every parameter has a default.
        public init(
            stream: XMLStreamLimits = XMLStreamLimits(),
            handshakeTimeout: Duration = .seconds(30),
            pingInterval: Duration = .seconds(60),
            pingTimeout: Duration = .seconds(30),
            maxFailedLogins: Int = 5,
            failedLoginWindow: Duration = .seconds(60),
            maxConnections: Int = 10_000,
            maxPendingOutputBytes: Int = 4 * 1024 * 1024,
            closeTimeout: Duration = .seconds(2)
        ) {
            self.stream = stream
            self.handshakeTimeout = handshakeTimeout
            self.pingInterval = pingInterval
            self.pingTimeout = pingTimeout
            self.maxFailedLogins = maxFailedLogins
            self.failedLoginWindow = failedLoginWindow
            self.maxConnections = maxConnections
            self.maxPendingOutputBytes = maxPendingOutputBytes
            self.closeTimeout = closeTimeout
        }
    }

    /// Checks the settings; throws ``XMPPServerError/Code-swift.struct/invalidConfiguration`` listing every problem.
    public func validate() throws(XMPPServerError) {
        var problems: [String] = []
        if JID(localpart: nil, domainpart: domain) == nil {
            problems.append("domain '\(domain)' is not a valid domain")
        }
        if listeners.isEmpty { problems.append("no listener") }
        for (index, listener) in listeners.enumerated() where !(0...65_535).contains(listener.port) {
            problems.append("listeners[\(index)].port \(listener.port) is not a TCP port")
        }
        func positive(_ value: Duration, _ name: String) {
            if value <= .zero || value > .seconds(86_400 * 365) {
                problems.append("limits.\(name) must be positive and at most a year, not \(value)")
            }
        }
        positive(limits.handshakeTimeout, "handshakeTimeout")
        positive(limits.pingInterval, "pingInterval")
        positive(limits.pingTimeout, "pingTimeout")
        positive(limits.failedLoginWindow, "failedLoginWindow")
        positive(limits.closeTimeout, "closeTimeout")
        if limits.maxFailedLogins < 1 { problems.append("limits.maxFailedLogins must be at least 1") }
        if limits.maxConnections < 1 { problems.append("limits.maxConnections must be at least 1") }
        if limits.maxPendingOutputBytes < 65_536 {
            problems.append("limits.maxPendingOutputBytes must be at least 65536")
        }
        guard problems.isEmpty else {
            throw XMPPServerError(.invalidConfiguration, problems.joined(separator: "; "))
        }
    }
}
