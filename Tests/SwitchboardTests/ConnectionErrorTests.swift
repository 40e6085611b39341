import EventSocket
import InMemoryLogging
import Logging
import NIOCore
import NIOPosix
import Switchboard
import SwitchboardTesting
import Testing

/// The exact words an operator reads when a connection or a listener fails, over real sockets.
@Suite("Errors that name what failed")
struct ConnectionErrorTests {
    /// A fixed delay (no jitter) so that log lines can be compared exactly.
    static let steady = ReconnectPolicy(
        initialDelay: .milliseconds(100),
        maxDelay: .seconds(2),
        multiplier: 1,
        jitter: 0
    )

    /// Runs a listener named `events` against `port` until `body` returns.
    func withListener(
        port: Int,
        password: String = "ClueCon",
        reconnect: ReconnectPolicy = steady,
        connectTimeout: Duration = .seconds(10),
        handler: any InboundHandler = HooksOnly(),
        capture: LogCapture,
        statuses: Collector<InboundListener.Status> = Collector(),
        _ body: () async throws -> Void
    ) async throws {
        let listener = InboundListener(
            configuration: InboundConfiguration(
                name: "events",
                port: port,
                authentication: .password(password),
                events: ["CHANNEL_ANSWER"],
                reconnect: reconnect,
                connectTimeout: connectTimeout
            ),
            handler: handler,
            logger: capture.logger,
            onStatusChange: { statuses.append($0) }
        )
        try await withRunning(listener, body)
    }

    @Test("nothing listening: one warning naming the address and the next attempt, the retries at debug only")
    func refusedWhileRetrying() async throws {
        let down = try RefusingPort()
        let port = down.port
        let capture = LogCapture()
        // A long connect timeout: on a starved machine the timeout must not win the race against the refusal.
        try await withListener(port: port, connectTimeout: .seconds(120), capture: capture) {
            try await eventually(timeout: .seconds(180), "three attempts") { capture.handler.entries.count >= 3 }
        }
        let line = "listener 'events': FreeSWITCH at 127.0.0.1:\(port) refused the connection; next attempt in 100 ms"
        #expect(capture.lines(atLeast: .info) == ["warning \(line)"])
        #expect(capture.lines(atLeast: .debug).dropFirst().allSatisfy { $0 == "debug \(line)" })
        #expect(capture.handler.entries.first?.metadata["esl.peer"] == "127.0.0.1:\(port)")
    }

    @Test("a switch that never answers the connect: the timeout, in words")
    func connectTimeout() async throws {
        let silent = try UnansweredPort()
        let capture = LogCapture()
        try await withListener(port: silent.port, connectTimeout: .milliseconds(300), capture: capture) {
            try await capture.wait(for: "the timeout", atLeast: .warning) { _ in true }
        }
        #expect(
            capture.lines(atLeast: .warning).first
                == "warning listener 'events': FreeSWITCH at 127.0.0.1:\(silent.port) did not answer within 300 ms; "
                + "next attempt in 100 ms"
        )
    }

    @Test("a peer that resets the connection before its greeting")
    func reset() async throws {
        let peer = try await ScriptedPeer.start(greeting: "", reset: true)
        let capture = LogCapture()
        try await withListener(port: peer.port, capture: capture) {
            try await capture.wait(for: "the reset", atLeast: .warning) { _ in true }
        }
        await peer.stop()
        let first = capture.lines(atLeast: .warning).first ?? ""
        // Linux reports the RST on the read (reset) or, when the RST wins the race, as a plain close.
        #expect(
            [
                "warning listener 'events': FreeSWITCH at 127.0.0.1:\(peer.port) reset the connection; next attempt in 100 ms",
                "warning listener 'events': FreeSWITCH at 127.0.0.1:\(peer.port) closed the connection before its "
                    + "auth/request greeting; next attempt in 100 ms",
            ].contains(first),
            "\(first)"
        )
    }

    @Test("a refused password is an error naming the switch and FreeSWITCH's reply, retried at the longest delay")
    func refusedPassword() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let capture = LogCapture()
        let statuses = Collector<InboundListener.Status>()
        try await withListener(port: fake.port, password: "wrong", capture: capture, statuses: statuses) {
            try await capture.wait(for: "the refused login", atLeast: .error) { _ in true }
            try await eventually(timeout: .seconds(180), "the wait before the next attempt") {
                statuses.all.contains(.waitingToReconnect(after: .seconds(2)))
            }
        }
        #expect(
            capture.lines(atLeast: .info)
                == [
                    "error listener 'events': FreeSWITCH at 127.0.0.1:\(fake.port) refused the password: -ERR invalid; "
                        + "next attempt in 2 s"
                ]
        )
        // The slow end of the backoff, never the 100 ms of the other failures.
        #expect(!statuses.all.contains(.waitingToReconnect(after: .milliseconds(100))))
        await fake.stop()
    }

    @Test("failures before the first login, then: connected after the outage, with the attempts it took")
    func connectedAfterFailures() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.dropNextHandshakes(2)
        let capture = LogCapture()
        try await withListener(port: fake.port, capture: capture) {
            try await fake.waitForSubscribers(timeout: .seconds(180))
            try await capture.wait(for: "the connect line", atLeast: .notice) { $0.contains("connected") }
        }
        let lines = capture.lines(atLeast: .info)
        #expect(
            lines.first
                == "warning listener 'events': FreeSWITCH at 127.0.0.1:\(fake.port) closed the connection during the "
                + "login; next attempt in 100 ms"
        )
        let connected = try #require(lines.last)
        #expect(
            connected.wholeMatch(
                of: try Regex(
                    #"notice listener 'events': connected to FreeSWITCH at 127\.0\.0\.1:\#(fake.port) after [0-9.]+ m?s, 3 attempts"#
                )
            ) != nil,
            "\(connected)"
        )
        await fake.stop()
    }

    @Test("a lost connection: the loss, then reconnected after the outage")
    func reconnected() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let capture = LogCapture()
        try await withListener(port: fake.port, capture: capture) {
            try await fake.waitForSubscribers(timeout: .seconds(180))
            fake.dropAllConnections()
            try await capture.wait(for: "the reconnect line", atLeast: .notice) { $0.contains("reconnected") }
        }
        let lines = capture.lines(atLeast: .info)
        let port = fake.port
        #expect(lines.first == "info listener 'events': connected to FreeSWITCH at 127.0.0.1:\(port)")
        #expect(
            lines.dropFirst().first
                == "warning listener 'events': FreeSWITCH at 127.0.0.1:\(port) closed the connection; next attempt in 100 ms"
        )
        let last = try #require(lines.last)
        #expect(
            last.wholeMatch(
                of: try Regex(
                    #"notice listener 'events': reconnected to FreeSWITCH at 127\.0\.0\.1:\#(port) after [0-9.]+ m?s, 1 attempt"#
                )
            ) != nil,
            "\(last)"
        )
        await fake.stop()
    }

    @Test("a disconnect notice's text reaches the log escaped: one entry stays one line")
    func disconnectNoticeEscaped() async throws {
        let notice = "The system is being shut down.\n2026-11-28T00:00:00.000Z error forged\n"
        let peer = try await ScriptedPeer.start(
            greeting: "Content-Type: auth/request\n\n",
            answers: [
                "Content-Type: command/reply\nReply-Text: +OK accepted\n\n",
                "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n",
            ],
            farewell: "Content-Type: text/disconnect-notice\nContent-Length: \(notice.utf8.count)\n\n\(notice)"
        )
        let capture = LogCapture()
        try await withListener(
            port: peer.port,
            reconnect: .init(initialDelay: .seconds(5), jitter: 0),
            capture: capture
        ) {
            try await capture.wait(for: "the notice", atLeast: .info) { $0.contains("disconnect notice") }
        }
        await peer.stop()
        #expect(
            capture.lines(atLeast: .info).contains(
                "info listener 'events': FreeSWITCH at 127.0.0.1:\(peer.port) sent a disconnect notice: "
                    + "The system is being shut down.\\n2026-11-28T00:00:00.000Z error forged"
            )
        )
        #expect(capture.handler.entries.allSatisfy { !"\($0.message)".contains("\n") })
    }

    @Test("a handler that throws on an event: which handler, which event, which call, the error")
    func inboundHandlerThrows() async throws {
        struct Failing: InboundHandler {
            func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {
                throw ReportedFailure("the CDR database refused the row\nsecond line")
            }
        }
        let fake = try await FakeFreeSWITCH.start()
        let capture = LogCapture()
        try await withListener(port: fake.port, handler: Failing(), capture: capture) {
            try await fake.waitForSubscribers(timeout: .seconds(180))
            fake.emit(.channel("CHANNEL_ANSWER", uuid: "call-1"))
            try await capture.wait(for: "the handler's failure", atLeast: .error) { _ in true }
        }
        let entry = try #require(capture.handler.entries.first { $0.level == .error })
        #expect(
            "\(entry.message)"
                == "handler Failing failed on CHANNEL_ANSWER: the CDR database refused the row\\nsecond line"
        )
        #expect(entry.metadata["call.uuid"] == "call-1")
        await fake.stop()
    }

    @Test("an outbound handler that throws: the listener, the handler, the call and the error")
    func outboundHandlerThrows() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let capture = LogCapture()
        let listener = OutboundListener(
            configuration: OutboundConfiguration(name: "ivr", port: 0),
            handler: ClosureOutboundHandler { _ in throw ReportedFailure("database down") },
            logger: capture.logger
        )
        try await withRunning(listener) {
            try await eventually(timeout: .seconds(180), "the listener to bind") { listener.localAddress != nil }
            let port = try #require(listener.localAddress?.port)
            let call = try await fake.placeCall(to: port)
            try await capture.wait(for: "the handler's failure", atLeast: .error) { _ in true }
            #expect(
                capture.lines(atLeast: .error)
                    == [
                        "error listener 'ivr': handler ClosureOutboundHandler failed on call \(call.uuid): database down"
                    ]
            )
            #expect(capture.lines(atLeast: .info).first == "info listener 'ivr': accepting calls on 127.0.0.1:\(port)")
        }
        await fake.stop()
    }

    @Test("a busy port: the listener, the address and the reason, nothing of NIO's text")
    func busyPort() async throws {
        let taken = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(taken.localAddress?.port)
        let listener = OutboundListener(
            configuration: OutboundConfiguration(name: "ivr", port: port),
            handler: ClosureOutboundHandler { _ in },
            logger: testLogger
        )
        let error = await #expect(throws: SwitchboardError.self) { try await listener.run() }
        #expect(error?.code == .listenFailed)
        #expect(error?.message == "listener 'ivr' cannot listen on 127.0.0.1:\(port): the address is already in use")
        try await taken.close()
    }

    @Test("an address no interface has: the address and what to check")
    func addressNotAvailable() async throws {
        // TEST-NET-2 (RFC 5737): never assigned to a real interface.
        let listener = OutboundListener(
            configuration: OutboundConfiguration(name: "ivr", host: "198.51.100.7", port: 8084),
            handler: ClosureOutboundHandler { _ in },
            logger: testLogger
        )
        let error = await #expect(throws: SwitchboardError.self) { try await listener.run() }
        #expect(
            error?.message
                == "listener 'ivr' cannot listen on 198.51.100.7:8084: the address is not available "
                + "(no network interface of this host has that address)"
        )
    }
}

/// An error with a fixed description, as a handler's own error type would have.
struct ReportedFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
