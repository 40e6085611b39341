import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A simulated FreeSWITCH on a real loopback socket, for testing handlers without a switch.
///
/// Its inbound side speaks mod_event_socket's protocol as FreeSWITCH 1.10 does: the `auth/request` greeting, `auth`
/// and `userauth`, `event` subscriptions (plain, json, xml; CUSTOM subclasses), filters, `api`, `bgapi` with
/// BACKGROUND_JOB results, `sendevent`, `exit` with its disconnect notice. Tests emit events, script API answers,
/// and drop connections. Its outbound side places calls to an ``Switchboard/OutboundListener`` (see
/// ``placeCall(to:script:uuid:timeout:)``), or runs a handler for one call and reports what happened (see
/// ``runCall(_:script:configuration:logger:timeout:)``).
///
/// ```swift
/// let fake = try await FakeFreeSWITCH.start()
/// defer { Task { await fake.stop() } }
/// let listener = InboundListener(configuration: .init(port: fake.port), hooks: hooks, logger: logger)
/// ```
public final class FakeFreeSWITCH: Sendable {
    /// What an API command answers.
    public enum APIAnswer: Sendable {
        /// Output, sent at once as the `api/response` body (or BACKGROUND_JOB body for `bgapi`).
        case output(String)
        /// Output sent after a delay, as a slow command would.
        case delayed(String, Duration)
        /// The switch closes the connection instead of answering: a peer that disappears mid-command.
        case disconnect
    }

    /// How the simulated switch behaves.
    public struct Options: Sendable {
        /// The event socket password.
        public var password: String
        /// `userauth` users: `user@domain` → password.
        public var users: [String: String]
        /// Send a HEARTBEAT to subscribers this often; `nil` sends none.
        public var heartbeatInterval: Duration?
        /// When true, `sendmsg <uuid>` executing `answer` on an inbound connection is followed by a CHANNEL_ANSWER
        /// event for that uuid to every subscriber, as a real switch's channel answers (a Rayo service answers calls
        /// this way). Off by default: tests then emit the events they want themselves.
        public var answersInboundSendmsg: Bool

        /// Creates options; the password defaults to FreeSWITCH's `ClueCon`.
        public init(
            password: String = "ClueCon",
            users: [String: String] = [:],
            heartbeatInterval: Duration? = nil,
            answersInboundSendmsg: Bool = false
        ) {
            self.password = password
            self.users = users
            self.heartbeatInterval = heartbeatInterval
            self.answersInboundSendmsg = answersInboundSendmsg
        }
    }

    /// The port the inbound event socket listens on (127.0.0.1).
    public let port: Int
    let options: Options
    let group: any EventLoopGroup
    private let serverChannel: any Channel
    let state = NIOLockedValueBox(SwitchState())

    struct SwitchState {
        var sessions: [ObjectIdentifier: NIOLoopBound<FakeInboundSession>] = [:]
        var commands: [ClientCommand] = []
        var connectionsAccepted = 0
        var handshakesToDrop = 0
        var apiAnswers: [String: APIAnswer] = [:]
        var heartbeatTask: RepeatedTask?
        var applicationsStarted = 0
    }

    private init(port: Int, options: Options, group: any EventLoopGroup, serverChannel: any Channel) {
        self.port = port
        self.options = options
        self.group = group
        self.serverChannel = serverChannel
    }

    /// Starts the simulated switch on 127.0.0.1 with a free port.
    public static func start(
        options: Options = Options(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> FakeFreeSWITCH {
        let registry = FakeRegistry()
        let server = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let fake = registry.fake else { throw ChannelError.ioOnClosedChannel }
                    let session = FakeInboundSession(fake: fake, channel: channel)
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(ClientCommandDecoder()),
                        session
                    )
                    fake.register(session, channel: channel)
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let fake = FakeFreeSWITCH(
            port: server.localAddress?.port ?? 0,
            options: options,
            group: eventLoopGroup,
            serverChannel: server
        )
        registry.fake = fake
        if let interval = options.heartbeatInterval {
            let task = eventLoopGroup.next().scheduleRepeatedTask(
                initialDelay: TimeAmount(interval),
                delay: TimeAmount(interval)
            ) { _ in fake.emit(.heartbeat()) }
            fake.state.withLockedValue { $0.heartbeatTask = task }
        }
        return fake
    }

    /// Stops listening and closes every connection.
    public func stop() async {
        state.withLockedValue { $0.heartbeatTask?.cancel() }
        try? await serverChannel.close()
        dropAllConnections()
    }

    // MARK: Scripting

    /// Sets what `api <command>` (and `bgapi <command>`) answers, whatever its arguments.
    public func answer(api command: String, with answer: APIAnswer) {
        state.withLockedValue { $0.apiAnswers[command] = answer }
    }

    /// Sends an event to every logged-in connection whose subscription and filters let it through.
    public func emit(_ event: FakeEvent) {
        for session in state.withLockedValue({ Array($0.sessions.values) }) {
            session.eventLoop.execute { session.value.emit(event) }
        }
    }

    /// Closes every client connection now, as a crashing or restarting switch would.
    public func dropAllConnections() {
        for session in state.withLockedValue({ Array($0.sessions.values) }) {
            session.eventLoop.execute { session.value.close() }
        }
    }

    /// Closes the next `count` connections as soon as they send `auth`: a drop in the middle of the handshake.
    public func dropNextHandshakes(_ count: Int) {
        state.withLockedValue { $0.handshakesToDrop += count }
    }

    /// Every command received so far, over all connections, in arrival order.
    public var commands: [ClientCommand] { state.withLockedValue { $0.commands } }

    /// The number of dialplan applications simulated calls have started, over all calls.
    public var applicationsStarted: Int { state.withLockedValue { $0.applicationsStarted } }

    /// The number of connections accepted since start.
    public var connectionsAccepted: Int { state.withLockedValue { $0.connectionsAccepted } }

    /// The number of connections that are logged in and subscribed to at least one event.
    public var subscribedConnections: Int {
        get async {
            var count = 0
            for session in state.withLockedValue({ Array($0.sessions.values) }) {
                let subscribed = try? await session.eventLoop.submit { session.value.isSubscribed }.get()
                if subscribed == true { count += 1 }
            }
            return count
        }
    }

    /// Waits until at least `count` connections are subscribed (and any filters they sent are in place).
    public func waitForSubscribers(_ count: Int = 1, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while await subscribedConnections < count {
            guard ContinuousClock.now < deadline else {
                throw FakeSwitchError("no \(count) subscribed connections within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until a command starting with `prefix` has been received `count` times.
    public func waitForCommand(_ prefix: String, count: Int = 1, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while commands.filter({ $0.line.hasPrefix(prefix) }).count < count {
            guard ContinuousClock.now < deadline else {
                throw FakeSwitchError("no \(count) '\(prefix)' commands within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    // MARK: Internals

    func register(_ session: FakeInboundSession, channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLockedValue {
            $0.sessions[id] = NIOLoopBound(session, eventLoop: channel.eventLoop)
            $0.connectionsAccepted += 1
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLockedValue { $0.sessions.removeValue(forKey: id) }
        }
    }

    func record(_ command: ClientCommand) -> (dropHandshake: Bool, Void) {
        state.withLockedValue { state in
            state.commands.append(command)
            if command.verb == "auth" || command.verb == "userauth", state.handshakesToDrop > 0 {
                state.handshakesToDrop -= 1
                return (true, ())
            }
            return (false, ())
        }
    }

    /// What `api <command> <arguments>` answers.
    func answer(command: String, arguments: String) -> APIAnswer {
        if let scripted = state.withLockedValue({ $0.apiAnswers[command] }) { return scripted }
        switch command {
        case "status":
            return .output(
                "UP 0 years, 0 days, 0 hours, 1 minute, 0 seconds, 0 milliseconds, 0 microseconds\n"
                    + "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n0 session(s) since startup\n"
            )
        case "version":
            return .output("FreeSWITCH Version 1.10.12-release~64bit (-release 64bit)\n")
        case "msleep":
            return .delayed("+OK\n", .milliseconds(Int64(arguments) ?? 0))
        case "echo":
            return .output(arguments)
        case "originate":
            let uuid = arguments.firstMatch(of: /origination_uuid=([0-9a-fA-F-]+)/).map { String($0.1) } ?? "fake"
            return .output("+OK \(uuid)\n")
        case "uuid_kill", "uuid_park", "uuid_answer", "uuid_break", "uuid_setvar", "uuid_bridge", "uuid_transfer",
            "uuid_send_dtmf", "uuid_record":
            return .output("-ERR No such channel!\n")
        case "uuid_getvar":
            return .output("_undef_")
        default:
            return .output("-ERR \(command) Command not found!\n")
        }
    }
}

/// An error of the simulated switch's test helpers.
public struct FakeSwitchError: Error, CustomStringConvertible {
    /// What did not happen.
    public var description: String
    /// Creates an error that says what did not happen.
    public init(_ description: String) { self.description = description }
}

/// Lets the child channel initializer reach the switch object, which exists only after binding.
private final class FakeRegistry: Sendable {
    private let slot = NIOLockedValueBox<FakeFreeSWITCH?>(nil)
    var fake: FakeFreeSWITCH? {
        get { slot.withLockedValue { $0 } }
        set { slot.withLockedValue { $0 = newValue } }
    }
}
