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
        while let frame = BareFraming.nextFrame(in: &input) {
            advance(on: frame, context: context)
        }
        input.discardReadBytes()
    }

    private func advance(on frame: (type: String, body: ByteBuffer), context: ChannelHandlerContext) {
        let reply = frame.type == "command/reply"
        let notice = frame.type == "text/disconnect-notice"
        switch step {
        case .connecting where reply:
            step = .subscribing
            send("myevents\n\nlinger\n\n", context: context)
        case .subscribing where reply:
            step = .lingering
        case .lingering where reply:
            step = .answering
            send(Self.execute("answer", arguments: ""), context: context)
        case .answering where Self.isExecuteComplete(frame.body):
            step = .hangingUp
            send(Self.execute("hangup", arguments: "NORMAL_CLEARING"), context: context)
        case .hangingUp where Self.isExecuteComplete(frame.body):
            step = .waitingForNotice
        case .hangingUp where notice, .waitingForNotice where notice:
            step = .exiting
            send("exit\n\n", context: context)
        case .exiting where notice:
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
        body.withUnsafeReadableBytes { BareFraming.value(after: "Event-Name: ", in: $0) == "CHANNEL_EXECUTE_COMPLETE" }
    }
}

/// Frame boundaries and single header values found with byte scans: just enough of the protocol for the bench's
/// bare ceilings and its lean switch, and nothing of the library.
enum BareFraming {
    /// The Content-Type and body of the next complete frame, consumed from `input`; `nil` until one has arrived.
    static func nextFrame(in input: inout ByteBuffer) -> (type: String, body: ByteBuffer)? {
        let found = input.withUnsafeReadableBytes { bytes -> (end: Int, length: Int, type: String)? in
            guard let end = blankLine(in: bytes) else { return nil }
            let block = UnsafeRawBufferPointer(rebasing: bytes[..<end])
            let length = value(after: "Content-Length: ", in: block).flatMap { Int($0) } ?? 0
            guard bytes.count >= end + 2 + length else { return nil }
            return (end, length, value(after: "Content-Type: ", in: block) ?? "")
        }
        guard let found else { return nil }
        input.moveReaderIndex(forwardBy: found.end + 2)
        return (found.type, input.readSlice(length: found.length)!)
    }

    /// The offset of the first "\n\n" in `bytes`, or `nil`.
    static func blankLine(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 2 else { return nil }
        var index = 0
        while index < bytes.count - 1 {
            if bytes[index] == 0x0A && bytes[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }

    /// The rest of the line that starts with `prefix`, at the start of `bytes` or after a line feed.
    static func value(after prefix: StaticString, in bytes: UnsafeRawBufferPointer) -> String? {
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

/// The ceiling for (c): a command socket written as bare NIO. A task writes `api status` and waits on a promise that
/// the channel handler fulfils with the reply's body: the same thread hops as `CommandSocket.api`, none of its code.
final class BareCommandClient: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<BareReplyHandler>

    private init(channel: any Channel, handler: NIOLoopBound<BareReplyHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Connects, waits for the greeting and logs in with `password`.
    static func connect(port: Int, password: String) async throws -> BareCommandClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BareReplyHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: BareReplyHandler.self),
                eventLoop: channel.eventLoop
            )
        }.get()
        let client = BareCommandClient(channel: channel, handler: handler)
        _ = try await client.send(nil)  // auth/request
        _ = try await client.send("auth \(password)\n\n")
        return client
    }

    /// Writes `command` (when given) and returns the body of the next frame.
    func send(_ command: String?) async throws -> ByteBuffer {
        let (channel, handler) = (self.channel, self.handler)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        channel.eventLoop.execute {
            handler.value.waiters.append(promise)
            handler.value.deliver()
            guard let command else { return }
            channel.writeAndFlush(ByteBuffer(string: command), promise: nil)
        }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}

/// Hands each frame's body to the oldest waiter.
final class BareReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    var waiters = CircularBuffer<EventLoopPromise<ByteBuffer>>()
    private var frames = CircularBuffer<ByteBuffer>()
    private var input = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        input.writeBuffer(&bytes)
        while let frame = BareFraming.nextFrame(in: &input) { frames.append(frame.body) }
        input.discardReadBytes()
        deliver()
    }

    func deliver() {
        while !waiters.isEmpty, let frame = frames.popFirst() { waiters.removeFirst().succeed(frame) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let waiter = waiters.popFirst() { waiter.fail(ChannelError.ioOnClosedChannel) }
        context.fireChannelInactive()
    }
}
