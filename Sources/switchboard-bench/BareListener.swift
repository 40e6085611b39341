import EventSocket
import NIOCore
import NIOPosix

/// The ceiling for (b): the listener side of the same conversation written as bare NIO, with none of Switchboard.
///
/// It sends the same commands in the same flushes as `OutboundListener` with the `AnswerHangup` handler (connect;
/// myevents and linger together; answer; hangup; exit), finds frame boundaries and the few facts it needs with byte
/// scans, and decodes nothing else. No tasks, no per-frame allocations beyond NIO's own. Whatever rate this reaches
/// against the same switch on the same cores is what the kernel, NIO and the switch side leave for any listener.
struct BareListener {
    let group: any EventLoopGroup

    /// Binds to an ephemeral port on loopback and returns the server channel.
    func start() async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BareCall())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }
}

/// One call's listener side, as a state machine over frames.
private final class BareCall: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Step {
        case connecting, subscribing, lingering, answering, hangingUp, waitingForNotice, exiting, done
    }

    private var step = Step.connecting
    private var input = ByteBuffer()

    func channelActive(context: ChannelHandlerContext) {
        send("connect\n\n", context: context)
        context.fireChannelActive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input.readableBytes == 0 {
            swap(&input, &bytes)
        } else {
            input.writeBuffer(&bytes)
        }
        while let frame = nextFrame() {
            advance(on: frame, context: context)
        }
        input.discardReadBytes()
    }

    /// The Content-Type and body of the next complete frame, consumed from `input`; `nil` until one has arrived.
    private func nextFrame() -> (reply: Bool, notice: Bool, body: ByteBuffer)? {
        let found = input.withUnsafeReadableBytes { bytes -> (end: Int, length: Int, reply: Bool, notice: Bool)? in
            guard let end = Self.blankLine(in: bytes) else { return nil }
            let block = UnsafeRawBufferPointer(rebasing: bytes[..<end])
            let length = Self.value(after: "Content-Length: ", in: block).flatMap { Int($0) } ?? 0
            guard bytes.count >= end + 2 + length else { return nil }
            let type = Self.value(after: "Content-Type: ", in: block) ?? ""
            return (end, length, type == "command/reply", type == "text/disconnect-notice")
        }
        guard let found else { return nil }
        input.moveReaderIndex(forwardBy: found.end + 2)
        let body = input.readSlice(length: found.length)!
        return (found.reply, found.notice, body)
    }

    private func advance(on frame: (reply: Bool, notice: Bool, body: ByteBuffer), context: ChannelHandlerContext) {
        switch step {
        case .connecting where frame.reply:
            step = .subscribing
            send("myevents\n\nlinger\n\n", context: context)
        case .subscribing where frame.reply:
            step = .lingering
        case .lingering where frame.reply:
            step = .answering
            send(Self.execute("answer", arguments: ""), context: context)
        case .answering where Self.isExecuteComplete(frame.body):
            step = .hangingUp
            send(Self.execute("hangup", arguments: "NORMAL_CLEARING"), context: context)
        case .hangingUp where Self.isExecuteComplete(frame.body):
            step = .waitingForNotice
        case .hangingUp where frame.notice, .waitingForNotice where frame.notice:
            step = .exiting
            send("exit\n\n", context: context)
        case .exiting where frame.notice:
            step = .done
            context.close(promise: nil)
        default:
            break
        }
    }

    private func send(_ text: String, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private static func execute(_ application: String, arguments: String) -> String {
        "sendmsg\ncall-command: execute\nexecute-app-name: \(application)\nexecute-app-arg: \(arguments)\n"
            + "event-lock: true\nEvent-UUID: \(UUIDString.random())\n\n"
    }

    private static func isExecuteComplete(_ body: ByteBuffer) -> Bool {
        body.withUnsafeReadableBytes { value(after: "Event-Name: ", in: $0) == "CHANNEL_EXECUTE_COMPLETE" }
    }

    private static func blankLine(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 2 else { return nil }
        var index = 0
        while index < bytes.count - 1 {
            if bytes[index] == 0x0A && bytes[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }

    /// The rest of the line that starts with `prefix`, at the start of `bytes` or after a line feed.
    private static func value(after prefix: StaticString, in bytes: UnsafeRawBufferPointer) -> String? {
        let needle = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        var lineStart = 0
        while lineStart + needle.count <= bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            if line.count >= needle.count && line.starts(with: needle) {
                return String(decoding: line.dropFirst(needle.count), as: UTF8.self)
            }
            lineStart = lineEnd + 1
        }
        return nil
    }
}
