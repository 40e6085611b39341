import EventSocket
import NIOConcurrencyHelpers
import NIOCore

/// Delivers events to handlers in order per channel while different channels run concurrently.
///
/// Each channel (`Unique-ID`; events without one share a lane) has a queue. The read task only appends to a queue
/// and, when the lane is idle, starts one worker task for it; it never waits for a handler. A worker drains its
/// queue and ends when the queue is empty, so idle channels cost nothing.
final class EventLanes: Sendable {
    private struct State {
        var lanes: [String: CircularBuffer<EventSocketEvent>] = [:]
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Queues an event; returns `true` when the caller must start a worker for its lane.
    func enqueue(_ event: EventSocketEvent, lane: String) -> Bool {
        state.withLockedValue { state in
            if state.lanes[lane] != nil {
                state.lanes[lane]!.append(event)
                return false
            }
            state.lanes[lane] = CircularBuffer(initialCapacity: 4)
            state.lanes[lane]!.append(event)
            return true
        }
    }

    /// Runs `handle` for each event of a lane, in order, until the lane is empty.
    func drain(lane: String, _ handle: (EventSocketEvent) async -> Void) async {
        while let event = next(in: lane) {
            await handle(event)
        }
    }

    /// Returns once no lane holds an event and no worker runs.
    func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLockedValue { state in
                if state.lanes.isEmpty { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func next(in lane: String) -> EventSocketEvent? {
        let (event, waiters) = state.withLockedValue {
            state -> (EventSocketEvent?, [CheckedContinuation<Void, Never>]) in
            if let event = state.lanes[lane]?.popFirst() { return (event, []) }
            // Empty: retire the lane. The worker is ending, so the next event starts a new one.
            state.lanes[lane] = nil
            guard state.lanes.isEmpty else { return (nil, []) }
            defer { state.idleWaiters = [] }
            return (nil, state.idleWaiters)
        }
        for waiter in waiters { waiter.resume() }
        return event
    }
}
