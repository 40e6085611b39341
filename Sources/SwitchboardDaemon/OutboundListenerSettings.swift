/// A listener of kind `outbound`: the daemon accepts the connections FreeSWITCH's `socket` dialplan application
/// makes, one per call, and runs an outbound handler for each.
public struct OutboundListenerSettings: Sendable, Hashable {
    /// `name`: unique among all listeners; also the `FileDescriptorName=` of a systemd socket unit that passes this
    /// listener its socket.
    public var name: String
    /// `handler`: the registered name of an outbound handler.
    public var handler: String
    /// `bind`: the address to listen on. Default `127.0.0.1`.
    public var bind: String
    /// `port`: the port to listen on. Default 8084.
    public var port: Int
    /// `maxSessions`: calls handled at once; a call beyond this is refused. Default 1000.
    public var maxSessions: Int
    /// `drainSeconds`: on shutdown, how long running calls may go on before they are closed. Default 30 s; 0 closes
    /// them at once. Keep systemd's `TimeoutStopSec=` above it.
    public var drainTime: Duration
    /// `settings`: the handler's own settings, decoded when the file was loaded; `nil` (no `settings` object, or a
    /// configuration made in code) creates the handler with its defaults.
    public var handlerSettings: ListenerHandlerSettings?

    /// Creates outbound listener settings.
    public init(
        name: String,
        handler: String,
        bind: String = "127.0.0.1",
        port: Int = 8084,
        maxSessions: Int = 1000,
        drainTime: Duration = .seconds(30)
    ) {
        self.name = name
        self.handler = handler
        self.bind = bind
        self.port = port
        self.maxSessions = maxSessions
        self.drainTime = drainTime
    }
}
