import EventSocket
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A short-lived inbound connection for one-off commands: connect, log in, run `api`, `bgapi` or `sendmsg`, close.
///
/// ```swift
/// let socket = try await CommandSocket.connect(password: "ClueCon", logger: logger)
/// print(try await socket.api("status"))
/// await socket.close()
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

    /// Connects to FreeSWITCH's event socket and logs in.
    ///
    /// - Parameter eventBufferLimit: How many unread events ``events`` keeps; later ones are dropped and counted.
    /// - Throws: ``SwitchboardError/Code/authenticationFailed`` for a wrong password, ``SwitchboardError/Code/disconnected``
    ///   or a connect error when nothing answers.
    public static func connect(
        host: String = "127.0.0.1",
        port: Int = 8021,
        authentication: InboundConfiguration.Authentication = .password("ClueCon"),
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
            connectTimeout: timeout,
            logger: logger,
            group: eventLoopGroup
        )
        let greeting = connection.makeGreeting(timeout: timeout)
        let (events, sink) = AsyncStream<EventSocketEvent>.makeStream(
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
                        "ignored a frame: \(reason)",
                        metadata: ["esl.content-type": "\(frame.contentType)"]
                    )
                case .disconnectNotice, .log: break
                }
            } handle: { _ in
            }
            sink.finish()
        }
        do {
            try await connection.logIn(after: greeting, with: authentication)
        } catch {
            try? await connection.channel.close()
            await readTask.value
            throw error
        }
        return CommandSocket(connection: connection, events: events, readTask: readTask, overflow: overflow)
    }

    /// Runs an API command and returns its output; `-ERR` output throws.
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
