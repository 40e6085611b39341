import EventSocket
import Logging
import NIOCore
import NIOPosix
import SwitchboardDiagnostics
import Synchronization

/// One inbound connection for a script or a one-off task: connect, log in, subscribe, then run `api`, `bgapi` or
/// `sendmsg` and read events, and close. Unlike ``InboundListener`` it never reconnects: every failure throws.
///
/// ```swift
/// let socket = try await CommandSocket.connect(
///     host: "127.0.0.1", authentication: .password("ClueCon"),
///     events: ["CHANNEL_HANGUP_COMPLETE"], logger: logger)
/// print(try await socket.api("status"))
/// for await event in socket.events { print(event.uniqueID ?? "-", event["Hangup-Cause"] ?? "-") }
/// ```
///
/// Events that arrive meanwhile (after a `subscribe`, or BACKGROUND_JOB for `bgapi`, whose results are also returned
/// by ``backgroundAPI(_:_:timeout:)``) are never dropped in silence: they are kept, in order, in ``events`` until read
/// or until the socket closes, up to `eventBufferLimit` of them (10,000 by default). Beyond that the newest are
/// dropped, counted in ``droppedEvents`` and logged, rather than growing memory without bound: a long-lived command
/// socket should read its events or not subscribe.
public final class CommandSocket: Sendable {
    /// The connection, for every command ``EventSocketConnection`` offers.
    public let connection: EventSocketConnection
    /// Every event that arrived on this socket, in order.
    public let events: AsyncStream<EventSocketEvent>
    private let readTask: Task<Void, Never>
    private let overflow: EventOverflow

    /// The executor of the socket's event loop thread (``EventSocketConnection/executor``). Commands sent from a task
    /// that prefers it take one thread wake-up per round trip instead of two:
    ///
    /// ```swift
    /// try await withTaskExecutorPreference(socket.executor) {
    ///     for _ in 0..<1000 { _ = try await socket.api("status") }
    /// }
    /// ```
    public var executor: any TaskExecutor { connection.executor }

    /// Events dropped because ``events`` already held `eventBufferLimit` unread ones.
    public var droppedEvents: Int { overflow.count }

    private init(
        connection: EventSocketConnection,
        events: AsyncStream<EventSocketEvent>,
        readTask: Task<Void, Never>,
        overflow: EventOverflow
    ) {
        self.connection = connection
        self.events = events
        self.readTask = readTask
        self.overflow = overflow
    }

    /// Connects to FreeSWITCH's event socket, logs in, sets the filters and subscribes to the events: one call,
    /// which returns a ready socket or throws at once. A refused login is never retried.
    ///
    /// - Parameters:
    ///   - events: Event names to subscribe to (`ALL`, `CHANNEL_ANSWER`, …); none subscribes to nothing (events of
    ///     `bgapi` jobs still arrive). They arrive in ``events``.
    ///   - customSubclasses: CUSTOM subclasses to subscribe to (`sofia::register`).
    ///   - filters: Sent before the subscription, so that no event passes that they would stop; BACKGROUND_JOB is
    ///     let through as well, so ``backgroundAPI(_:_:timeout:)`` keeps working.
    ///   - format: The encoding FreeSWITCH sends events in.
    ///   - timeout: Bounds the TCP connect and then, separately, the wait for FreeSWITCH's `auth/request` greeting.
    ///   - eventBufferLimit: How many unread events ``events`` keeps; later ones are dropped and counted.
    /// - Throws: ``SwitchboardError`` with code ``SwitchboardError/Code/authenticationFailed`` (FreeSWITCH refused the
    ///   password or user), ``SwitchboardError/Code/connectionRefused`` (nothing listens on the port),
    ///   ``SwitchboardError/Code/connectTimedOut``, ``SwitchboardError/Code/hostNotFound``,
    ///   ``SwitchboardError/Code/hostUnreachable`` or ``SwitchboardError/Code/connectFailed``; each message names the
    ///   address (`FreeSWITCH at 127.0.0.1:8021 refused the connection`). A refused filter or subscription throws
    ///   ``EventSocket/EventSocketError/Code/commandFailed``.
    public static func connect(
        host: String = "127.0.0.1",
        port: Int = 8021,
        authentication: InboundConfiguration.Authentication = .password("ClueCon"),
        events: [String] = [],
        customSubclasses: [String] = [],
        filters: [InboundConfiguration.Filter] = [],
        format: EventSocketEvent.Format = .plain,
        options: EventSocketConnection.Options = .init(),
        timeout: Duration = .seconds(10),
        eventBufferLimit: Int = 10_000,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> CommandSocket {
        let connection = try await EventSocketConnection.connect(
            host: host,
            port: port,
            options: options,
            metrics: .disabled,
            connectTimeout: timeout,
            logger: logger,
            group: eventLoopGroup
        )
        let peer = SocketAddress.loggable(host: host, port: port)
        let greeting = connection.makeGreeting(timeout: timeout, peer: peer)
        let (stream, sink) = AsyncStream<EventSocketEvent>.makeStream(
            bufferingPolicy: .bufferingOldest(max(1, eventBufferLimit))
        )
        let overflow = EventOverflow()
        let readTask = Task {
            await connection.runReadLoop(lanes: EventLanes()) { input in
                switch input {
                case .authRequest: greeting.succeed()
                case .event(let event):
                    if case .dropped = sink.yield(event) {
                        let count = overflow.add()
                        // The first drop and then every thousandth, so that a log is not flooded either.
                        if count == 1 || count.isMultiple(of: 1000) {
                            connection.logger.warning(
                                "dropped \(count) events: the command socket's events are not being read",
                                metadata: ["esl.event-buffer-limit": "\(eventBufferLimit)"]
                            )
                        }
                    }
                case .unrecognized(let frame, let reason):
                    connection.logger.warning(
                        "ignored a frame from FreeSWITCH at \(peer): \(reason.loggable)",
                        metadata: ["esl.content-type": "\(frame.contentType.description.loggable)"]
                    )
                case .disconnectNotice, .log: break
                }
            } handle: { _ in
            }
            sink.finish()
        }
        do {
            try await connection.logIn(after: greeting, with: authentication, peer: peer)
            for filter in filters {
                try await connection.addFilter(header: filter.header, value: filter.value)
            }
            if !events.isEmpty || !customSubclasses.isEmpty {
                try await connection.subscribe(to: events, customSubclasses: customSubclasses, format: format)
            }
        } catch {
            try? await connection.channel.close()
            await readTask.value
            throw error
        }
        return CommandSocket(connection: connection, events: stream, readTask: readTask, overflow: overflow)
    }

    /// Runs an API command and returns its output; `-ERR` output throws.
    /// - Parameter timeout: Switchboard's wait for the output; `nil` uses the connection's command timeout.
    public func api(_ command: String, _ arguments: String? = nil, timeout: Duration? = nil) async throws -> String {
        try await connection.api(command, arguments, timeout: timeout)
    }

    /// Runs an API command in the background and returns its output when its BACKGROUND_JOB arrives.
    public func backgroundAPI(
        _ command: String,
        _ arguments: String? = nil,
        timeout: Duration? = nil
    ) async throws
        -> String
    {
        try await connection.backgroundAPI(command, arguments, timeout: timeout)
    }

    /// Runs an application on a channel (`sendmsg <uuid>`), returning once FreeSWITCH accepted it.
    public func sendApplication(_ execution: ApplicationExecution, to uuid: String) async throws {
        try await connection.sendApplication(execution, to: uuid)
    }

    /// Says `exit`, closes the socket, and ends ``events``.
    public func close() async {
        await connection.close()
        await readTask.value
    }
}

/// Counts the events a command socket dropped for want of a reader.
private final class EventOverflow: Sendable {
    private let dropped = Atomic<Int>(0)

    var count: Int { dropped.load(ordering: .relaxed) }

    /// Counts one more drop; returns the new total.
    func add() -> Int { dropped.add(1, ordering: .relaxed).newValue }
}
