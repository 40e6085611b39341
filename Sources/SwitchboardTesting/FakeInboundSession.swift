import EventSocket
import NIOCore

/// One client connection to the simulated switch's event socket. Lives on its channel's event loop and answers
/// commands one at a time, in order, as mod_event_socket does (a slow `api` delays every later reply).
final class FakeInboundSession: ChannelInboundHandler {
    typealias InboundIn = ClientCommand
    typealias OutboundOut = ByteBuffer

    private unowned let fake: FakeFreeSWITCH
    private let channel: any Channel
    private var authenticated = false
    private var format: EventSocketEvent.Format = .plain
    private var allEvents = false
    private var names: Set<String> = []
    private var subclasses: Set<String> = []
    private var allCustom = false
    private var filters: [(header: String, value: String)] = []
    /// Replies are chained so that a delayed one holds back the ones after it.
    private var lastReply: EventLoopFuture<Void>

    init(fake: FakeFreeSWITCH, channel: any Channel) {
        self.fake = fake
        self.channel = channel
        self.lastReply = channel.eventLoop.makeSucceededVoidFuture()
    }

    var isSubscribed: Bool { authenticated && (allEvents || !names.isEmpty || allCustom || !subclasses.isEmpty) }

    func channelActive(context: ChannelHandlerContext) {
        send(ByteBuffer(string: "Content-Type: auth/request\n\n"))
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let command = unwrapInboundIn(data)
        if fake.record(command).dropHandshake {
            close()
            return
        }
        lastReply = lastReply.assumeIsolated().flatMap { [self] in respond(to: command) }.nonisolated()
    }

    func close() {
        channel.close(promise: nil)
    }

    private func send(_ buffer: ByteBuffer) {
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Answers one command; the future completes when the answer is written.
    private func respond(to command: ClientCommand) -> EventLoopFuture<Void> {
        let done = channel.eventLoop.makeSucceededVoidFuture()
        guard authenticated else {
            login(command)
            return done
        }
        switch command.verb {
        case "event":
            subscribe(command.arguments)
            send(WireFormat.commandReply("+OK event listener enabled \(format.rawValue)"))
        case "nixevent":
            for word in command.arguments.split(separator: " ") { names.remove(String(word)) }
            send(WireFormat.commandReply("+OK events nixed"))
        case "noevents":
            names = []
            subclasses = []
            allEvents = false
            allCustom = false
            send(WireFormat.commandReply("+OK no longer listening for events"))
        case "filter":
            filter(command.arguments)
        case "api":
            return answerAPI(command.arguments)
        case "bgapi":
            startJob(command)
        case "sendevent":
            let uuid = UUIDString.random()
            var event = FakeEvent(
                headers: [("Event-Name", command.arguments)] + command.headers.map { ($0.name, $0.value) }
            )
            event.set("Event-UUID", uuid)
            event.body = command.body
            send(WireFormat.commandReply("+OK \(uuid)"))
            fake.emit(event)
        case "sendmsg", "myevents", "divert_events", "linger", "nolinger", "log", "nolog":
            send(WireFormat.commandReply(Self.acknowledgement(command.verb)))
            if command.verb == "sendmsg", fake.options.answersInboundSendmsg, !command.arguments.isEmpty,
                command.headers["call-command"] == "execute", command.headers["execute-app-name"] == "answer"
            {
                fake.emit(.channel("CHANNEL_ANSWER", uuid: command.arguments, variables: ["answer_state": "answered"]))
            }
        case "exit":
            send(WireFormat.commandReply("+OK bye"))
            send(WireFormat.disconnectNotice(linger: nil))
            channel.close(promise: nil)
        default:
            send(WireFormat.commandReply("-ERR command not found"))
        }
        return done
    }

    private static func acknowledgement(_ verb: String) -> String {
        switch verb {
        case "myevents": "+OK Events Enabled"
        case "divert_events": "+OK events diverted"
        case "linger": "+OK will linger"
        case "nolinger": "+OK will not linger"
        case "log": "+OK log level 7 [7]"
        case "nolog": "+OK no longer logging"
        default: "+OK"
        }
    }

    private func login(_ command: ClientCommand) {
        let accepted: Bool
        switch command.verb {
        case "auth":
            accepted = command.arguments == fake.options.password
        case "userauth":
            let parts = command.arguments.split(separator: ":", maxSplits: 1).map(String.init)
            accepted = parts.count == 2 && fake.options.users[parts[0]] == parts[1]
        default:
            send(WireFormat.commandReply("-ERR command not found"))
            return
        }
        if accepted {
            authenticated = true
            send(WireFormat.commandReply("+OK accepted"))
        } else {
            send(WireFormat.commandReply("-ERR invalid"))
            send(WireFormat.disconnectNotice(linger: nil))
            channel.close(promise: nil)
        }
    }

    private func subscribe(_ arguments: String) {
        var words = arguments.split(separator: " ").map(String.init)
        if let first = words.first, let requested = EventSocketEvent.Format(rawValue: first) {
            format = requested
            words.removeFirst()
        }
        var custom = false
        for word in words {
            if custom {
                subclasses.insert(word)
            } else if word == "CUSTOM" {
                custom = true
                allCustom = true
            } else if word == "ALL" {
                allEvents = true
            } else {
                names.insert(word)
            }
        }
        if !subclasses.isEmpty { allCustom = false }
    }

    private func filter(_ arguments: String) {
        let words = arguments.split(separator: " ", maxSplits: 1).map(String.init)
        if words.first == "delete" {
            let rest = words.count > 1 ? words[1] : ""
            if rest == "all" {
                filters = []
            } else {
                let parts = rest.split(separator: " ", maxSplits: 1).map(String.init)
                filters.removeAll { $0.header == parts.first && (parts.count < 2 || $0.value == parts[1]) }
            }
            send(WireFormat.commandReply("+OK filter deleted."))
            return
        }
        guard words.count == 2 else {
            send(WireFormat.commandReply("-ERR invalid syntax"))
            return
        }
        filters.append((words[0], words[1]))
        send(WireFormat.commandReply("+OK filter added. [\(words[0])]=[\(words[1])]"))
    }

    private func answerAPI(_ line: String) -> EventLoopFuture<Void> {
        let (command, arguments) = Self.split(line)
        switch fake.answer(command: command, arguments: arguments) {
        case .output(let output):
            send(WireFormat.apiResponse(output))
            return channel.eventLoop.makeSucceededVoidFuture()
        case .delayed(let output, let delay):
            return channel.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { [self] in
                send(WireFormat.apiResponse(output))
            }.futureResult
        case .disconnect:
            channel.close(promise: nil)
            return channel.eventLoop.makeSucceededVoidFuture()
        }
    }

    private func startJob(_ command: ClientCommand) {
        let jobUUID = command.headers["Job-UUID"] ?? UUIDString.random()
        let (name, arguments) = Self.split(command.arguments)
        let answer = fake.answer(command: name, arguments: arguments)
        if case .disconnect = answer {
            channel.close(promise: nil)
            return
        }
        send(WireFormat.commandReply("+OK Job-UUID: \(jobUUID)", extra: [("Job-UUID", jobUUID)]))
        let (output, delay): (String, Duration) =
            switch answer {
            case .output(let output): (output, .zero)
            case .delayed(let output, let delay): (output, delay)
            case .disconnect: ("", .zero)
            }
        let event = FakeEvent(
            headers: [
                ("Event-Name", "BACKGROUND_JOB"), ("Core-UUID", "fake-core"), ("Job-UUID", jobUUID),
                ("Job-Command", name), ("Job-Command-Arg", arguments),
            ],
            body: output
        )
        channel.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { [self] in emit(event) }
    }

    /// Writes an event if this connection's subscription and filters let it through.
    func emit(_ event: FakeEvent) {
        guard authenticated, channel.isActive else { return }
        let name = event["Event-Name"] ?? ""
        let subscribed: Bool =
            if name == "CUSTOM" {
                allEvents || allCustom || subclasses.contains(event["Event-Subclass"] ?? "")
            } else {
                allEvents || names.contains(name)
            }
        guard subscribed else { return }
        if !filters.isEmpty {
            let passes = filters.contains { filter in
                guard let value = event[filter.header] else { return false }
                if filter.value.hasPrefix("/"), filter.value.hasSuffix("/"), filter.value.count >= 2 {
                    let pattern = String(filter.value.dropFirst().dropLast())
                    return (try? Regex(pattern).firstMatch(in: value)) != nil
                }
                return value == filter.value
            }
            guard passes else { return }
        }
        send(WireFormat.event(event.headers, body: event.body, format: format))
    }

    static func split(_ line: String) -> (String, String) {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
    }
}
