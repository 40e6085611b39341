import EventSocket
import NIOCore

extension EventSocketConnection {
    /// How many events a busy lane worker handles between two updates of the metrics.
    static let handledCountInterval = 256

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
        let metrics = shared.metrics
        await withDiscardingTaskGroup { group in
            var lanesToStart: [String] = []
            for await batch in inputs {
                // Queue the whole batch first, then start the idle lanes: a lane's worker takes all its events of
                // this read at once, rather than one task per event.
                var unreadable = 0
                for delivery in batch {
                    let input = delivery.input
                    observe(input)
                    guard case .event(let event) = input else {
                        // An event frame left for this task to parse that does not parse reaches no handler.
                        if case .eventFrame = delivery { unreadable += 1 }
                        backlog.handled()
                        continue
                    }
                    let lane = event.uniqueID ?? ""
                    if lanes.enqueue(event, lane: lane) { lanesToStart.append(lane) }
                }
                metrics.eventsUnreadable(unreadable)
                for lane in lanesToStart {
                    group.addTask {
                        // Counted when the lane is drained (and every so often while a busy lane runs), not per event.
                        var handled = 0
                        await lanes.drain(lane: lane) { event in
                            await handle(event)
                            backlog.handled()
                            handled += 1
                            if handled == Self.handledCountInterval {
                                metrics.eventsHandled(handled)
                                handled = 0
                            }
                        }
                        metrics.eventsHandled(handled)
                    }
                }
                lanesToStart.removeAll(keepingCapacity: true)
            }
        }
    }
}
