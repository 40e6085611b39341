import InMemoryLogging
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A logger that keeps every entry (debug and up) for assertions on exact log lines.
struct LogCapture: Sendable {
    let handler: InMemoryLogHandler

    init() {
        var handler = InMemoryLogHandler()
        handler.logLevel = .debug
        self.handler = handler
    }

    var logger: Logger {
        let handler = self.handler
        var logger = Logger(label: "switchboard.tests.capture") { _ in handler }
        logger.logLevel = .debug
        return logger
    }

    /// `warning listener 'events': …` for each entry at `minimum` or above.
    func lines(atLeast minimum: Logger.Level = .info) -> [String] {
        handler.entries.filter { $0.level >= minimum }.map { "\($0.level) \($0.message)" }
    }

    /// Waits until some entry's line satisfies `condition`.
    ///
    /// The generous default is for the whole suite running in parallel on two cores, where the CPU-bound tests can
    /// hold both threads of the cooperative pool for a minute and more; a passing test waits only as long as it takes.
    func wait(
        timeout: Duration = .seconds(180),
        for what: String,
        atLeast minimum: Logger.Level = .debug,
        _ condition: @escaping @Sendable (String) -> Bool
    ) async throws {
        try await eventually(timeout: timeout, what) { lines(atLeast: minimum).contains(where: condition) }
    }
}

/// A peer on 127.0.0.1 that plays a script on each connection: sends `greeting`, answers each command line from
/// `answers` in order, then sends `farewell` and closes, resetting the connection (RST) when `reset` is set.
final class ScriptedPeer: Sendable {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(
        greeting: String,
        answers: [String] = [],
        farewell: String = "",
        reset: Bool = false
    ) async throws -> ScriptedPeer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ScriptedPeerHandler(greeting: greeting, answers: answers, farewell: farewell, reset: reset)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedPeer(port: channel.localAddress?.port ?? 0, channel: channel)
    }

    func stop() async { try? await channel.close() }
}

private final class ScriptedPeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let greeting: String
    var answers: [String]
    let farewell: String
    let reset: Bool
    var received = ""

    init(greeting: String, answers: [String], farewell: String, reset: Bool) {
        self.greeting = greeting
        self.answers = answers
        self.farewell = farewell
        self.reset = reset
    }

    func channelActive(context: ChannelHandlerContext) {
        send(greeting, context: context)
        if answers.isEmpty { finish(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received += buffer.readString(length: buffer.readableBytes) ?? ""
        // Commands end with a blank line.
        while let end = received.firstRange(of: "\n\n"), !answers.isEmpty {
            received.removeSubrange(..<end.upperBound)
            send(answers.removeFirst(), context: context)
            if answers.isEmpty { finish(context: context) }
        }
    }

    private func finish(context: ChannelHandlerContext) {
        send(farewell, context: context)
        if reset {
            // SO_LINGER with a zero timeout: close sends RST instead of FIN.
            // On the event loop the option is set at once.
            _ = (context.channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        }
        context.close(promise: nil)
    }

    private func send(_ text: String, context: ChannelHandlerContext) {
        guard !text.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
    }
}
