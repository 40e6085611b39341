import Dispatch
import Testing

/// A serial executor outside Swift's cooperative thread pool, for tests that keep a core busy: decoding whole
/// captures byte by byte, NIO's `ByteToMessageDecoderVerifier`, thousands of randomized exchanges.
///
/// Swift Testing starts every test case at once on the cooperative pool, which has one thread per core: two on a
/// small CI machine. The pool runs what is queued in order, so while seconds of CPU-bound test cases wait there,
/// every other test waits behind them each time it resumes: a simulated FreeSWITCH's reply, a timer, a process that
/// exited. Tests that time something (a reconnect within its backoff, a command that fails within its timeout) then
/// measure that queue. Work sent here takes one core at most, however many tests send it, and leaves the pool free.
///
/// Mark such a test or suite with ``Testing/Trait/cpuBound``.
public final class CPUBoundTestExecutor: TaskExecutor, Sendable {
    /// The executor shared by every test in the process.
    public static let shared = CPUBoundTestExecutor(label: "switchboard.tests.cpu-bound")

    private let queue: DispatchQueue

    /// Creates an executor with a serial queue of its own, named `label` in debuggers and profiles.
    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `job` on the serial queue, after the jobs enqueued before it.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Runs each test it marks on ``CPUBoundTestExecutor/shared``: see there why.
public struct CPUBoundTrait: TestTrait, SuiteTrait, TestScoping {
    /// A suite's mark applies to each of its tests.
    public var isRecursive: Bool { true }

    /// Runs the test with the executor as its task's preference: its synchronous code runs there, and task-local
    /// values (the current test, which `#expect` reports to) stay the test's own.
    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        // A suite's own scope (no test case) needs nothing: only the tests' bodies do the work.
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(CPUBoundTestExecutor.shared, operation: function)
    }
}

extension Trait where Self == CPUBoundTrait {
    /// Runs the test (or each test of the suite) on ``CPUBoundTestExecutor/shared``, off the cooperative pool.
    public static var cpuBound: Self { CPUBoundTrait() }
}
