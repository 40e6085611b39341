import EventSocket
import NIOCore
import Switchboard
import SwitchboardTesting
import Testing

/// An inbound handler that records what happens to it.
struct RecordingInboundHandler: InboundHandler {
    let connects = Collector<Int>()
    let disconnects = Collector<String>()
    let events = Collector<EventSocketEvent>()

    func connected(to connection: EventSocketConnection) async throws { connects.append(1) }

    func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws { events.append(event) }

    func disconnected(from connection: EventSocketConnection, error: (any Error)?) async {
        disconnects.append(error.map { "\($0)" } ?? "clean")
    }
}

/// An inbound handler that waits on its first event until released, as a handler stuck on a slow database would.
struct StuckInboundHandler: InboundHandler {
    let gate = Collector<Int>()
    let handled = Collector<Int>()
    let disconnects = Collector<String>()

    func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {
        handled.append(1)
        _ = try? await gate.wait(for: 1, timeout: .seconds(20))
    }

    func disconnected(from connection: EventSocketConnection, error: (any Error)?) async {
        disconnects.append(error.map { "\($0)" } ?? "clean")
    }
}

@Suite("Inbound listener against the simulated switch")
struct InboundListenerTests {
    static let fastReconnect = ReconnectPolicy(initialDelay: .milliseconds(10), maxDelay: .milliseconds(50))

    /// Runs `body` while a listener with a recording handler, subscribed to `events`, is connected to `fake`.
    func withConnectedListener(
        on fake: FakeFreeSWITCH,
        events: [String],
        _ body: (RecordingInboundHandler, InboundListener) async throws -> Void
    ) async throws {
        let handler = RecordingInboundHandler()
        let listener = InboundListener(
            configuration: InboundConfiguration(port: fake.port, events: events),
            handler: handler,
            logger: testLogger
        )
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            try await handler.connects.wait(for: 1)
            try await body(handler, listener)
        }
    }

    @Test("logs in, subscribes with BACKGROUND_JOB and HEARTBEAT added, delivers only subscribed events")
    func loginAndSubscribe() async throws {
        let fake = try await FakeFreeSWITCH.start()
        try await withConnectedListener(on: fake, events: ["CHANNEL_ANSWER"]) { handler, listener in
            let lines = fake.commands.map(\.line)
            #expect(lines == ["auth ClueCon", "event plain CHANNEL_ANSWER BACKGROUND_JOB HEARTBEAT"])

            fake.emit(.heartbeat())
            fake.emit(.channel("CHANNEL_CREATE", uuid: "not-subscribed"))
            fake.emit(.channel("CHANNEL_ANSWER", uuid: "call-1", variables: ["note": "a b:c%"]))
            let events = try await handler.events.wait(for: 1)
            try await Task.sleep(for: .milliseconds(100))
            // HEARTBEAT feeds the watchdog but was not asked for; CHANNEL_CREATE was never sent.
            #expect(handler.events.all.count == 1)
            #expect(events[0].name == "CHANNEL_ANSWER")
            #expect(events[0].uniqueID == "call-1")
            #expect(events[0].variable("note") == "a b:c%")
            #expect(listener.connection != nil)
        }
        await fake.stop()
    }

    @Test("a wrong password fails login with authenticationFailed, and the listener keeps retrying")
    func badPassword() async throws {
        let fake = try await FakeFreeSWITCH.start(options: .init(password: "secret"))
        await #expect {
            _ = try await CommandSocket.connect(port: fake.port, authentication: .password("wrong"), logger: testLogger)
        } throws: { error in
            (error as? SwitchboardError)?.code == .authenticationFailed
        }
        let handler = RecordingInboundHandler()
        let listener = InboundListener(
            configuration: InboundConfiguration(port: fake.port, reconnect: Self.fastReconnect),
            handler: handler,
            logger: testLogger
        )
        try await withRunning(listener) {
            try await eventually("three login attempts") { fake.connectionsAccepted >= 4 }
            #expect(handler.connects.all.isEmpty)
        }
        await fake.stop()
    }

    @Test("userauth logs in as a directory user")
    func userAuth() async throws {
        let fake = try await FakeFreeSWITCH.start(options: .init(users: ["esl@example": "pw"]))
        let socket = try await CommandSocket.connect(
            port: fake.port,
            authentication: .user("esl", domain: "example", password: "pw"),
            logger: testLogger
        )
        #expect(try await socket.api("status").contains("is ready"))
        await socket.close()
        // close() sends exit and closes; the switch reads the exit in its own time.
        try await fake.waitForCommand("exit")
        #expect(fake.commands.map(\.line) == ["userauth esl@example:pw", "api status", "exit"])
        await fake.stop()
    }

    @Test("filters are sent after subscribing and only matching events arrive; HEARTBEAT and BACKGROUND_JOB pass")
    func filters() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let handler = RecordingInboundHandler()
        let configuration = InboundConfiguration(
            port: fake.port,
            events: ["ALL"],
            filters: [.init(header: "variable_tenant", value: "acme")]
        )
        let listener = InboundListener(configuration: configuration, handler: handler, logger: testLogger)
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            // Filters go before the subscription, so no unfiltered event can slip through.
            #expect(
                fake.commands.map(\.line) == [
                    "auth ClueCon", "filter variable_tenant acme", "filter Event-Name BACKGROUND_JOB",
                    "filter Event-Name HEARTBEAT", "event plain ALL",
                ]
            )
            fake.emit(.channel("CHANNEL_CREATE", uuid: "other", variables: ["tenant": "globex"]))
            fake.emit(.channel("CHANNEL_CREATE", uuid: "mine", variables: ["tenant": "acme"]))
            fake.emit(.heartbeat())
            let events = try await handler.events.wait(for: 2)
            try await Task.sleep(for: .milliseconds(100))
            #expect(handler.events.all.count == 2)
            #expect(events.map(\.name).sorted() == ["CHANNEL_CREATE", "HEARTBEAT"])
            #expect(events.first { $0.name == "CHANNEL_CREATE" }?.uniqueID == "mine")
        }
        await fake.stop()
    }

    @Test("reconnects after drops in the middle of the handshake, and re-subscribes and re-filters")
    func reconnectAfterDrops() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.dropNextHandshakes(2)
        let handler = RecordingInboundHandler()
        let configuration = InboundConfiguration(
            port: fake.port,
            events: ["CHANNEL_ANSWER"],
            filters: [.init(header: "Caller-Context", value: "peertest")],
            reconnect: Self.fastReconnect
        )
        let listener = InboundListener(configuration: configuration, handler: handler, logger: testLogger)
        try await withRunning(listener) {
            try await handler.connects.wait(for: 1)
            #expect(fake.connectionsAccepted == 3)

            fake.dropAllConnections()
            try await handler.connects.wait(for: 2)
            try await fake.waitForSubscribers()
            try await fake.waitForCommand("event plain", count: 2)
            let lines = fake.commands.map(\.line)
            #expect(lines.filter { $0 == "event plain CHANNEL_ANSWER BACKGROUND_JOB HEARTBEAT" }.count == 2)
            #expect(lines.filter { $0 == "filter Caller-Context peertest" }.count == 2)
            #expect(handler.disconnects.all.count >= 1)

            fake.emit(.channel("CHANNEL_ANSWER", uuid: "after-reconnect"))
            let events = try await handler.events.wait(for: 1)
            #expect(events[0].uniqueID == "after-reconnect")
        }
        await fake.stop()
    }

    @Test("the HEARTBEAT watchdog reconnects a connection that went silent, and leaves a live one alone")
    func heartbeatWatchdog() async throws {
        let silent = try await FakeFreeSWITCH.start()
        let configuration = InboundConfiguration(
            port: silent.port,
            reconnect: Self.fastReconnect,
            heartbeatTimeout: .milliseconds(300)
        )
        let handler = RecordingInboundHandler()
        let listener = InboundListener(configuration: configuration, handler: handler, logger: testLogger)
        try await withRunning(listener) {
            try await handler.connects.wait(for: 2)
            #expect(handler.disconnects.all.contains { $0.contains("heartbeatMissed") })
        }
        await silent.stop()

        let beating = try await FakeFreeSWITCH.start(options: .init(heartbeatInterval: .milliseconds(50)))
        var liveConfiguration = configuration
        liveConfiguration.port = beating.port
        // Generous against a loaded machine (the whole suite under the thread sanitizer stalls a loop for seconds):
        // 100 heartbeats per watchdog interval. The sleep outlasts the interval, so a watchdog that ignored the
        // heartbeats would fire.
        liveConfiguration.heartbeatTimeout = .seconds(5)
        let liveHandler = RecordingInboundHandler()
        let live = InboundListener(configuration: liveConfiguration, handler: liveHandler, logger: testLogger)
        try await withRunning(live) {
            try await liveHandler.connects.wait(for: 1)
            try await Task.sleep(for: .milliseconds(6000))
            #expect(beating.connectionsAccepted == 1)
        }
        await beating.stop()
    }

    @Test("events of one channel reach hooks in order; channels run concurrently; a hook may await commands")
    func perChannelOrdering() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let seen = Collector<(String, Int)>()
        let replies = Collector<String>()
        var hooks = EventHooks()
        hooks.on("CUSTOM") { event, _ in
            // Uneven work per event: ordering must not depend on timing.
            if Int.random(in: 0..<4) == 0 { try await Task.sleep(for: .microseconds(200)) }
            seen.append((event["Unique-ID"] ?? "", Int(event["Seq"] ?? "") ?? -1))
        }
        hooks.on(subclass: "test::ask") { _, connection in
            replies.append(try await connection.api("status"))
        }
        let listener = InboundListener(
            configuration: InboundConfiguration(port: fake.port, events: ["ALL"]),
            hooks: hooks,
            logger: testLogger
        )
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            let channels = ["a", "b", "c", "d"]
            for sequence in 0..<150 {
                for channel in channels {
                    fake.emit(
                        .custom(subclass: "test::seq", headers: [("Unique-ID", channel), ("Seq", "\(sequence)")])
                    )
                }
            }
            fake.emit(.custom(subclass: "test::ask"))
            let all = try await seen.wait(for: 601, timeout: .seconds(20))
            for channel in channels {
                let order = all.filter { $0.0 == channel }.map(\.1)
                #expect(order == Array(0..<150), "channel \(channel) out of order")
            }
            let reply = try await replies.wait(for: 1)
            #expect(reply[0].contains("is ready"))
        }
        await fake.stop()
    }

    @Test(
        "a malformed event is skipped and the connection lives on; events keep their order whether the read task or the event loop parses them",
        arguments: [false, true]
    )
    func malformedEventIsSkipped(jobWaiting: Bool) async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "slow", with: .delayed("done\n", .seconds(1)))
        try await withConnectedListener(on: fake, events: ["CHANNEL_ANSWER"]) { handler, listener in
            let connection = try #require(listener.connection)
            // With a job waiting, the event loop must look into every event (it could be the job's result).
            let job = Task { jobWaiting ? try await connection.backgroundAPI("slow") : "" }
            if jobWaiting { try await fake.waitForCommand("bgapi slow") }
            for sequence in 0..<200 {
                if sequence == 100 {
                    // A header line without a colon: the body cannot be parsed.
                    fake.emit(
                        FakeEvent(headers: [("Event-Name", "CHANNEL_ANSWER"), ("Unique-ID", "c"), ("no colon\nX", "1")])
                    )
                }
                fake.emit(.channel("CHANNEL_ANSWER", uuid: "c", variables: ["seq": "\(sequence)"]))
            }
            let events = try await handler.events.wait(for: 200)
            #expect(events.map { $0.variable("seq") } == (0..<200).map { "\($0)" })
            #expect(try await job.value == (jobWaiting ? "done\n" : ""))
            try await Task.sleep(for: .milliseconds(50))
            #expect(handler.events.all.count == 200)
            #expect(handler.disconnects.all.isEmpty)
            #expect(handler.connects.all.count == 1)
        }
        await fake.stop()
    }

    @Test("a handler that falls behind past the backlog limit gets its connection closed with slowConsumer")
    func slowConsumerLimit() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let stuck = StuckInboundHandler()
        let listener = InboundListener(
            configuration: InboundConfiguration(
                port: fake.port,
                events: ["CHANNEL_ANSWER"],
                // No reconnect within the test: the events still being written must not reach a second connection.
                reconnect: ReconnectPolicy(initialDelay: .seconds(60), maxDelay: .seconds(60)),
                // Long enough that a loaded machine does not close the connection for silence first.
                heartbeatTimeout: .seconds(30),
                connection: .init(backlogWarningThreshold: 100, backlogLimit: 500)
            ),
            handler: stuck,
            logger: testLogger
        )
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            for sequence in 0..<2_000 {
                fake.emit(.channel("CHANNEL_ANSWER", uuid: "c", variables: ["seq": "\(sequence)"]))
            }
            let reasons = try await stuck.disconnects.wait(for: 1)
            #expect(reasons[0].contains("slowConsumer") || reasons[0].contains("events waiting for the handler"))
            stuck.gate.append(1)
            // What was queued before the close still reaches the handler, and nothing past the limit was queued.
            try await eventually("the queued events to drain") { stuck.handled.all.count >= 500 }
            #expect(stuck.handled.all.count <= 501)
        }
        await fake.stop()
    }

    @Test("CUSTOM subclass hooks see only their subclass; CUSTOM goes last in the subscription")
    func customSubclassHooks() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let registrations = Collector<EventSocketEvent>()
        let anything = Collector<String>()
        var hooks = EventHooks()
        hooks.on(subclass: "sofia::register") { event, _ in registrations.append(event) }
        hooks.onAnyEvent { event, _ in anything.append(event.subclass ?? event.name) }
        let configuration = InboundConfiguration(
            port: fake.port,
            events: ["CUSTOM", "CHANNEL_EXECUTE"],
            customSubclasses: ["sofia::register"]
        )
        let listener = InboundListener(configuration: configuration, hooks: hooks, logger: testLogger)
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            #expect(
                fake.commands[1].line == "event plain CHANNEL_EXECUTE BACKGROUND_JOB HEARTBEAT CUSTOM sofia::register"
            )
            fake.emit(.custom(subclass: "sofia::unregister", headers: [("from-user", "bob")]))
            fake.emit(.custom(subclass: "sofia::register", headers: [("from-user", "alice")], body: "contact\nlines"))
            let events = try await registrations.wait(for: 1)
            #expect(events[0]["from-user"] == "alice")
            #expect(events[0].body == "contact\nlines")
            try await Task.sleep(for: .milliseconds(100))
            #expect(anything.all == ["sofia::register"])
        }
        await fake.stop()
    }

    @Test("JSON subscriptions decode the same values")
    func jsonEvents() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let handler = RecordingInboundHandler()
        let listener = InboundListener(
            configuration: InboundConfiguration(port: fake.port, events: ["CHANNEL_ANSWER"], format: .json),
            handler: handler,
            logger: testLogger
        )
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            fake.emit(.channel("CHANNEL_ANSWER", uuid: "json-call", variables: ["note": "x=1&y=2"]))
            let events = try await handler.events.wait(for: 1)
            #expect(events[0].format == .json)
            #expect(events[0].uniqueID == "json-call")
            #expect(events[0].variable("note") == "x=1&y=2")
        }
        await fake.stop()
    }
}
