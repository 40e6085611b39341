import EventSocket
import NIOConcurrencyHelpers

/// A result that one task awaits and that is delivered exactly once: by the event loop (a reply or a completion
/// event), by a timeout, by the connection closing, or by the waiting task's cancellation. Whoever comes first wins;
/// later deliveries are ignored and report `false`.
///
/// It stands where an `EventLoopPromise` and a `get()` would: one allocation and one lock per command instead of a
/// future, its callback list and the closure that bridges it to `async`.
///
/// The state lives in the non-generic ``AwaitedCell``, this subclass only converts values: a generic class's
/// `deinit` runs unspecialized and looked up the type metadata of its state each time, which cost more than the
/// lock and the hand-over together (several commands per call).
final class AwaitedResult<Value: AwaitedValue>: AwaitedCell, @unchecked Sendable {
    override init() {}

    /// Delivers a value; `false` when a result was delivered before.
    @discardableResult
    func succeed(_ value: Value) -> Bool { deliver(.success(value.awaitedPayload)) }

    /// Waits for the result. Cancelling the waiting task delivers `CancellationError`. Only one task may wait.
    func value() async throws -> Value { Value(awaitedPayload: try await payload()) }
}

/// What an ``AwaitedResult`` delivers: a reply, a completion event, or the news that the socket closed.
protocol AwaitedValue: Sendable {
    var awaitedPayload: AwaitedPayload { get }
    init(awaitedPayload: AwaitedPayload)
}

/// The values of every ``AwaitedResult``, in one non-generic type.
enum AwaitedPayload: Sendable {
    case reply(CommandReply)
    case event(EventSocketEvent)
    case closed
}

extension CommandReply: AwaitedValue {
    var awaitedPayload: AwaitedPayload { .reply(self) }
    init(awaitedPayload: AwaitedPayload) {
        guard case .reply(let reply) = awaitedPayload else { preconditionFailure("not a reply: \(awaitedPayload)") }
        self = reply
    }
}

extension EventSocketEvent: AwaitedValue {
    var awaitedPayload: AwaitedPayload { .event(self) }
    init(awaitedPayload: AwaitedPayload) {
        guard case .event(let event) = awaitedPayload else { preconditionFailure("not an event: \(awaitedPayload)") }
        self = event
    }
}

/// The socket closed (``EventSocketConnection/close()`` waits for it).
struct SocketClosed: AwaitedValue {
    var awaitedPayload: AwaitedPayload { .closed }
    init() {}
    init(awaitedPayload: AwaitedPayload) {}
}

/// The state of an ``AwaitedResult``.
class AwaitedCell: @unchecked Sendable {  // Sendable: its one stored property is a lock-protected box.
    private enum State {
        /// Nothing delivered, nobody waiting yet.
        case empty
        /// The task waits.
        case waiting(UnsafeContinuation<AwaitedPayload, any Error>)
        /// Delivered before anyone waited.
        case delivered(Result<AwaitedPayload, any Error>)
        /// Delivered to the waiting task.
        case consumed
    }

    private let state = NIOLockedValueBox(State.empty)

    init() {}

    /// Delivers an error; `false` when a result was delivered before.
    @discardableResult
    final func fail(_ error: any Error) -> Bool { deliver(.failure(error)) }

    final func deliver(_ result: Result<AwaitedPayload, any Error>) -> Bool {
        let (delivered, waiter) = state.withLockedValue {
            state -> (Bool, UnsafeContinuation<AwaitedPayload, any Error>?) in
            switch state {
            case .empty:
                state = .delivered(result)
                return (true, nil)
            case .waiting(let continuation):
                state = .consumed
                return (true, continuation)
            case .delivered, .consumed:
                return (false, nil)
            }
        }
        waiter?.resume(with: result)
        return delivered
    }

    final func payload() async throws -> AwaitedPayload {
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                let ready = state.withLockedValue { state -> Result<AwaitedPayload, any Error>? in
                    switch state {
                    case .empty:
                        state = .waiting(continuation)
                        return nil
                    case .delivered(let result):
                        state = .consumed
                        return result
                    case .waiting, .consumed:
                        preconditionFailure("AwaitedResult awaited twice")
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            fail(CancellationError())
        }
    }
}
