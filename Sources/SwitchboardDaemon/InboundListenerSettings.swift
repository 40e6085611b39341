/// A listener of kind `inbound`: the daemon connects to FreeSWITCH's event socket, logs in, subscribes, and feeds
/// every event to an inbound handler, reconnecting with backoff whenever the connection drops.
public struct InboundListenerSettings: Sendable, Hashable {
    /// The encoding FreeSWITCH sends events in (`format`).
    public enum EventFormat: String, Sendable, Hashable, CaseIterable {
        /// `event plain …`: URL-encoded `Name: value` lines. The default.
        case plain
        /// `event json …`: one JSON object per event.
        case json
    }

    /// Backoff between connection attempts (`reconnect`).
    public struct Reconnect: Sendable, Hashable {
        /// `reconnect.initialDelaySeconds`: the wait after the first failure. Default 0.5 s.
        public var initialDelay: Duration
        /// `reconnect.maxDelaySeconds`: the longest wait, reached by doubling. Default 30 s.
        public var maxDelay: Duration

        /// Creates a backoff; `initialDelay` must not exceed `maxDelay`.
        public init(initialDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30)) {
            self.initialDelay = initialDelay
            self.maxDelay = maxDelay
        }
    }

    /// `name`: unique among all listeners.
    public var name: String
    /// `handler`: the registered name of an inbound handler.
    public var handler: String
    /// `host`: FreeSWITCH's address. Default `127.0.0.1`.
    public var host: String
    /// `port`: the event socket port. Default 8021.
    public var port: Int
    /// `password`: the event socket password (`event_socket.conf.xml`). Default `ClueCon`.
    public var password: String
    /// `events`: event names to subscribe to. Default `["ALL"]`.
    public var events: [String]
    /// `filters`: event header → accepted values; with any filter, only matching events arrive. Default none.
    public var filters: [String: [String]]
    /// `format`: the event encoding. Default plain.
    public var format: EventFormat
    /// `reconnect`: backoff between connection attempts.
    public var reconnect: Reconnect
    /// `commandTimeoutSeconds`: how long a command may wait for its reply. Default 30 s.
    public var commandTimeout: Duration
    /// `settings`: the handler's own settings, decoded when the file was loaded; `nil` (no `settings` object, or a
    /// configuration made in code) creates the handler with its defaults.
    public var handlerSettings: ListenerHandlerSettings?

    /// Creates inbound listener settings; every default matches a stock FreeSWITCH on the same host.
    public init(
        name: String,
        handler: String,
        host: String = "127.0.0.1",
        port: Int = 8021,
        password: String = "ClueCon",
        events: [String] = ["ALL"],
        filters: [String: [String]] = [:],
        format: EventFormat = .plain,
        reconnect: Reconnect = Reconnect(),
        commandTimeout: Duration = .seconds(30)
    ) {
        self.name = name
        self.handler = handler
        self.host = host
        self.port = port
        self.password = password
        self.events = events
        self.filters = filters
        self.format = format
        self.reconnect = reconnect
        self.commandTimeout = commandTimeout
    }
}
