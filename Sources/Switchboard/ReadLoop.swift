import EventSocket
import NIOCore

extension EventSocketConnection {
    /// The read task of a connection: takes everything the channel handler passed on, in order, parses the event
    /// frames it passed unparsed, and hands events to per-channel lanes (``EventLanes``) without waiting for any
    /// handler. Returns when the connection has closed and
    /// every lane has drained.
    ///
    /// - Parameters:
    ///   - observe: Runs inline for each input before dispatch; must be quick and must not wait (bookkeeping only).
    ///   - handle: Runs for each event in its channel's lane.
    func runReadLoop(
        lanes: EventLanes,
        observe: (ConnectionInput) -> Void,
        handle: @escaping @Sendable (EventSocketEvent) async -> Void
    ) async {
        let backlog = shared.backlog
        await withDiscardingTaskGroup { group in
            var lanesToStart: [String] = []
            for await batch in inputs {
                // Queue the whole batch first, then start the idle lanes: a lane's worker takes all its events of
                // this read at once, rather than one task per event.
                for delivery in batch {
                    let input = delivery.input
                    observe(input)
                    guard case .event(let event) = input else {
                        backlog.handled()
                        continue
                    }
                    let lane = event.uniqueID ?? ""
                    if lanes.enqueue(event, lane: lane) { lanesToStart.append(lane) }
                }
                for lane in lanesToStart {
                    group.addTask {
                        await lanes.drain(lane: lane) { event in
                            await handle(event)
                            backlog.handled()
                        }
                    }
                }
                lanesToStart.removeAll(keepingCapacity: true)
            }
        }
    }
}
