import EventSocket
import NIOCore
import NIOPosix
import Synchronization

/// How a simulated call behaves when the simulated switch hands it to an outbound listener.
public struct CallScript: Sendable {
    /// Channel variables the call starts with (`variable_<name>` in the channel data).
    public var variables: [String: String]
    /// Whether the dialplan said `socket … async full` (the default) or a bare `socket host:port`.
    public var asyncFull: Bool
    /// Digits the caller presses when `play_and_get_digits` or `read` runs (a trailing terminator is stripped).
    public var digits: String?
    /// The application during which the caller hangs up (e.g. `playback`), if any.
    public var callerHangsUpDuring: String?
    /// How long each application takes before it completes.
    public var applicationDuration: Duration
    /// Refuse every `sendmsg` with `-ERR`, as a switch that lost the channel would.
    public var refuseApplications: Bool

    /// Creates a script: an `async full` call that runs every application at once.
    public init(
        variables: [String: String] = [:],
        asyncFull: Bool = true,
        digits: String? = nil,
        callerHangsUpDuring: String? = nil,
        applicationDuration: Duration = .zero,
        refuseApplications: Bool = false
    ) {
        self.variables = variables
        self.asyncFull = asyncFull
        self.digits = digits
        self.callerHangsUpDuring = callerHangsUpDuring
        self.applicationDuration = applicationDuration
        self.refuseApplications = refuseApplications
    }
}

/// What happened on a simulated call, for assertions.
public struct CallRecord: Sendable {
    /// Who ended the call.
    public enum Ending: Sendable, Hashable {
        /// The handler ran `hangup`.
        case hangupApplication(cause: String)
        /// The caller hung up (``CallScript/callerHangsUpDuring``).
        case caller
        /// The call was still up when the socket closed (the handler ended early).
        case stillUp
    }

    /// The channel's UUID.
    public var uuid: String
    /// Every command the listener sent, in order.
    public var commands: [ClientCommand]
    /// The applications run, in order, with their arguments.
    public var applications: [(name: String, argument: String?)]
    /// The channel variables when the socket closed.
    public var variables: [String: String]
    /// How the call ended.
    public var ending: Ending
    /// Whether the listener said `exit` before closing.
    public var saidExit: Bool
}

extension FakeFreeSWITCH {
    /// Hands a call to an outbound listener on 127.0.0.1:`port`, as FreeSWITCH's `socket` application does, and
    /// plays it by the script until the listener closes the socket. `uuid` defaults to a fresh one.
    public func placeCall(
        to port: Int,
        script: CallScript = CallScript(),
        uuid: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> CallRecord {
        let uuid = uuid ?? UUIDString.random()
        let finished = group.next().makePromise(of: CallRecord.self)
        do {
            _ = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let call = SimulatedCall(
                            fake: self,
                            channel: channel,
                            uuid: uuid,
                            script: script,
                            timeout: timeout,
                            finished: finished
                        )
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(ClientCommandDecoder()),
                            call
                        )
                    }
                }
                .connect(host: "127.0.0.1", port: port)
                .get()
        } catch {
            finished.fail(error)
            throw error
        }
        return try await finished.futureResult.get()
    }
}

/// The switch's side of one outbound socket: answers `connect`, runs applications with their events, plays the
/// caller's part, and lingers after hangup until `exit`.
final class SimulatedCall: ChannelInboundHandler {
    typealias InboundIn = ClientCommand
    typealias OutboundOut = ByteBuffer

    private unowned let fake: FakeFreeSWITCH
    private let channel: any Channel
    private let uuid: String
    private let script: CallScript
    private let timeout: Duration
    private let finished: EventLoopPromise<CallRecord>
    private var timer: Scheduled<Void>?
    private var variables: [String: String]
    private var commands: [ClientCommand] = []
    private var applications: [(name: String, argument: String?)] = []
    private var ending = CallRecord.Ending.stillUp
    private var saidExit = false
    private var lingering = false
    /// `linger <seconds>`: the socket closes that long after the call ended, as FreeSWITCH does, if no `exit` came.
    private var lingerSeconds: Int?
    private var eventsEnabled = false
    private var callEnded = false
    private var queue: EventLoopFuture<Void>

    init(
        fake: FakeFreeSWITCH,
        channel: any Channel,
        uuid: String,
        script: CallScript,
        timeout: Duration,
        finished: EventLoopPromise<CallRecord>
    ) {
        self.fake = fake
        self.channel = channel
        self.uuid = uuid
        self.script = script
        self.timeout = timeout
        self.finished = finished
        self.variables = script.variables
        self.queue = channel.eventLoop.makeSucceededVoidFuture()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
            let sent = commands.map { command in
                command.verb == "sendmsg"
                    ? "sendmsg \(command.headers["execute-app-name"] ?? command.headers["call-command"] ?? "")"
                    : command.description
            }
            finished.fail(
                FakeSwitchError(
                    "the call \(uuid) was still open after \(timeout); the listener sent: "
                        + (sent.isEmpty ? "nothing" : sent.joined(separator: ", "))
                )
            )
            channel.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        finished.succeed(
            CallRecord(
                uuid: uuid,
                commands: commands,
                applications: applications,
                variables: variables,
                ending: ending,
                saidExit: saidExit
            )
        )
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let command = unwrapInboundIn(data)
        commands.append(command)
        switch command.verb {
        case "connect":
            send(connectReply())
        case "myevents":
            eventsEnabled = true
            send(WireFormat.commandReply("+OK Events Enabled"))
            if script.asyncFull { emitChannelEvent("CHANNEL_PARK") }
        case "linger":
            if script.asyncFull {
                lingering = true
                lingerSeconds = Int(command.arguments)
                send(WireFormat.commandReply("+OK will linger" + (lingerSeconds.map { " \($0) seconds" } ?? "")))
            } else {
                send(WireFormat.commandReply("-ERR command not found"))
            }
        case "getvar":
            if let value = variables[command.arguments], !value.isEmpty {
                send(WireFormat.commandReply(value))
            } else {
                send(WireFormat.commandReply("-ERR command not found"))
            }
        case "sendmsg":
            queue = queue.assumeIsolated().flatMap { [self] in execute(command) }.nonisolated()
        case "api":
            let (name, arguments) = FakeInboundSession.split(command.arguments)
            if case .output(let output) = fake.answer(command: name, arguments: arguments) {
                send(WireFormat.apiResponse(output))
            } else {
                send(WireFormat.apiResponse("+OK\n"))
            }
        case "exit":
            saidExit = true
            send(WireFormat.commandReply("+OK bye"))
            send(WireFormat.disconnectNotice(linger: nil))
            channel.close(promise: nil)
        case "event", "filter", "nolinger", "resume", "divert_events":
            send(WireFormat.commandReply("+OK"))
        default:
            send(WireFormat.commandReply("-ERR command not found"))
        }
    }

    private func send(_ buffer: ByteBuffer) {
        channel.writeAndFlush(buffer, promise: nil)
    }

    private func connectReply() -> ByteBuffer {
        var event = FakeEvent.channel("CHANNEL_DATA", uuid: uuid, variables: variables)
        event.set("Channel-Unique-ID", uuid)
        var buffer = ByteBuffer()
        for (name, value) in event.headers { buffer.writeString("\(name): \(PercentDecoding.encode(value))\n") }
        buffer.writeString("Content-Type: command/reply\nReply-Text: %2BOK%0A\n")
        buffer.writeString("Socket-Mode: \(script.asyncFull ? "async" : "static")\n")
        buffer.writeString("Control: \(script.asyncFull ? "full" : "single-channel")\n\n")
        return buffer
    }

    private func emitChannelEvent(_ name: String, extra: [(name: String, value: String)] = []) {
        guard eventsEnabled, channel.isActive else { return }
        let event = FakeEvent.channel(name, uuid: uuid, variables: variables, extra: extra)
        send(WireFormat.event(event.headers, body: event.body, format: .plain))
    }

    /// Runs one `sendmsg`; the future completes when the application has completed.
    private func execute(_ command: ClientCommand) -> EventLoopFuture<Void> {
        let done = channel.eventLoop.makeSucceededVoidFuture()
        if command.headers["call-command"] == "hangup" {
            send(WireFormat.commandReply("+OK"))
            hangUp(
                cause: command.headers["hangup-cause"] ?? "NORMAL_CLEARING",
                by: .hangupApplication(cause: "NORMAL_CLEARING")
            )
            return done
        }
        guard !callEnded, !script.refuseApplications, let name = command.headers["execute-app-name"] else {
            send(WireFormat.commandReply("-ERR no such channel"))
            return done
        }
        let argument = command.headers["execute-app-arg"] ?? command.body
        let applicationUUID = command.headers["Event-UUID"] ?? UUIDString.random()
        applications.append((name, argument))
        fake.state.withLock { $0.applicationsStarted += 1 }
        if script.asyncFull { send(WireFormat.commandReply("+OK")) }
        let identity: [(name: String, value: String)] = [
            ("Application", name), ("Application-Data", argument ?? ""), ("Application-UUID", applicationUUID),
        ]
        emitChannelEvent("CHANNEL_EXECUTE", extra: identity)
        return channel.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(script.applicationDuration)) { [self] in
            let response = perform(name, argument ?? "")
            emitChannelEvent("CHANNEL_EXECUTE_COMPLETE", extra: identity + [("Application-Response", response)])
            if !script.asyncFull { send(WireFormat.commandReply("+OK")) }
            if script.callerHangsUpDuring == name || name == "hangup" {
                finishCall()
            }
        }.futureResult
    }

    /// Applies an application's effect on the call; returns its `Application-Response`.
    private func perform(_ name: String, _ argument: String) -> String {
        if script.callerHangsUpDuring == name {
            hangUp(cause: "NORMAL_CLEARING", by: .caller, finish: false)
            return "FILE PLAYED"
        }
        switch name {
        case "answer":
            variables["answer_state"] = "answered"
            emitChannelEvent("CHANNEL_ANSWER")
        case "set", "export":
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { variables[parts[0]] = parts[1] }
        case "multiset":
            for pair in argument.split(separator: " ") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { variables[parts[0]] = parts[1] }
            }
        case "unset":
            variables[argument] = nil
        case "play_and_get_digits":
            // min max tries timeout terminators prompt invalid-prompt variable regex
            let words = argument.split(separator: " ").map(String.init)
            if words.count >= 9 {
                collectDigits(min: Int(words[0]) ?? 1, max: Int(words[1]) ?? 128, into: words[7], terminators: words[4])
            }
        case "read":
            // min max prompt variable timeout terminators
            let words = argument.split(separator: " ").map(String.init)
            if words.count >= 4 {
                collectDigits(
                    min: Int(words[0]) ?? 1,
                    max: Int(words[1]) ?? 128,
                    into: words[3],
                    terminators: words.count > 5 ? words[5] : "#"
                )
            }
        case "hangup":
            hangUp(
                cause: argument.isEmpty ? "NORMAL_CLEARING" : argument,
                by: .hangupApplication(cause: argument.isEmpty ? "NORMAL_CLEARING" : argument),
                finish: false
            )
        default:
            break
        }
        return name == "playback" ? "FILE PLAYED" : "_none_"
    }

    private func collectDigits(min: Int, max: Int, into variable: String, terminators: String) {
        guard var digits = script.digits else { return }
        if let last = digits.last, terminators.contains(last) { digits.removeLast() }
        if digits.count >= min && digits.count <= max { variables[variable] = digits }
    }

    private func hangUp(cause: String, by ending: CallRecord.Ending, finish: Bool = true) {
        guard !callEnded else { return }
        callEnded = true
        self.ending = ending
        variables["hangup_cause"] = cause
        emitChannelEvent("CHANNEL_HANGUP", extra: [("Hangup-Cause", cause)])
        if finish { finishCall() }
    }

    /// The end of the call: the last events, then the linger notice (the socket stays until `exit`) or the close.
    private func finishCall() {
        emitChannelEvent(
            "CHANNEL_HANGUP_COMPLETE",
            extra: [("Hangup-Cause", variables["hangup_cause"] ?? "NORMAL_CLEARING")]
        )
        if lingering {
            send(WireFormat.disconnectNotice(linger: uuid))
            if let lingerSeconds {
                channel.eventLoop.assumeIsolated().scheduleTask(in: .seconds(Int64(lingerSeconds))) { [self] in
                    guard channel.isActive else { return }
                    send(WireFormat.disconnectNotice(linger: nil))
                    channel.close(promise: nil)
                }
            }
        } else {
            send(WireFormat.disconnectNotice(linger: nil))
            channel.close(promise: nil)
        }
    }
}
