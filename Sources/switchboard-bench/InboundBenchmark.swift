import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Switchboard
import Synchronization

/// (a) Events decoded and delivered to a no-op inbound handler, against the raw read rate of the same socket.
struct InboundBenchmark {
    struct Result {
        /// Events the handler received.
        var events: Int
        /// Wire bytes of those events (outer headers and body).
        var eventBytes: Int
        /// From the first event handled to the last.
        var seconds: Double
        /// Wire bytes per second read by a handler that only counts bytes.
        var rawBytesPerSecond: Double
        /// Events per second through the codec alone (frame decoder + `EventSocketEvent`), no socket, one thread.
        var codecEventsPerSecond: Double
        /// What went wrong, when the listener did not get every event.
        var problem: String?

        var eventsPerSecond: Double { Double(events) / seconds }
        var bytesPerSecond: Double { Double(eventBytes) / seconds }
    }

    let corpus: EventCorpus
    let events: Int
    let timeout: Duration
    let logger: Logger

    func run() async throws -> Result {
        // The blaster and the client each get an event loop thread of their own.
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let result: Swift.Result<Result, any Error>
        do {
            let codec = try codecOnly()
            let raw = try await rawReadRate(serverGroup: serverGroup, clientGroup: clientGroup)
            result = .success(
                try await listen(serverGroup: serverGroup, clientGroup: clientGroup, raw: raw, codec: codec)
            )
        } catch {
            result = .failure(error)
        }
        try? await serverGroup.shutdownGracefully()
        try? await clientGroup.shutdownGracefully()
        return try result.get()
    }

    /// Only the delivery to the handler, without the raw and codec-only figures (zero in the result).
    func runDeliveryOnly() async throws -> Result {
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let result: Swift.Result<Result, any Error>
        do {
            result = .success(try await listen(serverGroup: serverGroup, clientGroup: clientGroup, raw: 0, codec: 0))
        } catch {
            result = .failure(error)
        }
        try? await serverGroup.shutdownGracefully()
        try? await clientGroup.shutdownGracefully()
        return try result.get()
    }

    /// An `InboundListener` with the counting handler against a fresh blaster.
    private func listen(
        serverGroup: any EventLoopGroup,
        clientGroup: any EventLoopGroup,
        raw: Double,
        codec: Double
    ) async throws -> Result {
        let blaster = try await Blaster.start(corpus: corpus, events: events, group: serverGroup)
        let probe = EventProbe(target: events)
        let listener = InboundListener(
            configuration: InboundConfiguration(host: "127.0.0.1", port: blaster.port, heartbeatTimeout: nil),
            handler: CountingHandler(probe: probe),
            logger: logger,
            eventLoopGroup: clientGroup
        )
        let task = Task { try await listener.run() }
        let deadline = ContinuousClock.now + timeout
        var problem: String?
        while probe.count.load(ordering: .relaxed) < events {
            if ContinuousClock.now > deadline {
                problem = "timed out after \(timeout)"
                break
            }
            if blaster.connections.load(ordering: .relaxed) > 1 {
                problem = "the connection dropped and the listener reconnected (\(probe.describeDisconnect()))"
                break
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        task.cancel()
        _ = await task.result
        await blaster.stop()

        let handled = min(probe.count.load(ordering: .relaxed), events)
        let end = problem == nil ? probe.lastNanos.load(ordering: .relaxed) : NIODeadline.now().uptimeNanoseconds
        return Result(
            events: handled,
            eventBytes: corpus.byteCount(forEvents: handled),
            seconds: Double(end - probe.firstNanos.load(ordering: .relaxed)) / 1e9,
            rawBytesPerSecond: raw,
            codecEventsPerSecond: codec,
            problem: problem
        )
    }

    /// Bytes per second that a client handler which only counts bytes reads from the blaster.
    private func rawReadRate(serverGroup: any EventLoopGroup, clientGroup: any EventLoopGroup) async throws -> Double {
        let blaster = try await Blaster.start(corpus: corpus, events: events, group: serverGroup)
        let login = "auth ClueCon\n\nevent plain ALL\n\n"
        let controlBytes =
            Blaster.greeting.utf8.count + Blaster.reply(to: "auth ClueCon").utf8.count
            + Blaster.reply(to: "event plain ALL").utf8.count
        let eventBytes = corpus.byteCount(forEvents: events)
        let done = clientGroup.next().makePromise(of: (UInt64, UInt64).self)
        let connecting = ClientBootstrap(group: clientGroup)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteCounter(
                            login: login,
                            controlBytes: controlBytes,
                            total: controlBytes + eventBytes,
                            done: done
                        )
                    )
                }
            }
            .connect(host: "127.0.0.1", port: blaster.port)
        let timer = clientGroup.next().scheduleTask(in: TimeAmount(timeout)) {
            done.fail(BenchFailure("the raw reader did not get every byte within \(timeout)"))
        }
        connecting.whenFailure { done.fail($0) }
        var span: (start: UInt64, end: UInt64) = (0, 0)
        var failure: (any Error)?
        do {
            span = try await done.futureResult.get()
        } catch {
            failure = error
        }
        timer.cancel()
        try? await connecting.get().close()
        await blaster.stop()
        if let failure { throw failure }
        return Double(eventBytes) / (Double(span.end - span.start) / 1e9)
    }

    /// The codec alone, for attribution: frame decoder + `EventSocketEvent(frame:)` + the `Unique-ID` look-up the
    /// read loop does, over the corpus bytes in 64 KiB chunks, on this thread.
    private func codecOnly() throws -> Double {
        let rounds = max(1, min(events, 200_000) / corpus.frameCount)
        var decoder = EventSocketFrameDecoder()
        var decoded = 0
        var lanes = 0
        let start = NIODeadline.now()
        for _ in 0..<rounds {
            var input = corpus.bytes
            var buffer = ByteBuffer()
            while input.readableBytes > 0 {
                var chunk = input.readSlice(length: min(64 * 1024, input.readableBytes))!
                buffer.writeBuffer(&chunk)
                while let frame = try decoder.decode(buffer: &buffer) {
                    let event = try EventSocketEvent(frame: frame)
                    lanes &+= event.uniqueID?.utf8.count ?? 0
                    decoded += 1
                }
                buffer.discardReadBytes()
            }
        }
        let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        precondition(decoded == rounds * corpus.frameCount && lanes > 0, "the codec lost frames")
        return Double(decoded) / seconds
    }
}

/// Counts events and notes when the first and the last arrived.
final class EventProbe: Sendable {
    let target: Int
    let count = Atomic<Int>(0)
    let firstNanos = Atomic<UInt64>(0)
    let lastNanos = Atomic<UInt64>(0)
    private let disconnect = NIOLockedValueBox<String?>(nil)

    init(target: Int) { self.target = target }

    func record() {
        let count = count.wrappingAdd(1, ordering: .relaxed).newValue
        if count == 1 { firstNanos.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }
        if count == target { lastNanos.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }
    }

    func disconnected(_ error: (any Error)?) {
        disconnect.withLockedValue { $0 = $0 ?? error.map { "\($0)" } ?? "closed without error" }
    }

    func describeDisconnect() -> String { disconnect.withLockedValue { $0 } ?? "no reason given" }
}

/// The no-op inbound handler of (a): it only counts.
struct CountingHandler: InboundHandler {
    let probe: EventProbe

    func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {
        probe.record()
    }

    func disconnected(from connection: EventSocketConnection, error: (any Error)?) async {
        probe.disconnected(error)
    }
}

/// The raw reader of (a): logs in like the listener, then only counts the bytes it reads.
private final class ByteCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let login: String
    private let controlBytes: Int
    private let total: Int
    private let done: EventLoopPromise<(UInt64, UInt64)>
    private var count = 0
    private var start: UInt64 = 0
    private var finished = false

    init(login: String, controlBytes: Int, total: Int, done: EventLoopPromise<(UInt64, UInt64)>) {
        self.login = login
        self.controlBytes = controlBytes
        self.total = total
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: login)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let before = count
        count += unwrapInboundIn(data).readableBytes
        if before <= controlBytes, count > controlBytes { start = NIODeadline.now().uptimeNanoseconds }
        if count >= total, !finished {
            finished = true
            done.succeed((start, NIODeadline.now().uptimeNanoseconds))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.fail(BenchFailure("the blaster closed after \(count) of \(total) bytes"))
        }
        context.fireChannelInactive()
    }
}
