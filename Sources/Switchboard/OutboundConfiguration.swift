/// Where an outbound listener accepts the calls FreeSWITCH's `socket` application hands over, and its limits.
public struct OutboundConfiguration: Sendable {
    /// The listener's name, which starts its log lines and errors (`listener 'ivr' cannot listen on 127.0.0.1:8084:
    /// the address is already in use`); `nil` leaves it out. The daemon sets the config's name.
    public var name: String?
    /// The address to bind. Default `127.0.0.1`.
    public var host: String
    /// The port to bind; 0 picks a free one. Default 8084.
    public var port: Int
    /// A listening socket inherited from systemd (socket activation); when set, `host` and `port` are not bound.
    public var inheritedSocket: Int32?
    /// Calls handled at once; a call beyond this is refused (FreeSWITCH then continues its dialplan). Default 1,000.
    public var maxSessions: Int
    /// On graceful shutdown, how long running calls may go on before their sockets are closed. Default 30 s.
    public var drainTimeout: Duration
    /// How long FreeSWITCH may take to answer `connect`. Default 10 s (FreeSWITCH waits 25 s for it).
    public var setupTimeout: Duration
    /// Send `linger` so that the events after hangup still arrive. Default `true`.
    public var linger: Bool
    /// With ``linger``: how long FreeSWITCH keeps the socket open after the call ended while the handler has not
    /// returned (`linger <seconds>`, rounded up to whole seconds). FreeSWITCH then closes the socket and releases the
    /// channel, and a handler still running is cancelled. `nil` sends a bare `linger`: FreeSWITCH then holds the
    /// ended channel, and its session slot, until the handler returns, which a handler that never returns never
    /// does. Default 10 s.
    public var lingerTimeout: Duration?
    /// Command timeout, frame limits and backlog limits.
    public var connection: EventSocketConnection.Options
    /// Where the listener records its metrics (``SwitchboardMetric``) and its `listener` label. Default: the label
    /// `outbound`, in `MetricsSystem`'s factory.
    public var metrics: MetricsOptions
    /// Whether each call's tasks (its handler, and its event handling) run on the thread that does the call's I/O,
    /// its connection's event loop. Default `true`: a command and its reply then need no hand-off between threads,
    /// which makes a call markedly cheaper (docs/PERFORMANCE.md, (b)). The price: a handler that blocks its thread
    /// or computes for long holds up the I/O of the other calls on that thread meanwhile. `false` runs calls on
    /// Swift's cooperative thread pool instead.
    public var runsCallsOnEventLoop: Bool

    /// Creates a configuration; the defaults match FreeSWITCH's examples (`socket 127.0.0.1:8084 async full`).
    public init(
        name: String? = nil,
        host: String = "127.0.0.1",
        port: Int = 8084,
        inheritedSocket: Int32? = nil,
        maxSessions: Int = 1000,
        drainTimeout: Duration = .seconds(30),
        setupTimeout: Duration = .seconds(10),
        linger: Bool = true,
        lingerTimeout: Duration? = .seconds(10),
        connection: EventSocketConnection.Options = .init(),
        metrics: MetricsOptions = MetricsOptions(listener: "outbound"),
        runsCallsOnEventLoop: Bool = true
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.inheritedSocket = inheritedSocket
        self.maxSessions = maxSessions
        self.drainTimeout = drainTimeout
        self.setupTimeout = setupTimeout
        self.linger = linger
        self.lingerTimeout = lingerTimeout
        self.connection = connection
        self.runsCallsOnEventLoop = runsCallsOnEventLoop
        self.metrics = metrics
    }

    /// The argument of `linger`: ``lingerTimeout`` in whole seconds, at least 1.
    var lingerSeconds: Int? {
        lingerTimeout.map { max(1, Int(($0 / .seconds(1)).rounded(.up))) }
    }
}
