import CoreMetrics
import EventSocket
import MetricsTestKit
import NIOCore
import Switchboard
import SwitchboardTesting
import Testing

/// An inbound handler that throws on CHANNEL_HANGUP, as a handler with a bug would.
struct ThrowingInboundHandler: InboundHandler, RegisteredHandler {
    static let name = "test-throwing"
    static let summary = "throws on CHANNEL_HANGUP"
    let handled = Collector<String>()

    init() {}

    func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {
        handled.append(event.name)
        if event.name == "CHANNEL_HANGUP" { throw TestTimeout("a handler bug") }
    }
}

/// The values a `TestMetrics` factory holds for one listener.
struct RecordedMetrics {
    let factory: TestMetrics
    let listener: String

    func counter(_ metric: SwitchboardMetric, _ more: [(String, String)] = []) -> Int64 {
        factory.counterTotal(label: metric.name, dimensions: [("listener", listener)] + more)
    }

    func command(_ metric: SwitchboardMetric, _ kind: String) -> Int64 {
        counter(metric, [("command", kind)])
    }

    func gauge(_ metric: SwitchboardMetric) -> Double? {
        (try? factory.expectGauge(metric.name, [("listener", listener)]))?.lastValue
    }

    func meter(_ metric: SwitchboardMetric) -> Double? {
        (try? factory.expectMeter(metric.name, [("listener", listener)]))?.lastValue
    }

    /// Every value the meter took, oldest first.
    func meterHistory(_ metric: SwitchboardMetric) -> [Double] {
        (try? factory.expectMeter(metric.name, [("listener", listener)]))?.values ?? []
    }

    func timings(_ metric: SwitchboardMetric) -> [Int64] {
        (try? factory.expectTimer(metric.name, [("listener", listener)]))?.values ?? []
    }
}

@Suite("Listener metrics over real sockets")
struct MetricsTests {
    @Test("inbound: connected, events received and handled, backlog back to 0, handler and hook errors, reconnects")
    func inbound() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let factory = TestMetrics()
        let metrics = RecordedMetrics(factory: factory, listener: "events")
        let handler = ThrowingInboundHandler()
        var hooks = EventHooks()
        hooks.on("CHANNEL_ANSWER") { _, _ in throw TestTimeout("a hook bug") }
        let listener = InboundListener(
            configuration: InboundConfiguration(
                port: fake.port,
                events: ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP"],
                reconnect: ReconnectPolicy(initialDelay: .milliseconds(10), maxDelay: .milliseconds(50)),
                metrics: MetricsOptions(listener: "events", factory: factory)
            ),
            handler: handler,
            hooks: hooks,
            logger: testLogger
        )
        #expect(metrics.gauge(.listenerConnected) == 0)
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            try await eventually("connected") { metrics.gauge(.listenerConnected) == 1 }
            for name in ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP"] {
                fake.emit(.channel(name, uuid: "call-1"))
            }
            try await handler.handled.wait(for: 3)
            try await eventually("three events handled") { metrics.counter(.eventsHandled) == 3 }
            #expect(metrics.counter(.eventsReceived) == 3)
            #expect(metrics.counter(.eventsDropped) == 0)
            #expect(metrics.meter(.eventBacklog) == 0)
            #expect(metrics.counter(.handlerErrors, [("handler", "test-throwing")]) == 1)
            #expect(metrics.counter(.handlerErrors, [("handler", "hooks")]) == 1)
            // Login and subscription are commands too.
            #expect(metrics.command(.commandsSent, "auth") == 1)
            #expect(metrics.command(.commandsSent, "event") == 1)
            #expect(metrics.counter(.listenerReconnects) == 0)

            fake.dropAllConnections()
            try await eventually("reconnected") { metrics.counter(.listenerReconnects) == 1 }
            #expect(metrics.gauge(.listenerConnected) == 1)
            #expect(metrics.command(.commandsSent, "auth") == 2)
        }
        #expect(metrics.gauge(.listenerConnected) == 0)
        await fake.stop()
    }

    @Test("commands by kind: api sent, timed, failed on -ERR, timed out; bgapi; the connection closing fails them")
    func commands() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "status", with: .output("UP 0 years\n"))
        fake.answer(api: "broken", with: .output("-ERR broken Command not found!\n"))
        fake.answer(api: "slow", with: .delayed("late\n", .seconds(2)))
        fake.answer(api: "vanish", with: .disconnect)
        let factory = TestMetrics()
        let metrics = RecordedMetrics(factory: factory, listener: "control")
        let listener = InboundListener(
            configuration: InboundConfiguration(
                port: fake.port,
                events: ["CHANNEL_ANSWER"],
                reconnect: ReconnectPolicy(initialDelay: .seconds(5), maxDelay: .seconds(5)),
                metrics: MetricsOptions(listener: "control", factory: factory)
            ),
            logger: testLogger
        )
        try await withRunning(listener) {
            try await eventually("logged in") { listener.connection != nil }
            let connection = try #require(listener.connection)
            let start = ContinuousClock.now
            _ = try await connection.api("status")
            _ = try await connection.api("status")
            await #expect(throws: EventSocketError.self) { _ = try await connection.api("broken") }
            await #expect(throws: SwitchboardError.self) {
                _ = try await connection.api("slow", timeout: .milliseconds(100))
            }
            _ = try await connection.backgroundAPI("status")
            let elapsed = ContinuousClock.now - start

            #expect(metrics.command(.commandsSent, "api") == 4)
            #expect(metrics.command(.commandsFailed, "api") == 1)
            #expect(metrics.command(.commandsTimedOut, "api") == 1)
            #expect(metrics.command(.commandsSent, "bgapi") == 1)
            #expect(metrics.command(.commandsFailed, "bgapi") == 0)
            // Round trips are timed, in nanoseconds, for the api commands that got their answer: each one within the
            // time the test took for all of them (a loaded machine can stall any single round trip for seconds).
            let timings = metrics.timings(.apiDuration)
            let limit = TimeAmount(elapsed).nanoseconds
            #expect(timings.count == 3)
            #expect(timings.allSatisfy { $0 >= 1_000 && $0 <= limit }, "\(timings) within \(elapsed)")

            await #expect(throws: SwitchboardError.self) { _ = try await connection.api("vanish") }
            #expect(metrics.command(.commandsSent, "api") == 5)
            #expect(metrics.command(.commandsFailed, "api") == 2)
        }
        await fake.stop()
    }

    @Test("outbound: sessions total and active, duration, applications as execute, refused calls, handler errors")
    func outbound() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let factory = TestMetrics()
        let metrics = RecordedMetrics(factory: factory, listener: "ivr")
        let release = Collector<Int>()
        let handler = ClosureOutboundHandler { session in
            try await session.answer()
            _ = try await release.wait(for: 1, timeout: .seconds(20))
            try await session.hangup()
            throw TestTimeout("the handler failed after hanging up")
        }
        let bound = Collector<Int>()
        let listener = OutboundListener(
            configuration: OutboundConfiguration(
                port: 0,
                maxSessions: 1,
                metrics: MetricsOptions(listener: "ivr", factory: factory)
            ),
            handler: handler,
            logger: testLogger
        ) { address in
            bound.append(address.port ?? 0)
        }
        #expect(metrics.gauge(.listenerConnected) == 0)
        try await withRunning(listener) {
            let port = try await bound.wait(for: 1)[0]
            #expect(metrics.gauge(.listenerConnected) == 1)
            let call = Task { try await fake.placeCall(to: port) }
            try await eventually("one call running") { metrics.meter(.sessionsActive) == 1 }
            #expect(metrics.counter(.sessionsTotal) == 1)
            // maxSessions is 1: a second call is refused.
            let refused = try await fake.placeCall(to: port)
            #expect(refused.commands.isEmpty)
            #expect(metrics.counter(.sessionsRefused) == 1)
            #expect(metrics.counter(.sessionsTotal) == 1)

            release.append(1)
            let record = try await call.value
            #expect(record.applications.map(\.name) == ["answer", "hangup"])
            try await eventually("the call ended") { metrics.meter(.sessionsActive) == 0 }
            let durations = metrics.timings(.sessionDuration)
            #expect(durations.count == 1)
            #expect(durations.allSatisfy { $0 > 0 })
            #expect(metrics.command(.commandsSent, "connect") == 1)
            #expect(metrics.command(.commandsSent, "myevents") == 1)
            #expect(metrics.command(.commandsSent, "linger") == 1)
            #expect(metrics.command(.commandsSent, "execute") == 2)
            #expect(metrics.command(.commandsFailed, "execute") == 0)
            #expect(metrics.counter(.handlerErrors, [("handler", "ClosureOutboundHandler")]) == 1)
            #expect(metrics.counter(.eventsReceived) > 0)
            #expect(metrics.counter(.eventsReceived) == metrics.counter(.eventsHandled))
        }
        #expect(metrics.gauge(.listenerConnected) == 0)
        await fake.stop()
    }

    @Test("a slow consumer: events over the backlog limit are dropped and counted; the backlog gauge follows")
    func droppedEvents() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let factory = TestMetrics()
        let metrics = RecordedMetrics(factory: factory, listener: "slow")
        let handler = StuckInboundHandler()
        let listener = InboundListener(
            configuration: InboundConfiguration(
                port: fake.port,
                events: ["CHANNEL_ANSWER"],
                // No reconnect within the test: the events still being written must not reach a second connection.
                reconnect: ReconnectPolicy(initialDelay: .seconds(60), maxDelay: .seconds(60)),
                // No watchdog either: the fake sends no HEARTBEAT, and a loaded machine may stall the test for longer
                // than any short timeout between the subscription and the events.
                heartbeatTimeout: nil,
                connection: EventSocketConnection.Options(backlogWarningThreshold: 10, backlogLimit: 20),
                metrics: MetricsOptions(listener: "slow", factory: factory)
            ),
            handler: handler,
            logger: testLogger
        )
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            for index in 0..<40 { fake.emit(.channel("CHANNEL_ANSWER", uuid: "call-\(index % 2)")) }
            try await eventually("an event dropped") { metrics.counter(.eventsDropped) >= 1 }
            // The gauge rose with the events waiting, up to the limit. (Its value now may already be lower: the drop
            // closed the connection, and the cancelled handler may have let the lanes drain.)
            let highest = metrics.meterHistory(.eventBacklog).max() ?? 0
            #expect((1...20).contains(highest), "the backlog gauge's highest value was \(highest)")
            handler.gate.append(1)
            try await eventually("the backlog drained") { metrics.meter(.eventBacklog) == 0 }
            let dropped = metrics.counter(.eventsDropped)
            #expect(metrics.counter(.eventsReceived) == metrics.counter(.eventsHandled) + dropped)
        }
        await fake.stop()
    }

    @Test("every metric is described once and named by Prometheus' conventions")
    func catalog() {
        #expect(Set(SwitchboardMetric.all.map(\.name)).count == SwitchboardMetric.all.count)
        for metric in SwitchboardMetric.all {
            #expect(metric.name.hasPrefix("switchboard_"))
            #expect(metric.name.hasSuffix("_total") == (metric.kind == .counter), "\(metric.name)")
            #expect(metric.name.hasSuffix("_seconds") == (metric.kind == .histogram), "\(metric.name)")
            #expect(metric.buckets.isEmpty == (metric.kind != .histogram), "\(metric.name)")
            #expect(metric.buckets == metric.buckets.sorted(), "\(metric.name)")
            #expect(metric.labels.first == "listener")
            #expect(!metric.help.isEmpty)
        }
    }
}
