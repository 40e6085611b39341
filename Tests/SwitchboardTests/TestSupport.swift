import EventSocket
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import Switchboard
import SwitchboardTesting

/// The tests' logger: warnings and above, or the level named by `SWITCHBOARD_TEST_LOG_LEVEL` (`debug`, `trace`, ...)
/// when a failure needs the whole story.
let testLogger: Logger = {
    var logger = Logger(label: "switchboard.tests")
    logger.logLevel =
        ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        ?? .warning
    return logger
}()

/// Collects values from concurrent hooks, and waits for them.
final class Collector<Value: Sendable>: Sendable {
    private let values = NIOLockedValueBox<[Value]>([])

    func append(_ value: Value) { values.withLockedValue { $0.append(value) } }

    var all: [Value] { values.withLockedValue { $0 } }

    /// Waits until at least `count` values arrived; returns them.
    @discardableResult
    func wait(for count: Int, timeout: Duration = .seconds(30)) async throws -> [Value] {
        let deadline = ContinuousClock.now + timeout
        while all.count < count {
            guard ContinuousClock.now < deadline else {
                throw TestTimeout("waited \(timeout) for \(count) values, have \(all.count)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return all
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits until `condition` holds.
func eventually(
    timeout: Duration = .seconds(30),
    _ what: String,
    _ condition: @Sendable () async -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while await !condition() {
        guard ContinuousClock.now < deadline else { throw TestTimeout("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Runs a service (a listener) in a child task for the body's duration, then cancels it and waits for it to end.
func withRunning<Result: Sendable>(
    _ service: some Service,
    _ body: () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await service.run() }
        do {
            let result = try await body()
            group.cancelAll()
            try await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// An outbound handler built from a closure, for tests.
struct ClosureOutboundHandler: OutboundHandler {
    let body: @Sendable (OutboundSession) async throws -> Void
    let onEvent: @Sendable (EventSocketEvent) -> Void
    var handlesEvents = true

    init(_ body: @escaping @Sendable (OutboundSession) async throws -> Void) {
        self.body = body
        self.onEvent = { _ in }
    }

    init(
        onEvent: @escaping @Sendable (EventSocketEvent) -> Void,
        body: @escaping @Sendable (OutboundSession) async throws -> Void
    ) {
        self.body = body
        self.onEvent = onEvent
    }

    func run(_ session: OutboundSession) async throws { try await body(session) }

    func handle(_ event: EventSocketEvent, in session: OutboundSession) async throws { onEvent(event) }
}

/// Starts an outbound listener on a free port; returns it with its port once bound.
func startOutboundListener(
    _ handler: any OutboundHandler,
    configuration: OutboundConfiguration = OutboundConfiguration(port: 0),
    logger: Logger = testLogger,
    in group: inout ThrowingTaskGroup<Void, any Error>
) async throws -> (OutboundListener, Int) {
    let bound = Collector<Int>()
    let failure = Collector<String>()
    let listener = OutboundListener(configuration: configuration, handler: handler, logger: logger) { address in
        bound.append(address.port ?? 0)
    }
    group.addTask {
        do {
            try await listener.run()
        } catch {
            failure.append("\(error)")
            throw error
        }
    }
    // A listener that fails to start says why at once, instead of a wait that runs out.
    try await eventually("the listener to be bound (run() has not returned)") {
        !bound.all.isEmpty || !failure.all.isEmpty
    }
    if let error = failure.all.first { throw TestTimeout("the listener failed before it was bound: \(error)") }
    return (listener, bound.all[0])
}
