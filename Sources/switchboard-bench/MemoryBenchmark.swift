import Foundation
import Logging
import NIOConcurrencyHelpers
import Switchboard
import SwitchboardTesting

/// (d) Resident memory per idle outbound session. The switch side runs in a child process (this program with
/// `--hold-calls PORT`), so this process's VmRSS holds only the listener and its sessions.
struct MemoryBenchmark {
    struct Result {
        var sessions: Int
        var baselineKiB: Int
        var loadedKiB: Int
        var kibPerSession: Double { Double(loadedKiB - baselineKiB) / Double(sessions) }
    }

    let sessions: Int
    let timeout: Duration
    let logger: Logger

    func run() async throws -> Result {
        let gate = Gate()
        let waiting = Counter()
        let listener = OutboundListener(
            configuration: OutboundConfiguration(host: "127.0.0.1", port: 0, maxSessions: sessions + 100),
            handler: AnswerThenWait(gate: gate, waiting: waiting),
            logger: logger
        )
        let listening = Task { try await listener.run() }
        defer { listening.cancel() }
        let port = try await boundPort(of: listener, timeout: .seconds(10))

        // Warm-up: a few calls through the whole path with the gate open, so that first-use costs (code pages,
        // runtime caches, pools) are not counted per session.
        gate.open()
        try await SwitchSide.spawn(port: port, calls: 20).finish(within: timeout)
        gate.close()
        try await waitUntil("the warm-up calls end", timeout: timeout) { listener.activeSessions == 0 }
        try await Task.sleep(for: .milliseconds(200))
        let baseline = try ProcessMemory.residentKiB()

        let child = try SwitchSide.spawn(port: port, calls: sessions)
        do {
            try await waitUntil("\(sessions) sessions answer and wait", timeout: timeout) {
                waiting.value >= sessions && listener.activeSessions >= sessions
            }
        } catch {
            child.terminate()
            throw error
        }
        try await Task.sleep(for: .milliseconds(500))
        let loaded = try ProcessMemory.residentKiB()
        gate.open()
        try await child.finish(within: timeout)
        listening.cancel()
        _ = await listening.result
        return Result(sessions: sessions, baselineKiB: baseline, loadedKiB: loaded)
    }

}

/// The handler of (d): answer, then wait for the gate, then hang up.
struct AnswerThenWait: OutboundHandler {
    let gate: Gate
    let waiting: Counter

    func run(_ session: OutboundSession) async throws {
        try await session.answer()
        waiting.increment()
        await gate.wait()
        try await session.hangup()
    }
}

/// Holds tasks until opened; while open, `wait` returns at once.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLockedValue { state in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLockedValue { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func close() {
        state.withLockedValue { $0.isOpen = false }
    }
}

/// The switch side of (d) in a child process: this program with `--hold-calls PORT --idle-sessions N`.
struct SwitchSide {
    private let process: Process

    static func spawn(port: Int, calls: Int) throws -> SwitchSide {
        let process = Process()
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--hold-calls", "\(port)", "--idle-sessions", "\(calls)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return SwitchSide(process: process)
    }

    /// Waits for the child to exit (every call ended); kills it and throws when it takes longer than `timeout`.
    func finish(within timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                terminate()
                throw BenchFailure("the switch-side process did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        guard process.terminationStatus == 0 else {
            throw BenchFailure("the switch-side process failed (status \(process.terminationStatus))")
        }
    }

    func terminate() {
        if process.isRunning { process.terminate() }
    }

    /// The child's work: place `calls` calls to `port` at once and wait until every one has ended.
    static func holdCalls(port: Int, calls: Int, timeout: Duration) async -> Int32 {
        do {
            let fake = try await FakeFreeSWITCH.start()
            let failures = Counter()
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<calls {
                    // Staggered so that the listener's accept backlog (256) never overflows.
                    if index > 0, index % 100 == 0 { try? await Task.sleep(for: .milliseconds(20)) }
                    group.addTask {
                        do {
                            _ = try await fake.placeCall(to: port, timeout: timeout)
                        } catch {
                            if failures.increment() == 1 { printError("switch side: a call failed: \(error)") }
                        }
                    }
                }
            }
            await fake.stop()
            return failures.value == 0 ? 0 : 1
        } catch {
            printError("switch side: \(error)")
            return 1
        }
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
