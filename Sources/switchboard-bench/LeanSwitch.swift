import EventSocket
import NIOCore
import NIOPosix
import SwitchboardTesting

/// A lean switch side for (b), to tell the listener's cost from the simulator's: the conversation of
/// `FakeFreeSWITCH.placeCall` (connect → myevents → linger → answer → hangup → linger notice → exit) with the same
/// channel template and the same events, but every frame is encoded once; per call only the UUIDs are filled in.
struct LeanSwitch: Sendable {
    let group: any EventLoopGroup
    private let templates = LeanTemplates()

    init(group: any EventLoopGroup) { self.group = group }

    /// Hands one call to the listener on `port` and returns when the listener has said `exit` and closed.
    func placeCall(to address: SocketAddress) async throws {
        let uuid = LeanTemplates.randomUUID()
        let templates = self.templates
        let finished = group.next().makePromise(of: String?.self)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        LeanCall(uuid: uuid, templates: templates, finished: finished)
                    )
                }
            }
        do {
            _ = try await bootstrap.connect(to: address).get()
        } catch {
            finished.fail(error)
            throw error
        }
        if let problem = try await finished.futureResult.get() { throw BenchFailure("call \(uuid): \(problem)") }
    }
}

/// A frame split where the channel UUID goes: `parts[0] uuid parts[1] uuid … parts[n]`.
private struct Template: Sendable {
    let parts: [ByteBuffer]
    let fixedBytes: Int

    init(_ text: String, marker: String) {
        parts = text.split(separator: marker, omittingEmptySubsequences: false).map { ByteBuffer(string: String($0)) }
        fixedBytes = parts.reduce(0) { $0 + $1.readableBytes }
    }

    func length(uuid: String) -> Int { fixedBytes + (parts.count - 1) * uuid.utf8.count }

    func write(uuid: String, into buffer: inout ByteBuffer) {
        for (index, part) in parts.enumerated() {
            if index > 0 { buffer.writeString(uuid) }
            buffer.writeImmutableBuffer(part)
        }
    }
}

/// The pre-encoded frames.
private struct LeanTemplates: Sendable {
    private static let marker = "LEANUUIDMARKER"
    private let connectReply: Template
    private let events: [String: Template]

    init() {
        func encoded(_ name: String) -> String {
            FakeEvent.channel(name, uuid: Self.marker).headers.map {
                "\($0.name): \(PercentDecoding.encode($0.value))\n"
            }
            .joined()
        }
        connectReply = Template(
            encoded("CHANNEL_DATA")
                + "Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n",
            marker: Self.marker
        )
        var events: [String: Template] = [:]
        for name in [
            "CHANNEL_PARK", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_ANSWER", "CHANNEL_HANGUP",
            "CHANNEL_HANGUP_COMPLETE",
        ] {
            events[name] = Template(encoded(name), marker: Self.marker)
        }
        self.events = events
    }

    static func randomUUID() -> String { UUIDString.random() }

    func writeConnectReply(uuid: String, into buffer: inout ByteBuffer) {
        connectReply.write(uuid: uuid, into: &buffer)
    }

    /// Writes a `text/event-plain` frame: the template's headers, `extra` (already encoded lines), a blank line.
    func writeEvent(_ name: String, uuid: String, extra: String = "", into buffer: inout ByteBuffer) {
        let template = events[name]!
        let length = template.length(uuid: uuid) + extra.utf8.count + 1
        buffer.writeString("Content-Length: \(length)\nContent-Type: text/event-plain\n\n")
        template.write(uuid: uuid, into: &buffer)
        buffer.writeString(extra)
        buffer.writeString("\n")
    }
}

/// One call of the lean switch.
private final class LeanCall: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let uuid: String
    private let templates: LeanTemplates
    private let finished: EventLoopPromise<String?>
    private var input = ByteBuffer()
    private var hungUp = false
    private var saidExit = false

    init(uuid: String, templates: LeanTemplates, finished: EventLoopPromise<String?>) {
        self.uuid = uuid
        self.templates = templates
        self.finished = finished
    }

    func channelInactive(context: ChannelHandlerContext) {
        let problem: String? =
            if !hungUp { "the handler did not hang up" } else if !saidExit { "closed without 'exit'" } else { nil }
        finished.succeed(problem)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        input.writeBuffer(&bytes)
        var output = context.channel.allocator.buffer(capacity: 4096)
        var close = false
        // A command is a block of lines ended by a blank line; the listener's commands here carry no body.
        while let end = input.withUnsafeReadableBytes({ BareFraming.blankLine(in: $0) }) {
            let block = input.readString(length: end + 2) ?? ""
            close = respond(to: block, into: &output) || close
        }
        input.discardReadBytes()
        if output.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(output), promise: nil) }
        if close { context.close(promise: nil) }
    }

    /// Appends the answer to one command; returns whether the socket closes after it.
    private func respond(to block: String, into output: inout ByteBuffer) -> Bool {
        if block.hasPrefix("sendmsg") {
            execute(block, into: &output)
        } else if block.hasPrefix("connect") {
            templates.writeConnectReply(uuid: uuid, into: &output)
        } else if block.hasPrefix("myevents") {
            reply("+OK Events Enabled", into: &output)
            templates.writeEvent("CHANNEL_PARK", uuid: uuid, into: &output)
        } else if block.hasPrefix("linger") {
            reply("+OK will linger", into: &output)
        } else if block.hasPrefix("exit") {
            saidExit = true
            reply("+OK bye", into: &output)
            let goodbye = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
            output.writeString("Content-Type: text/disconnect-notice\nContent-Length: \(goodbye.utf8.count)\n\n")
            output.writeString(goodbye)
            return true
        } else {
            reply("-ERR command not found", into: &output)
        }
        return false
    }

    /// `sendmsg` with `call-command: execute`: +OK, CHANNEL_EXECUTE, the application's effect, its completion.
    private func execute(_ block: String, into output: inout ByteBuffer) {
        var name = ""
        var argument = ""
        var applicationUUID = ""
        for line in block.utf8.split(separator: UInt8(ascii: "\n")) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let value = Substring(line[line.index(colon, offsetBy: 2)...])
            switch Substring(line[..<colon]) {
            case "execute-app-name": name = String(value)
            case "execute-app-arg": argument = String(value)
            case "Event-UUID": applicationUUID = String(value)
            default: break
            }
        }
        let identity =
            "Application: \(name)\nApplication-Data: \(PercentDecoding.encode(argument))\n"
            + "Application-UUID: \(applicationUUID)\n"
        let cause = "Hangup-Cause: \(argument.isEmpty ? "NORMAL_CLEARING" : argument)\n"
        reply("+OK", into: &output)
        templates.writeEvent("CHANNEL_EXECUTE", uuid: uuid, extra: identity, into: &output)
        if name == "answer" { templates.writeEvent("CHANNEL_ANSWER", uuid: uuid, into: &output) }
        if name == "hangup" {
            hungUp = true
            templates.writeEvent("CHANNEL_HANGUP", uuid: uuid, extra: cause, into: &output)
        }
        templates.writeEvent(
            "CHANNEL_EXECUTE_COMPLETE",
            uuid: uuid,
            extra: identity + "Application-Response: _none_\n",
            into: &output
        )
        if name == "hangup" {
            templates.writeEvent("CHANNEL_HANGUP_COMPLETE", uuid: uuid, extra: cause, into: &output)
            output.writeString(
                "Content-Type: text/disconnect-notice\nControlled-Session-UUID: \(uuid)\n"
                    + "Content-Disposition: linger\nChannel-Name: loopback/switchboard-test\nLinger-Time: -1\n"
                    + "Content-Length: 0\n\n"
            )
        }
    }

    private func reply(_ text: String, into output: inout ByteBuffer) {
        output.writeString("Content-Type: command/reply\nReply-Text: \(text)\n\n")
    }
}
