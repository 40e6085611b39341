import EventSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization

extension FakeFreeSWITCH {
    /// Hands a call to an outbound listener on 127.0.0.1:`port`, as FreeSWITCH's `socket` application does, and
    /// plays it by the script until the listener closes the socket. `uuid` defaults to a fresh one.
    ///
    /// To run a handler without starting a listener yourself, use ``runCall(_:script:configuration:logger:timeout:)``.
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
/// caller's and the far end's parts, and lingers after hangup until `exit`.
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
    /// The channel's headers (the captured template with the script's caller, destination and headers), kept up
    /// to date: `Answer-State`, `Channel-Call-State`, `Hangup-Cause`.
    private var channelHeaders: [(name: String, value: String)]
    private var variables: [String: String]
    private var commands: [ClientCommand] = []
    private var applications: [(name: String, argument: String?)] = []
    private var events: [FakeEvent] = []
    private var ending = CallRecord.Ending.stillUp
    private var hangupCause: String?
    private var saidExit = false
    private var lingering = false
    /// `linger <seconds>`: the socket closes that long after the call ended, as FreeSWITCH does, if no `exit` came.
    private var lingerSeconds: Int?
    private var eventsEnabled = false
    private var answered = false
    private var callEnded = false
    private var bridgesRun = 0
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
        self.channelHeaders = ChannelTemplate.headers(uuid: uuid, script: script)
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
                events: events,
                ending: ending,
                hangupCause: hangupCause,
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
        var event = FakeEvent.channel("CHANNEL_DATA", headers: channelHeaders, variables: variables)
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
        let event = FakeEvent.channel(name, headers: channelHeaders, variables: variables, extra: extra)
        events.append(event)
        send(WireFormat.event(event.headers, body: event.body, format: .plain))
    }

    private func setChannelHeader(_ name: String, _ value: String) {
        if let index = channelHeaders.firstIndex(where: { $0.name == name }) {
            channelHeaders[index].value = value
        } else {
            channelHeaders.append((name, value))
        }
    }

    /// Runs one `sendmsg`; the future completes when the application has completed.
    private func execute(_ command: ClientCommand) -> EventLoopFuture<Void> {
        let done = channel.eventLoop.makeSucceededVoidFuture()
        if command.headers["call-command"] == "hangup" {
            send(WireFormat.commandReply("+OK"))
            let cause = command.headers["hangup-cause"] ?? "NORMAL_CLEARING"
            hangUp(cause: cause, by: .hangupCommand(cause: cause))
            return done
        }
        guard !callEnded, !script.refuseApplications, let name = command.headers["execute-app-name"] else {
            send(WireFormat.commandReply("-ERR no such channel"))
            return done
        }
        let argument = command.headers["execute-app-arg"] ?? command.body ?? ""
        let applicationUUID = command.headers["Event-UUID"] ?? UUIDString.random()
        applications.append((name, command.headers["execute-app-arg"] ?? command.body))
        fake.state.withLockedValue { $0.applicationsStarted += 1 }
        if script.asyncFull { send(WireFormat.commandReply("+OK")) }
        let application = RunningApplication(name: name, argument: argument, uuid: applicationUUID)
        emitChannelEvent("CHANNEL_EXECUTE", extra: application.identity)
        let loop = channel.eventLoop.assumeIsolated()
        return loop.scheduleTask(in: TimeAmount(script.applicationDuration)) { [self] () -> EventLoopFuture<Void> in
            if name == "bridge", script.callerHangsUpDuring != name {
                return bridge(application)
            }
            let response = perform(name, argument)
            complete(application, response: response)
            if script.callerHangsUpDuring == name || name == "hangup" {
                finishCall()
            }
            return done
        }.futureResult.flatMap { $0 }
    }

    /// CHANNEL_EXECUTE_COMPLETE; in static mode the command's reply comes only now.
    private func complete(_ application: RunningApplication, response: String = "_none_") {
        emitChannelEvent(
            "CHANNEL_EXECUTE_COMPLETE",
            extra: application.identity + [("Application-Response", response)]
        )
        if !script.asyncFull { send(WireFormat.commandReply("+OK")) }
    }

    /// Applies an application's effect on the call; returns its `Application-Response`.
    private func perform(_ name: String, _ argument: String) -> String {
        if script.callerHangsUpDuring == name {
            hangUp(cause: "NORMAL_CLEARING", by: .caller, finish: false)
            return "FILE PLAYED"
        }
        switch name {
        case "answer":
            answer()
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
            let cause = argument.isEmpty ? "NORMAL_CLEARING" : argument
            hangUp(cause: cause, by: .hangupApplication(cause: cause), finish: false)
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

    private func answer() {
        guard !answered else { return }
        answered = true
        setChannelHeader("Answer-State", "answered")
        emitChannelEvent("CHANNEL_ANSWER")
        setChannelHeader("Channel-Call-State", "ACTIVE")
        variables["endpoint_disposition"] = "ANSWER"
    }

    private func hangUp(cause: String, by ending: CallRecord.Ending, finish: Bool = true) {
        guard !callEnded else { return }
        callEnded = true
        self.ending = ending
        hangupCause = cause
        setChannelHeader("Answer-State", "hangup")
        setChannelHeader("Hangup-Cause", cause)
        emitChannelEvent("CHANNEL_HANGUP")
        if finish { finishCall() }
    }

    /// The end of the call: the last events, then the linger notice (the socket stays until `exit`) or the close.
    private func finishCall() {
        setChannelHeader("Channel-Call-State", "HANGUP")
        variables["hangup_cause"] = hangupCause
        emitChannelEvent("CHANNEL_HANGUP_COMPLETE")
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

    // MARK: Bridge

    /// Plays the next ``BridgeOutcome`` of the script, as FreeSWITCH 1.10.12 reports it on the calling channel
    /// (`Tests/Fixtures/esl/outbound-bridge-*`); the future completes with the bridge application.
    private func bridge(_ application: RunningApplication) -> EventLoopFuture<Void> {
        let outcome = bridgesRun < script.bridges.count ? script.bridges[bridgesRun] : .answered()
        bridgesRun += 1
        let farEnd = FarEnd(uuid: UUIDString.random(), dialString: application.argument)
        let done = channel.eventLoop.makeSucceededVoidFuture()
        switch outcome.kind {
        case .failed(let cause):
            variables["originate_signal_bond"] = farEnd.uuid
            variables["originated_legs"] = farEnd.originatedLegs
            variables["last_bridge_hangup_cause"] = cause
            variables["originate_disposition"] = cause
            variables["DIALSTATUS"] = Self.dialStatus(cause)
            variables["originate_causes"] = "\(farEnd.uuid);\(cause)"
            variables["originate_failed_cause"] = cause
            let hangsUp = !continuesAfterFailedBridge(cause)
            if hangsUp { hangUp(cause: cause, by: .afterBridge(cause: cause), finish: false) }
            complete(application)
            if hangsUp { finishCall() }
            return done
        case .answered(let duration, let party, let cause):
            answer()
            variables["originated_legs"] = farEnd.originatedLegs
            variables["originate_disposition"] = "SUCCESS"
            variables["DIALSTATUS"] = "SUCCESS"
            variables["originate_causes"] = "\(farEnd.uuid);NONE"
            variables["signal_bond"] = farEnd.uuid
            // The far end's profile stays on the channel: every later event names it.
            for (name, value) in otherLegHeaders(farEnd) { setChannelHeader(name, value) }
            let bridgeHeaders: [(name: String, value: String)] = [
                ("Bridge-A-Unique-ID", uuid), ("Bridge-B-Unique-ID", farEnd.uuid),
            ]
            emitChannelEvent("CHANNEL_BRIDGE", extra: bridgeHeaders)
            let loop = channel.eventLoop.assumeIsolated()
            return loop.scheduleTask(in: TimeAmount(duration)) { [self] in
                guard !callEnded else { return }
                variables["last_bridge_to"] = farEnd.uuid
                variables["bridge_channel"] = farEnd.channelName
                variables["bridge_uuid"] = farEnd.uuid
                variables["last_sent_callee_id_name"] = "Outbound Call"
                variables["last_sent_callee_id_number"] = farEnd.number
                switch party {
                case .farEnd:
                    variables["last_bridge_hangup_cause"] = cause
                    variables["bridge_hangup_cause"] = cause
                    emitChannelEvent("CHANNEL_UNBRIDGE", extra: bridgeHeaders)
                    let hangsUp = Self.isTrue(variables["hangup_after_bridge"])
                    if hangsUp { hangUp(cause: cause, by: .afterBridge(cause: cause), finish: false) }
                    complete(application)
                    if hangsUp { finishCall() }
                case .caller:
                    variables["bridge_to"] = farEnd.uuid
                    variables["last_bridge_role"] = "originator"
                    hangUp(cause: cause, by: .caller, finish: false)
                    variables["bridge_to"] = nil
                    variables["bridge_hangup_cause"] = cause
                    emitChannelEvent("CHANNEL_UNBRIDGE", extra: bridgeHeaders)
                    complete(application)
                    finishCall()
                }
            }.futureResult
        }
    }

    /// The far end's profile, which FreeSWITCH adds to the channel's events from CHANNEL_BRIDGE on.
    private func otherLegHeaders(_ farEnd: FarEnd) -> [(name: String, value: String)] {
        let callerNumber = channelHeaders.first { $0.name == "Caller-Caller-ID-Number" }?.value ?? ""
        return [
            ("Other-Type", "originatee"), ("Other-Leg-Direction", "outbound"),
            ("Other-Leg-Caller-ID-Number", callerNumber),
            ("Other-Leg-Callee-ID-Name", "Outbound Call"), ("Other-Leg-Callee-ID-Number", farEnd.number),
            ("Other-Leg-Destination-Number", farEnd.number), ("Other-Leg-Unique-ID", farEnd.uuid),
            ("Other-Leg-Channel-Name", farEnd.channelName),
        ]
    }

    /// Whether a failed bridge leaves the call up, as mod_dptools decides: never-answered causes always do;
    /// others when `continue_on_fail` is true or names the cause.
    private func continuesAfterFailedBridge(_ cause: String) -> Bool {
        if ["NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL"].contains(cause) { return true }
        guard let continueOnFail = variables["continue_on_fail"] else { return false }
        return Self.isTrue(continueOnFail) || continueOnFail.uppercased().contains(cause)
    }

    /// `DIALSTATUS` for a failed bridge's cause.
    private static func dialStatus(_ cause: String) -> String {
        switch cause {
        case "USER_BUSY": return "BUSY"
        case "NO_ANSWER": return "NOANSWER"
        case "ORIGINATOR_CANCEL": return "CANCEL"
        default: return cause
        }
    }

    /// FreeSWITCH's `switch_true`.
    private static func isTrue(_ value: String?) -> Bool {
        guard let value = value?.lowercased() else { return false }
        if ["yes", "on", "true", "t", "enabled", "active", "allow"].contains(value) { return true }
        return Int(value).map { $0 != 0 } ?? false
    }
}

/// An application the simulated call runs, as its CHANNEL_EXECUTE events name it.
private struct RunningApplication {
    var name: String
    var argument: String
    var uuid: String

    var identity: [(name: String, value: String)] {
        [("Application", name), ("Application-Data", argument), ("Application-UUID", uuid)]
    }
}

/// The far end of a simulated bridge, named from the dial string's first endpoint.
private struct FarEnd {
    var uuid: String
    /// The endpoint without its `{…}`/`[…]` variables, e.g. `sofia/gateway/carrier/15551234567`.
    var channelName: String
    /// The number dialled: a loopback endpoint's extension, otherwise the endpoint's last part before any `@`.
    var number: String

    init(uuid: String, dialString: String) {
        self.uuid = uuid
        // `{…}` applies to every endpoint, `[…]` and `<…>` to one: skip them, then take the first endpoint.
        var rest = Substring(dialString)
        while let open = rest.first, let close = rest.firstIndex(of: open == "{" ? "}" : open == "[" ? "]" : ">"),
            open == "{" || open == "[" || open == "<"
        {
            rest = rest[rest.index(after: close)...]
        }
        let endpoint = rest.prefix { $0 != "," && $0 != "|" }
        channelName = String(endpoint)
        let parts = endpoint.split(separator: "/")
        let last = parts.first == "loopback" && parts.count > 1 ? parts[1] : parts.last ?? ""
        number = String(last.prefix { $0 != "@" })
    }

    /// `originated_legs`: `<uuid>;<callee name>;<callee number>`.
    var originatedLegs: String { "\(uuid);Outbound Call;\(number)" }
}
