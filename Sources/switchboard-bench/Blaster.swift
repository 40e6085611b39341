import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization

/// A stand-in for FreeSWITCH's event socket that speaks just enough of the inbound protocol (greeting, `auth`,
/// `event`, `filter`, `exit`) and then, after the `event` command, replays the corpus as fast as the socket takes
/// it, `events` frames in all, writing only while the channel is writable.
final class Blaster: Sendable {
    /// The greeting FreeSWITCH sends on connect.
    static let greeting = "Content-Type: auth/request\n\n"

    /// The reply to a command line, as mod_event_socket words it.
    static func reply(to line: String) -> String {
        let verb = line.prefix { $0 != " " }
        let text: String
        switch verb {
        case "auth", "userauth": text = "+OK accepted"
        case "event": text = "+OK event listener enabled plain"
        case "filter": text = "+OK filter added. [\(line.dropFirst(7))]"
        case "exit": text = "+OK bye"
        default: text = "-ERR command not found"
        }
        return "Content-Type: command/reply\nReply-Text: \(text)\n\n"
    }

    /// The port it listens on (127.0.0.1).
    let port: Int
    /// Connections accepted so far; more than one during a run means the client reconnected.
    let connections = Atomic<Int>(0)
    /// Event frames written so far, over all connections.
    let eventsSent = Atomic<Int>(0)
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    /// Starts listening on 127.0.0.1, port 0. Each connection gets `events` frames after its `event` command.
    static func start(corpus: EventCorpus, events: Int, group: any EventLoopGroup) async throws -> Blaster {
        let stats = StatsSlot()
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let blaster = stats.blaster else { throw ChannelError.ioOnClosedChannel }
                    blaster.connections.wrappingAdd(1, ordering: .relaxed)
                    try channel.pipeline.syncOperations.addHandler(
                        BlasterHandler(corpus: corpus, events: events, blaster: blaster)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let blaster = Blaster(port: server.localAddress?.port ?? 0, channel: server)
        stats.blaster = blaster
        return blaster
    }

    /// Stops listening; connections already open stay until their clients close them.
    func stop() async {
        try? await channel.close()
    }
}

/// Lets the child channel initializer reach the blaster, which exists only after binding.
private final class StatsSlot: Sendable {
    private let slot = NIOLockedValueBox<Blaster?>(nil)
    var blaster: Blaster? {
        get { slot.withLockedValue { $0 } }
        set { slot.withLockedValue { $0 = newValue } }
    }
}

/// One connection of the blaster.
private final class BlasterHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let corpus: EventCorpus
    private let events: Int
    private let blaster: Blaster
    private var input = ByteBuffer()
    private var blasting = false
    private var sent = 0
    private var nextBatch = 0

    init(corpus: EventCorpus, events: Int, blaster: Blaster) {
        self.corpus = corpus
        self.events = events
        self.blaster = blaster
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: Blaster.greeting)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        input.writeBuffer(&bytes)
        let blankLine: [UInt8] = [UInt8(ascii: "\n"), UInt8(ascii: "\n")]
        while let end = input.readableBytesView.firstRange(of: blankLine) {
            let length = end.upperBound - input.readableBytesView.startIndex
            let block = input.readString(length: length) ?? ""
            let line = String(block.prefix { $0 != "\n" })
            context.write(wrapOutboundOut(ByteBuffer(string: Blaster.reply(to: line))), promise: nil)
            if line.hasPrefix("exit") {
                context.flush()
                context.close(promise: nil)
                return
            }
            if line.hasPrefix("event ") { blasting = true }
        }
        input.discardReadBytes()
        context.flush()
        pump(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pump(context: context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Writes batches while the channel is writable (NIO counts written-but-unsent bytes against its high-water
    /// mark), so the blaster never buffers more than about one batch beyond what the socket has taken.
    private func pump(context: ChannelHandlerContext) {
        guard blasting else { return }
        var wrote = false
        while sent < events, context.channel.isWritable {
            let (bytes, frames) = corpus.batch(nextBatch, maxFrames: events - sent)
            context.write(wrapOutboundOut(bytes), promise: nil)
            sent += frames
            blaster.eventsSent.wrappingAdd(frames, ordering: .relaxed)
            nextBatch = (nextBatch + 1) % corpus.batches.count
            wrote = true
        }
        if wrote { context.flush() }
    }
}
