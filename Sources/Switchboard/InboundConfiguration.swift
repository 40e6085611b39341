import EventSocket

/// Where and how an inbound listener connects to FreeSWITCH's event socket.
public struct InboundConfiguration: Sendable {
    /// How to log in.
    public enum Authentication: Sendable, Hashable {
        /// `auth <password>`: the event socket's password (`ClueCon` in a stock install).
        case password(String)
        /// `userauth <user>@<domain>:<password>`: a directory user with `esl-password` and its permissions.
        case user(String, domain: String, password: String)
    }

    /// One `filter <header> <value>`; `value` may be a `/regex/`.
    public struct Filter: Sendable, Hashable {
        /// The event header to match.
        public var header: String
        /// The value, or `/regex/`.
        public var value: String

        /// Creates a filter.
        public init(header: String, value: String) {
            self.header = header
            self.value = value
        }
    }

    /// The listener's name, which starts its log lines (`listener 'events': FreeSWITCH at 127.0.0.1:8021 refused the
    /// connection; next attempt in 7.9 s`); `nil` leaves the prefix out. The daemon sets the config's name.
    public var name: String?
    /// FreeSWITCH's host. Default `127.0.0.1`.
    public var host: String
    /// The event socket port. Default 8021.
    public var port: Int
    /// How to log in. Default: the password `ClueCon`.
    public var authentication: Authentication
    /// Event names to subscribe to. Default `ALL`. `CUSTOM` and names with `::` are placed last for you.
    public var events: [String]
    /// CUSTOM subclasses to subscribe to (e.g. `sofia::register`).
    public var customSubclasses: [String]
    /// The encoding FreeSWITCH sends events in. Default plain.
    public var format: EventSocketEvent.Format
    /// Filters applied after subscribing. With any filter, only matching events pass (the listener adds filters of
    /// its own so that HEARTBEAT and BACKGROUND_JOB, which it needs, still pass).
    public var filters: [Filter]
    /// Backoff between connection attempts. A refused login waits the longest delay before the next attempt.
    public var reconnect: ReconnectPolicy
    /// Reconnect when nothing at all (not even the 20-second HEARTBEAT) arrived for this long; `nil` disables the
    /// watchdog. Default 60 s.
    public var heartbeatTimeout: Duration?
    /// How long a TCP connect and the `auth/request` greeting may take. Default 10 s.
    public var connectTimeout: Duration
    /// Command timeout, frame limits and backlog limits.
    public var connection: EventSocketConnection.Options
    /// Where the listener records its metrics (``SwitchboardMetric``) and its `listener` label. Default: the label
    /// `inbound`, in `MetricsSystem`'s factory.
    public var metrics: MetricsOptions

    /// Creates a configuration; every default matches a stock FreeSWITCH on the same host.
    public init(
        name: String? = nil,
        host: String = "127.0.0.1",
        port: Int = 8021,
        authentication: Authentication = .password("ClueCon"),
        events: [String] = ["ALL"],
        customSubclasses: [String] = [],
        format: EventSocketEvent.Format = .plain,
        filters: [Filter] = [],
        reconnect: ReconnectPolicy = ReconnectPolicy(),
        heartbeatTimeout: Duration? = .seconds(60),
        connectTimeout: Duration = .seconds(10),
        connection: EventSocketConnection.Options = .init(),
        metrics: MetricsOptions = MetricsOptions(listener: "inbound")
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.authentication = authentication
        self.events = events
        self.customSubclasses = customSubclasses
        self.format = format
        self.filters = filters
        self.reconnect = reconnect
        self.heartbeatTimeout = heartbeatTimeout
        self.connectTimeout = connectTimeout
        self.connection = connection
        self.metrics = metrics
    }

    /// Whether the user's own subscription asks for events of this name.
    func subscribes(to name: String) -> Bool { events.contains("ALL") || events.contains(name) }
}
