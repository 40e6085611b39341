import Synchronization

/// A result that one task awaits and that is delivered exactly once: by the event loop (a reply or a completion
/// event), by a timeout, by the connection closing, or by the waiting task's cancellation. Whoever comes first wins;
/// later deliveries are ignored and report `false`.
///
/// It stands where an `EventLoopPromise` and a `get()` would: one allocation and one lock per command instead of a
/// future, its callback list and the closure that bridges it to `async`.
final class AwaitedResult<Value: Sendable>: Sendable {
    private enum State {
        /// Nothing delivered, nobody waiting yet.
        case empty
        /// The task waits.
        case waiting(UnsafeContinuation<Value, any Error>)
        /// Delivered before anyone waited.
        case delivered(Result<Value, any Error>)
        /// Delivered to the waiting task.
        case consumed
    }

    private let state = Mutex(State.empty)

    init() {}

    /// Delivers a value; `false` when a result was delivered before.
    @discardableResult
    func succeed(_ value: Value) -> Bool { deliver(.success(value)) }

    /// Delivers an error; `false` when a result was delivered before.
    @discardableResult
    func fail(_ error: any Error) -> Bool { deliver(.failure(error)) }

    private func deliver(_ result: Result<Value, any Error>) -> Bool {
        let (delivered, waiter) = state.withLock { state -> (Bool, UnsafeContinuation<Value, any Error>?) in
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

    /// Waits for the result. Cancelling the waiting task delivers `CancellationError`. Only one task may wait.
    func value() async throws -> Value {
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                let ready = state.withLock { state -> Result<Value, any Error>? in
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
