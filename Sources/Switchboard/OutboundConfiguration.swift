/// Where an outbound listener accepts the calls FreeSWITCH's `socket` application hands over, and its limits.
public struct OutboundConfiguration: Sendable {
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
    /// Command timeout, frame limits and backlog limits.
    public var connection: EventSocketConnection.Options
    /// Whether each call's tasks (its handler, and its event handling) run on the thread that does the call's I/O,
    /// its connection's event loop. Default `true`: a command and its reply then need no hand-off between threads,
    /// which makes a call markedly cheaper (docs/PERFORMANCE.md, (b)). The price: a handler that blocks its thread
    /// or computes for long holds up the I/O of the other calls on that thread meanwhile. `false` runs calls on
    /// Swift's cooperative thread pool instead.
    public var runsCallsOnEventLoop: Bool

    /// Creates a configuration; the defaults match FreeSWITCH's examples (`socket 127.0.0.1:8084 async full`).
    public init(
        host: String = "127.0.0.1",
        port: Int = 8084,
        inheritedSocket: Int32? = nil,
        maxSessions: Int = 1000,
        drainTimeout: Duration = .seconds(30),
        setupTimeout: Duration = .seconds(10),
        linger: Bool = true,
        connection: EventSocketConnection.Options = .init(),
        runsCallsOnEventLoop: Bool = true
    ) {
        self.host = host
        self.port = port
        self.inheritedSocket = inheritedSocket
        self.maxSessions = maxSessions
        self.drainTimeout = drainTimeout
        self.setupTimeout = setupTimeout
        self.linger = linger
        self.connection = connection
        self.runsCallsOnEventLoop = runsCallsOnEventLoop
    }
}
