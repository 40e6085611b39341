import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Rayo
import ServiceLifecycle
import Switchboard
import SwitchboardDiagnostics
import XMPP

/// The Rayo service: owns a ``Rayo/RayoMachine`` and carries out what it asks for.
///
/// It is transport-agnostic: XMPP clients reach it as an ``XMPP/XMPPLocalService`` (from the built-in c2s server
/// today), and its stanzas leave through the transport's ``XMPP/StanzaRouter``. FreeSWITCH is reached over one
/// inbound event socket connection (reconnected with backoff) for events and commands, and over the outbound
/// sessions of the `rayo` handler (``RayoCallHandler``), which hand calls over and hold them until the machine
/// releases them.
///
/// Every input (a client's stanza, an event, a command's reply, a timer) goes through one task in arrival order, so
/// the machine needs no lock of its own beyond the snapshot the console reads.
public final class RayoService: Service, XMPPLocalService, Sendable {
    /// The events the machine needs, subscribed on the inbound connection.
    public static let events = [
        "CHANNEL_CREATE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_ANSWER", "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_PARK", "DTMF",
        "BACKGROUND_JOB",
    ]
    /// The CUSTOM subclasses the machine needs.
    public static let customSubclasses = ["conference::maintenance"]
    /// The channel variable that restricts an offer to some clients (as mod_rayo's `rayo user1,user2`).
    public static let offerToVariable = "rayo_offer_to"

    /// The call-control settings the machine runs with.
    public let settings: RayoSettings
    /// The JID the admin console's commands come from: `console@<domain>/console`.
    public let consoleJID: JID
    private let eventSocket: InboundConfiguration
    private let commandTimeout: Duration
    private let drainTime: Duration
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let machine: NIOLockedValueBox<RayoMachine>
    private let shared = NIOLockedValueBox(Shared())
    private let inputs: AsyncStream<Input>
    private let continuation: AsyncStream<Input>.Continuation

    private enum Input: Sendable {
        case machine(RayoInput)
        case timer(TimerID, generation: UInt64)
        case drainDeadline
    }

    private struct Shared {
        var router: (any StanzaRouter)?
        var connection: EventSocketConnection?
        var commands = CommandTracker()
        var lostConnection = false
        var heldCalls: [String: CallHold] = [:]
        var consoleWaiters: [String: CheckedContinuation<XMLElement?, Never>] = [:]
        var nextConsoleID: UInt64 = 0
        var draining = false
        var stopped = false
    }

    /// Creates the service; nothing connects until ``run()``.
    ///
    /// - Parameters:
    ///   - eventSocket: Where FreeSWITCH's event socket is; its `events` are replaced by the ones Rayo needs.
    ///   - commandTimeout: How long one `api`, `sendmsg` or `bgapi` job may take before it counts as failed.
    ///   - drainTime: On graceful shutdown, how long controlled calls may go on.
    public init(
        settings: RayoSettings,
        eventSocket: InboundConfiguration,
        commandTimeout: Duration = .seconds(30),
        drainTime: Duration = .seconds(30),
        logger: Logger,
        eventLoopGroup: any EventLoopGroup
    ) {
        self.settings = settings
        self.consoleJID = JID(localpart: "console", domainpart: settings.domain, resourcepart: "console")!
        var socket = eventSocket
        socket.events = Self.events
        socket.customSubclasses = Self.customSubclasses
        socket.filters = []
        self.eventSocket = socket
        self.commandTimeout = commandTimeout
        self.drainTime = drainTime
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.machine = NIOLockedValueBox(RayoMachine(settings: settings))
        (inputs, continuation) = AsyncStream.makeStream(of: Input.self)
    }

    // MARK: - XMPPLocalService

    /// `urn:xmpp:rayo:1`.
    public var discoFeatures: [String] { [RayoNamespace.core] }

    /// Keeps the transport's router for outgoing stanzas.
    public func attach(router: any StanzaRouter) {
        shared.withLockedValue { $0.router = router }
    }

    /// Queues a client's event for the machine.
    public func receive(_ event: ClientEvent) {
        continuation.yield(.machine(.client(event)))
    }

    // MARK: - Status

    /// A snapshot of clients, calls, mixers and components.
    public var status: RayoStatus { machine.withLockedValue { $0.status } }

    /// `rayo: 2 clients, 5 calls` (plus `event socket down`, `draining`), for systemd's STATUS line.
    public var statusLine: String {
        let status = self.status
        return "rayo: \(clientCount(status)) clients, \(status.calls.count) calls"
            + (status.eventSocketUp ? "" : ", event socket down") + (status.draining ? ", draining" : "")
    }

    /// The Rayo clients logged in (the console not counted) and the calls known, for the metrics.
    public var counts: (clients: Int, calls: Int) {
        let status = self.status
        return (clientCount(status), status.calls.count)
    }

    private func clientCount(_ status: RayoStatus) -> Int {
        let console = consoleJID.description
        return status.clients.filter { $0.jid != console }.count
    }

    /// Whether the inbound event socket connection is up.
    public var isEventSocketConnected: Bool { shared.withLockedValue { $0.connection != nil } }

    // MARK: - Running

    /// Connects to the event socket and runs the machine until graceful shutdown has drained the calls (or
    /// `drainTime` passed), or until cancelled.
    public func run() async throws {
        // The event socket must outlive the graceful shutdown signal: draining calls still need its events and
        // commands. A detached task does not inherit the signal; it is cancelled when the machine stops.
        let listener = InboundListener(
            configuration: eventSocket,
            handler: EventSocketBridge(service: self),
            logger: logger,
            eventLoopGroup: eventLoopGroup
        )
        // Until the first connection is up, the machine must know FreeSWITCH is unreachable (it then offers no call
        // and fails commands with service-unavailable); the first connect reports it restored with the live calls.
        shared.withLockedValue { $0.lostConnection = true }
        continuation.yield(.machine(.eventSocketLost))
        continuation.yield(.machine(.client(.online(consoleJID))))
        let listenerTask = Task.detached { try? await listener.run() }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await self.runMachine()
            } onGracefulShutdown: {
                self.startDrain()
            }
        } onCancel: {
            self.continuation.finish()
        }
        shared.withLockedValue { $0.stopped = true }
        listenerTask.cancel()
        _ = await listenerTask.value
        finishEverything()
    }

    private func startDrain() {
        let first = shared.withLockedValue { state in
            defer { state.draining = true }
            return !state.draining
        }
        guard first else { return }
        logger.info("Rayo draining: no new offers; controlled calls may finish within \(drainTime.loggable)")
        continuation.yield(.machine(.drain))
        let drainTime = self.drainTime
        let continuation = self.continuation
        Task.detached {
            try? await Task.sleep(for: drainTime)
            continuation.yield(.drainDeadline)
        }
    }

    /// The one task that feeds the machine and carries out its actions.
    private func runMachine() async {
        var timers = TimerTable()
        for await input in inputs {
            let machineInput: RayoInput
            switch input {
            case .machine(let value):
                machineInput = value
            case .timer(let id, let generation):
                guard timers.fire(id, generation: generation) else { continue }
                machineInput = .timerFired(id)
            case .drainDeadline:
                let left = machine.withLockedValue { $0.status.calls.count }
                logger.warning("Rayo drain time is over with \(left) calls still controlled; stopping")
                return
            }
            var pending = [machineInput]
            while !pending.isEmpty {
                let next = pending.removeFirst()
                let actions = machine.withLockedValue { $0.handle(next, now: .now) }
                for action in actions {
                    if let followUp = perform(action, timers: &timers) { pending.append(followUp) }
                }
            }
            if shared.withLockedValue({ $0.draining }), machine.withLockedValue({ $0.status.calls.isEmpty }) {
                logger.info("Rayo drained: no call is controlled any more")
                return
            }
        }
    }

    /// Carries out one action; returns an input to feed at once (a command that could not even be sent).
    private func perform(_ action: RayoAction, timers: inout TimerTable) -> RayoInput? {
        switch action {
        case .send(let stanza):
            deliver(stanza)
        case .execute(let id, let request):
            return execute(id, request)
        case .startTimer(let id, let delay):
            let generation = timers.start(id)
            let continuation = self.continuation
            let task = Task {
                try? await Task.sleep(for: delay)
                if !Task.isCancelled { continuation.yield(.timer(id, generation: generation)) }
            }
            timers.attach(task, to: id, generation: generation)
        case .cancelTimer(let id):
            timers.cancel(id)
        case .releaseCall(let uuid):
            shared.withLockedValue { $0.heldCalls[uuid] }?.release()
        }
        return nil
    }

    private func deliver(_ stanza: XMLElement) {
        if let to = stanza[attribute: "to"], JID(to) == consoleJID {
            let id = stanza[attribute: "id"] ?? ""
            let waiter = shared.withLockedValue { $0.consoleWaiters.removeValue(forKey: id) }
            waiter?.resume(returning: stanza)
            return
        }
        guard let router = shared.withLockedValue({ $0.router }) else {
            logger.debug("no XMPP transport attached; stanza dropped")
            return
        }
        if !router.route(stanza) {
            logger.debug("no session for \(stanza[attribute: "to"]?.loggable ?? "-"); stanza dropped")
        }
    }

    // MARK: - Commands to FreeSWITCH

    private func execute(_ id: RequestID, _ request: SwitchRequest) -> RayoInput? {
        let connection: EventSocketConnection? = shared.withLockedValue { state in
            guard let connection = state.connection, state.commands.begin() else { return nil }
            return connection
        }
        guard let connection else { return .switchReply(id, .disconnected) }
        let timeout = commandTimeout
        let continuation = self.continuation
        Task {
            let reply = await Self.perform(request, on: connection, timeout: timeout)
            continuation.yield(.machine(.switchReply(id, reply)))
            self.commandEnded()
        }
        return nil
    }

    private func commandEnded() {
        let waiters = shared.withLockedValue { $0.commands.end() }
        for waiter in waiters { waiter.resume() }
    }

    /// Runs one request and describes its outcome as the machine wants it.
    static func perform(
        _ request: SwitchRequest,
        on connection: EventSocketConnection,
        timeout: Duration
    ) async -> SwitchReply {
        do {
            switch request {
            case .api(let line):
                let (command, arguments) = split(line)
                let reply = try await connection.send(try .api(command, arguments: arguments), timeout: timeout)
                return reply.isError ? .failed(reply.text) : .ok(reply.text)
            case .backgroundAPI(let line):
                let (command, arguments) = split(line)
                return .ok(try await connection.backgroundAPI(command, arguments, timeout: timeout))
            case .execute(let uuid, let application, let argument):
                let execution = ApplicationExecution(application, argument: argument)
                let reply = try await connection.send(try .execute(execution, uuid: uuid), timeout: timeout)
                return reply.isError ? .failed(reply.text) : .ok(reply.text)
            }
        } catch let error as SwitchboardError where error.code == .disconnected {
            return .disconnected
        } catch let error as EventSocketError where error.code == .commandFailed {
            // A failed bgapi job: keep FreeSWITCH's own text (`-ERR USER_BUSY`), as an api reply would be.
            let marker = "failed: "
            let message = error.message
            var index = message.startIndex
            while index < message.endIndex {
                if message[index...].hasPrefix(marker) {
                    return .failed(String(message[message.index(index, offsetBy: marker.count)...]))
                }
                index = message.index(after: index)
            }
            return .failed(message)
        } catch {
            return .failed("\(error)")
        }
    }

    private static func split(_ line: String) -> (String, String?) {
        guard let space = line.firstIndex(of: " ") else { return (line, nil) }
        let arguments = line[line.index(after: space)...]
        return (String(line[..<space]), arguments.isEmpty ? nil : String(arguments))
    }

    // MARK: - The inbound connection's life

    fileprivate func eventSocketConnected(_ connection: EventSocketConnection) async {
        let wasLost = shared.withLockedValue { state in
            state.connection = connection
            state.commands = CommandTracker()
            return state.lostConnection
        }
        logger.info("Rayo connected to FreeSWITCH's event socket")
        guard wasLost else { return }
        let live = await Self.liveCalls(on: connection, timeout: commandTimeout, logger: logger)
        shared.withLockedValue { $0.lostConnection = false }
        continuation.yield(.machine(.eventSocketRestored(liveCalls: live)))
    }

    fileprivate func eventSocketDisconnected(_ connection: EventSocketConnection) async {
        let wait: Bool = shared.withLockedValue { state in
            guard state.connection === connection, !state.stopped else { return false }
            state.connection = nil
            state.lostConnection = true
            return true
        }
        guard wait else { return }
        // Every command in flight on that connection has its reply queued before the loss is.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let idle = shared.withLockedValue { state in
                state.commands.close(waiter: done)
            }
            if idle { done.resume() }
        }
        logger.warning("Rayo lost FreeSWITCH's event socket; reconnecting")
        continuation.yield(.machine(.eventSocketLost))
    }

    fileprivate func eventArrived(_ event: EventSocketEvent) {
        continuation.yield(.machine(.switchEvent(event)))
    }

    /// The channel uuids in the output of `show channels as json`; empty for anything else.
    public static func channelUUIDs(fromShowChannelsJSON text: String) -> Set<String> {
        ChannelList.uuids(fromJSON: text)
    }

    /// The uuids FreeSWITCH still has (`show channels as json`); empty when it cannot say.
    static func liveCalls(on connection: EventSocketConnection, timeout: Duration, logger: Logger) async -> Set<String>
    {
        do {
            let reply = try await connection.send(try .api("show", arguments: "channels as json"), timeout: timeout)
            guard !reply.isError else {
                logger.warning("'show channels as json' failed after reconnecting: \(reply.text.loggable)")
                return []
            }
            return ChannelList.uuids(fromJSON: reply.text)
        } catch {
            logger.warning("'show channels as json' failed after reconnecting: \(String(describing: error).loggable)")
            return []
        }
    }

    // MARK: - Calls handed over by the outbound listener

    /// Hands a call to the machine and holds its session until the machine releases it, the call ends, or the
    /// service stops.
    func hold(_ session: OutboundSession) async {
        let hold = CallHold()
        let uuid = session.uniqueID
        let accepted = shared.withLockedValue { state -> Bool in
            guard !state.stopped else { return false }
            state.heldCalls[uuid] = hold
            return true
        }
        guard accepted else { return }
        defer { _ = shared.withLockedValue { $0.heldCalls.removeValue(forKey: uuid) } }
        session.connection.channel.closeFuture.whenComplete { _ in hold.release() }
        let offerTo = session.variable(Self.offerToVariable).map(Self.offerTargets)
        continuation.yield(.machine(.callArrived(uuid: uuid, channelData: session.channelData, offerTo: offerTo)))
        await withTaskCancellationHandler {
            await hold.wait()
        } onCancel: {
            hold.release()
        }
    }

    /// Ends the hold of a call whose channel hung up.
    func callHungUp(_ uuid: String) {
        shared.withLockedValue { $0.heldCalls[uuid] }?.release()
    }

    /// `user1, user2@domain` → `["user1", "user2@domain"]`; empty means anyone.
    public static func offerTargets(_ variable: String) -> [String] {
        variable.split(separator: ",").map { part in
            String(part.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        }
        .filter { !$0.isEmpty }
    }

    // MARK: - The console

    /// Sends `payload` in an IQ set to `to` as the console and returns the reply stanza (`nil` after `timeout`).
    public func consoleCommand(to: JID, payload: XMLElement, timeout: Duration = .seconds(10)) async -> XMLElement? {
        let id = shared.withLockedValue { state -> String in
            state.nextConsoleID += 1
            return "console-\(state.nextConsoleID)"
        }
        var iq = XMLElement("iq", namespace: "jabber:client", ["type": "set", "id": id])
        iq[attribute: "from"] = consoleJID.description
        iq[attribute: "to"] = to.description
        iq.append(payload)
        let timeoutTask = Task {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            self.shared.withLockedValue { $0.consoleWaiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
        defer { timeoutTask.cancel() }
        return await withCheckedContinuation { waiter in
            let stopped = shared.withLockedValue { state -> Bool in
                if state.stopped { return true }
                state.consoleWaiters[id] = waiter
                return false
            }
            if stopped {
                waiter.resume(returning: nil)
            } else {
                continuation.yield(.machine(.client(.stanza(iq, from: consoleJID))))
            }
        }
    }

    /// Sends a chat message from the domain to a client; `false` when no session has that JID.
    public func consoleMessage(to: JID, text: String) -> Bool {
        var message = XMLElement("message", namespace: "jabber:client", ["type": "chat"])
        message[attribute: "from"] = settings.domain
        message[attribute: "to"] = to.description
        var body = XMLElement("body")
        body.append(text: text)
        message.append(body)
        return shared.withLockedValue { $0.router }?.route(message) ?? false
    }

    /// Marks a client available for offers (`<show>chat</show>`) or unavailable, as if it had sent that presence.
    public func consolePresence(of jid: JID, online: Bool) {
        continuation.yield(.machine(.client(.presence(jid, online ? .available(show: .chat) : .unavailable))))
    }

    // MARK: - Stopping

    private func finishEverything() {
        let (holds, waiters) = shared.withLockedValue { state in
            state.stopped = true
            let holds = Array(state.heldCalls.values)
            let waiters = Array(state.consoleWaiters.values)
            state.consoleWaiters = [:]
            return (holds, waiters)
        }
        for hold in holds { hold.release() }
        for waiter in waiters { waiter.resume(returning: nil) }
        continuation.finish()
    }
}

/// The inbound connection's handler: events and connection changes go to the service.
private struct EventSocketBridge: InboundHandler {
    let service: RayoService

    func connected(to connection: EventSocketConnection) async throws {
        await service.eventSocketConnected(connection)
    }

    func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {
        service.eventArrived(event)
    }

    func disconnected(from connection: EventSocketConnection, error: (any Error)?) async {
        await service.eventSocketDisconnected(connection)
    }
}

/// Counts the commands in flight on one connection, so that the loss of the connection is reported only after
/// each of them has its reply queued.
struct CommandTracker {
    private var inFlight = 0
    private var closed = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Counts a command; `false` once the connection is closed.
    mutating func begin() -> Bool {
        guard !closed else { return false }
        inFlight += 1
        return true
    }

    /// Uncounts a command; returns the waiters to resume when none is left.
    mutating func end() -> [CheckedContinuation<Void, Never>] {
        inFlight -= 1
        guard inFlight == 0, closed else { return [] }
        defer { waiters = [] }
        return waiters
    }

    /// Refuses new commands; `true` when nothing is in flight (the waiter is then not kept).
    mutating func close(waiter: CheckedContinuation<Void, Never>) -> Bool {
        closed = true
        if inFlight == 0 { return true }
        waiters.append(waiter)
        return false
    }
}

/// The machine's timers: one task per armed ``Rayo/TimerID``; a generation per arming so that a fire that raced a
/// cancel or re-arm is recognised and dropped.
struct TimerTable {
    private var armed: [TimerID: (generation: UInt64, task: Task<Void, Never>?)] = [:]
    private var nextGeneration: UInt64 = 0

    mutating func start(_ id: TimerID) -> UInt64 {
        armed[id]?.task?.cancel()
        nextGeneration += 1
        armed[id] = (nextGeneration, nil)
        return nextGeneration
    }

    mutating func attach(_ task: Task<Void, Never>, to id: TimerID, generation: UInt64) {
        if armed[id]?.generation == generation { armed[id]?.task = task } else { task.cancel() }
    }

    mutating func cancel(_ id: TimerID) {
        armed.removeValue(forKey: id)?.task?.cancel()
    }

    /// Whether a fire of this arming is still wanted (it is then disarmed).
    mutating func fire(_ id: TimerID, generation: UInt64) -> Bool {
        guard armed[id]?.generation == generation else { return false }
        armed.removeValue(forKey: id)
        return true
    }
}

/// Keeps an outbound session open until released; releasing twice is harmless.
final class CallHold: Sendable {
    private let state = NIOLockedValueBox<(released: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func wait() async {
        await withCheckedContinuation { waiter in
            let released = state.withLockedValue { state -> Bool in
                if state.released { return true }
                state.waiter = waiter
                return false
            }
            if released { waiter.resume() }
        }
    }

    func release() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.released = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
