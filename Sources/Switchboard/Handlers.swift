import EventSocket

/// Code that runs on an inbound connection: Switchboard connected to FreeSWITCH's event socket, logged in and
/// subscribed; the handler sees every event and may issue commands.
///
/// ```swift
/// struct HangupReporter: InboundHandler {
///     func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {
///         guard event.name == "CHANNEL_HANGUP_COMPLETE" else { return }
///         print(event.uniqueID ?? "-", event.hangupCause ?? "-")
///     }
/// }
/// ```
///
/// Events of one channel reach ``handle(_:on:)`` in the order FreeSWITCH sent them; events of different channels
/// may be handled concurrently. A handler may await commands on the connection from inside `handle`.
///
/// A handler is a plain value: give it what it needs (a database pool, a URL, a counter) through its own
/// initializer and pass it to ``InboundListener``. For the daemon to create it by name from a config file, also
/// conform to ``RegisteredHandler``.
public protocol InboundHandler: Sendable {
    /// Called after each successful connect (and reconnect), once login, subscriptions and filters are in place.
    func connected(to connection: EventSocketConnection) async throws

    /// Called for each event, in order per channel. An error thrown here is logged; later events still arrive.
    func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws

    /// Called when the connection ended, with the reason when it was not a clean close.
    func disconnected(from connection: EventSocketConnection, error: (any Error)?) async
}

extension InboundHandler {
    /// Does nothing.
    public func connected(to connection: EventSocketConnection) async throws {}
    /// Does nothing.
    public func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {}
    /// Does nothing.
    public func disconnected(from connection: EventSocketConnection, error: (any Error)?) async {}
}

/// Code that controls one call handed over by FreeSWITCH's `socket` dialplan application.
///
/// ```swift
/// struct Greeter: OutboundHandler {
///     let greeting: String
///     func run(_ session: OutboundSession) async throws {
///         try await session.answer()
///         try await session.playback(greeting)
///         try await session.hangup()
///     }
/// }
/// ```
///
/// ``run(_:)`` is the session task: each application call returns when FreeSWITCH reports that very application
/// complete. When the caller hangs up, pending and later application calls throw
/// ``SwitchboardError/Code/callHungUp``; the connection closes once `run` and the session's event handling finish.
///
/// One handler value serves every call of its ``OutboundListener``, concurrently: state it holds is shared by those
/// calls. For the daemon to create it by name from a config file, also conform to ``RegisteredHandler``.
public protocol OutboundHandler: Sendable {
    /// Runs the call. Returning (or throwing) ends the session.
    func run(_ session: OutboundSession) async throws

    /// Called for each event of the call, in order, beside ``run(_:)``.
    func handle(_ event: EventSocketEvent, in session: OutboundSession) async throws

    /// Whether ``handle(_:in:)`` does anything; `true` unless the handler says otherwise.
    ///
    /// A handler that only runs the call (no `handle`) may say `false`: the listener then keeps the call's events
    /// on the connection's thread for its own bookkeeping (the channel data that ``OutboundSession/variable(_:)``
    /// reads, the end of the call) and runs no task to deliver them, which makes each call cheaper.
    /// ``OutboundSession/execute(_:_:loops:eventLock:timeout:)`` and the application helpers work the same either
    /// way.
    ///
    /// ```swift
    /// struct Greeter: OutboundHandler {
    ///     static let name = "greeter"
    ///     static let summary = "Answers, plays a greeting, hangs up"
    ///     var handlesEvents: Bool { false }
    ///     func run(_ session: OutboundSession) async throws { … }
    /// }
    /// ```
    var handlesEvents: Bool { get }
}

extension OutboundHandler {
    /// Does nothing.
    public func handle(_ event: EventSocketEvent, in session: OutboundSession) async throws {}

    /// `true`: events are delivered to ``handle(_:in:)``.
    public var handlesEvents: Bool { true }
}
