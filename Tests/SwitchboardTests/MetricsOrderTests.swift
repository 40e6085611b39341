import CoreMetrics
import NIOConcurrencyHelpers
import Testing

@testable import Switchboard

/// Every change to a counter or a meter, in one sequence across all of them: the order a scrape can see them in.
private final class MetricChanges: MetricsFactory, Sendable {
    private final class Handler: CounterHandler, MeterHandler, Sendable {
        let name: String
        let changes: NIOLockedValueBox<[String]>
        init(_ label: String, _ changes: NIOLockedValueBox<[String]>) {
            name = String(label.dropFirst("switchboard_".count))
            self.changes = changes
        }
        private func log(_ change: String) { changes.withLockedValue { $0.append("\(name) \(change)") } }
        func increment(by amount: Int64) { log("+\(amount)") }
        func reset() { log("reset") }
        func set(_ value: Int64) { log("= \(value)") }
        func set(_ value: Double) { log("= \(Int(value))") }
        func increment(by amount: Double) { log("+\(Int(amount))") }
        func decrement(by amount: Double) { log("-\(Int(amount))") }
    }

    let changes = NIOLockedValueBox<[String]>([])

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { Handler(label, changes) }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { Handler(label, changes) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

@Suite("The order in which event metrics change")
struct MetricsOrderTests {
    @Test("the backlog gauge moves first: a scrape never sees an event both waiting and handled or dropped")
    func backlogMovesFirst() {
        let factory = MetricChanges()
        let metrics = ListenerMetrics(listener: "order", factory: factory, role: .standalone)
        metrics.eventsArrived(queued: 3, dropped: 1)
        metrics.eventsHandled(2)
        metrics.eventsUnreadable(1)
        #expect(
            factory.changes.withLockedValue { $0 } == [
                "event_backlog +3", "events_dropped_total +1", "events_received_total +4",
                "event_backlog -2", "events_handled_total +2",
                "event_backlog -1", "events_dropped_total +1",
            ]
        )
    }
}
