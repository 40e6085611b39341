import Synchronization

/// Counts events received but not yet handled, so that a slow handler is noticed (and, past the limit, its
/// connection closed) before FreeSWITCH drops the connection itself for the same reason.
final class EventBacklog: Sendable {
    /// The size at which a warning is logged (once per episode).
    let warningThreshold: Int
    /// The size at which the connection is closed with ``SwitchboardError/Code/slowConsumer``.
    let limit: Int
    private let count = Atomic<Int>(0)

    init(warningThreshold: Int, limit: Int) {
        self.warningThreshold = warningThreshold
        self.limit = limit
    }

    /// Adds one event; returns the new size.
    func added() -> Int { count.wrappingAdd(1, ordering: .relaxed).newValue }

    /// Removes one handled event.
    func handled() { count.wrappingSubtract(1, ordering: .relaxed) }

    /// The number of events waiting.
    var current: Int { count.load(ordering: .relaxed) }
}
