import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Switchboard

/// What happened when a handler ran one simulated call: what the switch saw (``record``: applications, variables,
/// events, how the call ended) and the error the handler threw, if any.
///
/// The record's properties read directly: `call.applications`, `call.ending`, `call.hangupCause`.
@dynamicMemberLookup
public struct CallTranscript: Sendable {
    /// What the simulated switch saw.
    public var record: CallRecord
    /// The error the handler's `run` threw, or `nil` when it returned. A caller's hangup the handler did not catch
    /// is a ``Switchboard/SwitchboardError`` with code `callHungUp`.
    public var handlerError: (any Error)?

    /// A property of ``record``.
    public subscript<Value>(dynamicMember keyPath: KeyPath<CallRecord, Value>) -> Value {
        record[keyPath: keyPath]
    }
}

extension FakeFreeSWITCH {
    /// Runs `handler` for one simulated call and returns what happened: starts a simulated switch and an
    /// ``Switchboard/OutboundListener`` on loopback (port 0), places a call played by `script`, waits until the
    /// handler is done, then stops the listener and the switch.
    ///
    /// ```swift
    /// let call = try await FakeFreeSWITCH.runCall(Greeter(), script: CallScript(digits: "1001#"))
    /// #expect(call.applications.map(\.name) == ["answer", "play_and_get_digits", "transfer"])
    /// ```
    ///
    /// - Parameters:
    ///   - configuration: The listener's settings (`connection`, `linger`, …); it always binds 127.0.0.1 port 0.
    ///   - logger: The listener's logger; by default warnings and errors only.
    ///   - timeout: How long the call, and then the handler after it, may take.
    /// - Throws: ``FakeSwitchError`` when the call or the handler outlasts `timeout`; the listener's error if it
    ///   cannot listen.
    public static func runCall(
        _ handler: some OutboundHandler,
        script: CallScript = CallScript(),
        configuration: OutboundConfiguration = OutboundConfiguration(),
        logger: Logger = FakeFreeSWITCH.quietLogger,
        timeout: Duration = .seconds(30)
    ) async throws -> CallTranscript {
        let fake = try await FakeFreeSWITCH.start()
        do {
            let transcript = try await fake.runCall(
                handler,
                script: script,
                configuration: configuration,
                logger: logger,
                timeout: timeout
            )
            await fake.stop()
            return transcript
        } catch {
            await fake.stop()
            throw error
        }
    }

    /// Runs `handler` for one call on this simulated switch, so that the test can also script API answers
    /// (``answer(api:with:)``) and inspect ``commands``; see ``runCall(_:script:configuration:logger:timeout:)``.
    public func runCall(
        _ handler: some OutboundHandler,
        script: CallScript = CallScript(),
        configuration: OutboundConfiguration = OutboundConfiguration(),
        logger: Logger = FakeFreeSWITCH.quietLogger,
        timeout: Duration = .seconds(30)
    ) async throws -> CallTranscript {
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.inheritedSocket = nil
        let outcome = HandlerOutcome()
        let bound = AsyncStream.makeStream(of: Int.self)
        let listener = OutboundListener(
            configuration: configuration,
            handler: ObservedHandler(handler, outcome: outcome),
            logger: logger,
            eventLoopGroup: group
        ) { address in
            bound.continuation.yield(address.port ?? 0)
        }
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { bound.continuation.finish() }
                try await listener.run()
            }
            var ports = bound.stream.makeAsyncIterator()
            guard let port = await ports.next() else {
                // The listener ended before it listened: its error says why.
                try await tasks.waitForAll()
                throw FakeSwitchError("the outbound listener stopped before it listened")
            }
            do {
                let record = try await placeCall(to: port, script: script, timeout: timeout)
                // The call's socket is closed; its session may still be finishing. Stop the listener only once it
                // has let the call go, so that stopping it closes nothing.
                let deadline = ContinuousClock.now + timeout
                while listener.activeSessions > 0 {
                    guard ContinuousClock.now < deadline else {
                        throw FakeSwitchError("the handler was still running \(timeout) after its call ended")
                    }
                    try await Task.sleep(for: .milliseconds(2))
                }
                tasks.cancelAll()
                try await tasks.waitForAll()
                return CallTranscript(record: record, handlerError: outcome.error)
            } catch {
                tasks.cancelAll()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// The logger ``runCall(_:script:configuration:logger:timeout:)`` gives the listener by default: warnings and
    /// errors, so a passing test prints nothing unless something is wrong.
    public static var quietLogger: Logger {
        var logger = Logger(label: "switchboard.testing")
        logger.logLevel = .warning
        return logger
    }
}

/// The error a handler threw, kept for the transcript.
private final class HandlerOutcome: Sendable {
    private let slot = NIOLockedValueBox<(any Error)?>(nil)

    var error: (any Error)? { slot.withLockedValue { $0 } }

    func record(_ error: any Error) { slot.withLockedValue { $0 = error } }
}

/// Runs the user's handler and keeps the error its `run` throws, then throws it on to the listener.
private struct ObservedHandler<Handler: OutboundHandler>: OutboundHandler {
    let handler: Handler
    let outcome: HandlerOutcome

    init(_ handler: Handler, outcome: HandlerOutcome) {
        self.handler = handler
        self.outcome = outcome
    }

    func run(_ session: OutboundSession) async throws {
        do {
            try await handler.run(session)
        } catch {
            outcome.record(error)
            throw error
        }
    }

    func handle(_ event: EventSocketEvent, in session: OutboundSession) async throws {
        try await handler.handle(event, in: session)
    }
}
