import Logging
import NIOConcurrencyHelpers
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
        /// CPU seconds of the switch side during the timed run: the simulator process, or (`fake`) its event loop
        /// thread.
        var switchCPUSeconds: Double
        /// CPU seconds of the listener's process during the timed run (with `fake`, less the switch's thread).
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
    /// The listener side.
    enum Listener: Equatable {
        /// Switchboard's `OutboundListener` with ``AnswerHangup``, which says whether it takes events
        /// (`OutboundHandler.handlesEvents`) and runs on the event loop or not
        /// (`OutboundConfiguration.runsCallsOnEventLoop`).
        case switchboard(handlesEvents: Bool, onEventLoop: Bool)
        /// ``BareListener``: the same conversation as bare NIO (the ceiling).
        case bare
        /// `switch-sim listen`: the same conversation as bare C in a process of its own (the floor).
        case bareC
    }

    var listener = Listener.switchboard(handlesEvents: false, onEventLoop: true)

    /// A listener while it runs: where it listens, its CPU seconds so far, how to stop it.
    private struct Running {
        var port: Int
        var cpuSeconds: () async throws -> Double = { ProcessCPU.processSeconds() }
        var stop: () async -> Void
    }

    func run() async throws -> Result {
        let running: Running
        switch listener {
        case .bare:
            let server = try await BareListener(group: MultiThreadedEventLoopGroup.singleton).start()
            running = Running(port: server.localAddress?.port ?? 0, stop: { try? await server.close() })
        case .bareC:
            let process = try SwitchSimulator.start(["listen"], timeout: timeout)
            guard let port = Int(try await process.expectLine("port").first ?? "") else {
                await process.finish()
                throw BenchFailure("the C listener printed no port")
            }
            running = Running(
                port: port,
                cpuSeconds: { try await process.cpuSeconds() },
                stop: { await process.finish() }
            )
        case .switchboard(let handlesEvents, let onEventLoop):
            let outbound = OutboundListener(
                configuration: OutboundConfiguration(
                    host: "127.0.0.1",
                    port: 0,
                    maxSessions: concurrency * 2,
                    runsCallsOnEventLoop: onEventLoop
                ),
                handler: AnswerHangup(handlesEvents: handlesEvents),
                logger: logger
            )
            let listening = Task { try await outbound.run() }
            running = Running(
                port: try await boundPort(of: outbound, timeout: .seconds(10)),
                stop: {
                    listening.cancel()
                    _ = await listening.result
                }
            )
        }
        do {
            return driver == "fake"
                ? try await measureInProcess(running)
                : try await measureAgainstSimulator(running)
        } catch {
            await running.stop()
            throw error
        }
    }

    /// The switch side in its own process (`switch-sim outbound`): it places the warm-up calls, waits for the word
    /// to go, places the timed calls and reports its own time and CPU; this process's CPU over the same calls is the
    /// listener's.
    private func measureAgainstSimulator(_ listener: Running) async throws -> Result {
        let templates = try OutboundTemplates.write()
        let warmUp = min(1000, max(concurrency, sessions / 20))
        let simulator = try SwitchSimulator.start(
            ["outbound", "\(listener.port)", "\(sessions)", "\(concurrency)", "\(warmUp)", templates],
            timeout: timeout
        )
        do {
            let warm = try await simulator.expectLine("warm")
            if warm.first != "0" { throw BenchFailure("\(warm.first ?? "?") warm-up calls failed") }
            let listenerBefore = try await listener.cpuSeconds()
            try simulator.writeLine("go")
            let done = try await simulator.expectLine("done")
            guard done.count == 4, let completed = Int(done[0]), let failures = Int(done[1]),
                let seconds = Double(done[2]), let switchCPU = Double(done[3])
            else { throw BenchFailure("the switch simulator printed 'done \(done.joined(separator: " "))'") }
            let firstFailure = failures > 0 ? try await simulator.readLine() : nil
            let listenerAfter = try await listener.cpuSeconds()
            await simulator.finish()
            await listener.stop()
            return Result(
                sessions: completed,
                seconds: seconds,
                failures: failures,
                firstFailure: firstFailure,
                switchCPUSeconds: switchCPU,
                listenerCPUSeconds: listenerAfter - listenerBefore
            )
        } catch {
            await simulator.finish()
            throw error
        }
    }

    /// The switch side in this process (`FakeFreeSWITCH.placeCall`, on an event loop thread of its own whose CPU is
    /// told apart from the rest).
    private func measureInProcess(_ listener: Running) async throws -> Result {
        let switchGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { switchGroup.shutdownGracefully { _ in } }
        let switchThread = try await switchGroup.next().submit { ProcessCPU.currentThreadID() }.get()
        let switchSide = try await FakeFreeSWITCH.start(eventLoopGroup: switchGroup)
        let port = listener.port
        let place: @Sendable () async throws -> Void = {
            let record = try await switchSide.placeCall(to: port)
            guard record.ending == .hangupApplication(cause: "NORMAL_CLEARING"), record.saidExit else {
                throw BenchFailure("call \(record.uuid) ended \(record.ending), exit said: \(record.saidExit)")
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
        await listener.stop()
        await switchSide.stop()
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

/// The handler of (b): answer, then hang up. It has no `handle(_:in:)`; whether it says so is the benchmark's choice.
struct AnswerHangup: OutboundHandler {
    let handlesEvents: Bool

    init(handlesEvents: Bool = false) { self.handlesEvents = handlesEvents }

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
    private let first = NIOLockedValueBox<String?>(nil)

    func note(_ error: any Error) {
        first.withLockedValue { $0 = $0 ?? "\(error)" }
    }

    var description: String? { first.withLockedValue { $0 } }
}
