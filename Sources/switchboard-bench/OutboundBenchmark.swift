import Logging
import NIOCore
import NIOPosix
import Switchboard
import SwitchboardTesting
import Synchronization

/// (b) Outbound sessions per second: a listener whose handler answers and hangs up, driven by `concurrency`
/// simulated switch connections at once.
struct OutboundBenchmark {
    struct Result {
        var sessions: Int
        var seconds: Double
        var failures: Int
        var firstFailure: String?
        /// CPU seconds of the switch side's event loop thread during the timed run.
        var switchCPUSeconds: Double
        /// CPU seconds of everything else in the process (the listener, its sessions, the driving tasks).
        var listenerCPUSeconds: Double

        var sessionsPerSecond: Double { Double(sessions) / seconds }
        /// Microseconds of CPU per session on the listener side.
        var listenerMicrosecondsPerSession: Double { listenerCPUSeconds * 1e6 / Double(sessions) }
        /// Microseconds of CPU per session on the switch side.
        var switchMicrosecondsPerSession: Double { switchCPUSeconds * 1e6 / Double(sessions) }
    }

    let sessions: Int
    let concurrency: Int
    let driver: String
    let timeout: Duration
    let logger: Logger
    /// Whether the listener side is ``BareListener`` (the ceiling) rather than Switchboard's `OutboundListener`.
    var bare = false

    func run() async throws -> Result {
        let port: Int
        let stopListening: () async -> Void
        if bare {
            let server = try await BareListener(group: MultiThreadedEventLoopGroup.singleton).start()
            port = server.localAddress?.port ?? 0
            stopListening = { try? await server.close() }
        } else {
            let listener = OutboundListener(
                configuration: OutboundConfiguration(host: "127.0.0.1", port: 0, maxSessions: concurrency * 2),
                handler: AnswerHangup(),
                logger: logger
            )
            let listening = Task { try await listener.run() }
            port = try await boundPort(of: listener, timeout: .seconds(10))
            stopListening = {
                listening.cancel()
                _ = await listening.result
            }
        }
        do {
            return try await measure(port: port, stopListening: stopListening)
        } catch {
            await stopListening()
            throw error
        }
    }

    private func measure(port: Int, stopListening: () async -> Void) async throws -> Result {
        // The switch side runs on its own event loop thread, so that its CPU time can be told from the listener's.
        let switchGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { switchGroup.shutdownGracefully { _ in } }
        let switchThread = try await switchGroup.next().submit { ProcessCPU.currentThreadID() }.get()
        let place: @Sendable () async throws -> Void
        let fake: FakeFreeSWITCH?
        if driver == "lean" {
            fake = nil
            let lean = LeanSwitch(group: switchGroup)
            let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            place = { try await lean.placeCall(to: address) }
        } else {
            let switchSide = try await FakeFreeSWITCH.start(eventLoopGroup: switchGroup)
            fake = switchSide
            place = {
                let record = try await switchSide.placeCall(to: port)
                guard record.ending == .hangupApplication(cause: "NORMAL_CLEARING"), record.saidExit else {
                    throw BenchFailure("call \(record.uuid) ended \(record.ending), exit said: \(record.saidExit)")
                }
            }
        }
        // Warm-up: code paths, allocator pools, the connection backlog.
        let warmUp = min(1000, max(concurrency, sessions / 20))
        _ = try await drive(calls: warmUp, place: place)
        let start = ContinuousClock.now
        let (processBefore, switchBefore) = (ProcessCPU.processSeconds(), ProcessCPU.threadSeconds(switchThread))
        let (failures, firstFailure) = try await drive(calls: sessions, place: place)
        let (processAfter, switchAfter) = (ProcessCPU.processSeconds(), ProcessCPU.threadSeconds(switchThread))
        let elapsed = ContinuousClock.now - start
        await stopListening()
        await fake?.stop()
        return Result(
            sessions: sessions - failures,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            failures: failures,
            firstFailure: firstFailure,
            switchCPUSeconds: switchAfter - switchBefore,
            listenerCPUSeconds: (processAfter - processBefore) - (switchAfter - switchBefore)
        )
    }

    /// Places `calls` calls over `concurrency` connections at once; returns the failures and the first one's reason.
    private func drive(
        calls: Int,
        place: @escaping @Sendable () async throws -> Void
    ) async throws -> (Int, String?) {
        let next = Counter()
        let failures = Counter()
        let firstFailure = FirstFailure()
        let deadline = ContinuousClock.now + timeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<min(concurrency, calls) {
                group.addTask {
                    while next.increment() <= calls {
                        guard ContinuousClock.now < deadline else { throw BenchFailure("timed out after \(timeout)") }
                        do {
                            try await place()
                        } catch {
                            failures.increment()
                            firstFailure.note(error)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        return (failures.value, firstFailure.description)
    }
}

/// Waits until a listener has bound and returns its port.
func boundPort(of listener: OutboundListener, timeout: Duration) async throws -> Int {
    try await waitUntil("the outbound listener to bind", timeout: timeout) { listener.localAddress?.port != nil }
    return listener.localAddress?.port ?? 0
}

/// Polls `condition` until it holds; throws a failure naming `what` after `timeout`.
func waitUntil(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw BenchFailure("\(what): not within \(timeout)") }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// The handler of (b): answer, then hang up.
struct AnswerHangup: OutboundHandler {
    func run(_ session: OutboundSession) async throws {
        try await session.answer()
        try await session.hangup()
    }
}

/// A shared counter.
final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)

    /// Adds one; returns the new value.
    @discardableResult
    func increment() -> Int { atomic.wrappingAdd(1, ordering: .relaxed).newValue }

    var value: Int { atomic.load(ordering: .relaxed) }
}

/// The first of many failures, kept for the report.
final class FirstFailure: Sendable {
    private let first = Mutex<String?>(nil)

    func note(_ error: any Error) {
        first.withLock { $0 = $0 ?? "\(error)" }
    }

    var description: String? { first.withLock { $0 } }
}
