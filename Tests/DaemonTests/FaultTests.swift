import EventSocket
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import Switchboard
import SwitchboardTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults a production switch goes through, provoked on a private FreeSWITCH (``PrivateFreeSWITCH``: its own port and
/// directory, started for each test and stopped at its end), so that the shared test FreeSWITCH is never disturbed.
///
/// The tests run one at a time: each restarts, freezes or floods its switch, and timing-sensitive checks (heartbeat
/// watchdog, backoff) should not compete with each other for the machine's two cores.
@Suite(
    "Faults survived against a private FreeSWITCH",
    .serialized,
    .enabled(if: PrivateFreeSWITCH.isInstalled, "no FreeSWITCH binary at \(PrivateFreeSWITCH.installedBinary)"),
    .timeLimit(.minutes(3))
)
struct FaultTests {
    // MARK: - FreeSWITCH restarts under the running daemon

    @Test(
        "FreeSWITCH restarts under the daemon: STATUS shows the listener down, it reconnects within its backoff, re-filters; outbound calls end, sessions return to 0",
        .enabled(if: DaemonBinary.exists, "the switchboard binary is not built (run swift build first)")
    )
    func freeswitchRestartsUnderTheDaemon() async throws {
        let freeswitch = try await PrivateFreeSWITCH.start()
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(in: directory)
        let log = directory.file("switchboard.log")
        let outboundPort = try freePort()
        var caller = try await LoopbackCaller.connect(to: freeswitch)
        let tag = caller.tag
        let config = """
            {
              "log": { "file": "\(log)", "level": "info" },
              "listeners": [
                { "name": "events", "kind": "inbound", "handler": "event-logger",
                  "host": "127.0.0.1", "port": \(freeswitch.port), "password": "\(freeswitch.password)",
                  "events": ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"],
                  "filters": { "variable_\(LoopbackCaller.tagVariable)": ["\(tag)"] },
                  "reconnect": { "initialDelaySeconds": 0.2, "maxDelaySeconds": 1 } },
                { "name": "ivr", "kind": "outbound", "handler": "demo-ivr",
                  "bind": "127.0.0.1", "port": \(outboundPort), "drainSeconds": 5 }
              ]
            }
            """
        try config.write(toFile: directory.file("switchboard.json"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["run", "--config", directory.file("switchboard.json")],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        let statuses = StatusRecorder(notify)
        defer { statuses.stop() }
        let logText: @Sendable () -> String = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        let connectedLines: @Sendable () -> Int = {
            // "connected to FreeSWITCH at …" at first, "reconnected to FreeSWITCH at … after …" later.
            logText().components(separatedBy: "connected to FreeSWITCH at").count - 1
        }
        try await eventually("the daemon's first connection") { connectedLines() == 1 }
        try await eventually("STATUS with the inbound listener up") {
            statuses.lines.contains { $0.contains("1/1 inbound connected") }
        }

        // Two calls wait in demo-ivr's play_and_get_digits (no DTMF comes) when FreeSWITCH goes down.
        let waiting = [caller.call(to: outboundPort), caller.call(to: outboundPort)]
        for legA in waiting { try await caller.waitForApplication("play_and_get_digits", legA: legA) }
        try await eventually("STATUS with 2 outbound sessions") {
            statuses.lines.contains { $0.contains("2 outbound sessions") }
        }
        await caller.close()

        let restartBegan = ContinuousClock.now
        try await freeswitch.restart()
        let ready = ContinuousClock.now
        try await eventually("the daemon's reconnection", timeout: .seconds(15)) { connectedLines() == 2 }
        let reconnected = ContinuousClock.now
        // The backoff's longest wait is 1 s; the rest is the login and, on a loaded machine, scheduling.
        #expect(reconnected - ready < .seconds(5), "reconnected \(reconnected - ready) after FreeSWITCH was ready")
        try await eventually("STATUS with the listener up again and no outbound session") {
            statuses.lines(after: restartBegan).contains { $0.contains("1/1 inbound connected, 0 outbound sessions") }
        }
        #expect(
            statuses.lines(after: restartBegan).contains { $0.contains("0/1 inbound connected") },
            "no STATUS showed the listener down: \(statuses.lines)"
        )

        // After the restart: a call the filter stops (another tag), then one it lets through.
        caller = try await LoopbackCaller.connect(to: freeswitch, tag: tag)
        let filteredOut = caller.call(to: outboundPort, variables: [LoopbackCaller.tagVariable: "someone-else"])
        try await Task.sleep(for: .seconds(1))
        await caller.hangUp(legA: filteredOut)
        let legA = caller.call(to: outboundPort)
        let legB = try await caller.waitForApplication("play_and_get_digits", legA: legA)
        try await caller.sendDTMF("42#", legA: legA)
        let hangup = try await caller.waitForSocketLegHangup(legA: legA)
        #expect(hangup.variable("switchboard_result") == "42")
        try await eventually("the daemon logging the new call's hangup") {
            logText().contains("event CHANNEL_HANGUP_COMPLETE \(legB)")
                && logText().contains("event CHANNEL_HANGUP_COMPLETE \(legA)")
        }
        try await caller.waitForNoSessions()
        await caller.close()

        daemon.signal(SIGTERM)
        let (status, standardError) = await daemon.wait()
        #expect(status == 0, "exit status \(status): \(standardError)")
        await freeswitch.stop()

        let lines = logText().split(separator: "\n")
        // Every event logged after the reconnection belongs to the tagged call: the filter was set again.
        let afterRestart = lines.drop { !$0.contains("reconnected to FreeSWITCH at") }
        let eventLines = afterRestart.filter { $0.contains(" event CHANNEL_") }
        #expect(eventLines.count == 4, "events logged after the restart: \(eventLines)")
        #expect(eventLines.allSatisfy { $0.hasSuffix(legA) || $0.hasSuffix(legB) }, "\(eventLines)")
        #expect(logText().contains("event CHANNEL_ANSWER \(legB)"))
        // The calls that were in demo-ivr when FreeSWITCH went down ended as hangups, not as handler failures.
        let handlerFailures = lines.filter { $0.contains("handler") && $0.contains("failed") }
        #expect(handlerFailures.isEmpty, "\(handlerFailures)")
        #expect(!lines.contains { $0.contains(" critical ") })
    }

    // MARK: - FreeSWITCH freezes

    @Test("FreeSWITCH freezes longer than the heartbeat timeout: the watchdog notices, reconnects after SIGCONT")
    func freeswitchFreezes() async throws {
        let freeswitch = try await PrivateFreeSWITCH.start(options: .init(heartbeatInterval: 1))
        defer { freeswitch.thaw() }
        let statuses = Timeline<InboundListener.Status>()
        let handler = ConnectionRecorder()
        let listener = InboundListener(
            configuration: InboundConfiguration(
                port: freeswitch.port,
                authentication: .password(freeswitch.password),
                events: ["CHANNEL_ANSWER"],
                reconnect: ReconnectPolicy(initialDelay: .milliseconds(200), maxDelay: .seconds(1)),
                heartbeatTimeout: .seconds(3),
                connectTimeout: .seconds(2)
            ),
            handler: handler,
            logger: faultLogger
        ) { statuses.record($0) }
        let running = Task { try await listener.run() }
        defer { running.cancel() }
        try await eventually("the first connection") { listener.connection != nil }
        let connection = try #require(listener.connection)

        let frozen = ContinuousClock.now
        freeswitch.freeze()
        // A command sent to the frozen switch fails within its own timeout.
        let commandStart = ContinuousClock.now
        let timedOut = await #expect(throws: SwitchboardError.self) {
            _ = try await connection.api("status", timeout: .seconds(2))
        }
        #expect(timedOut?.code == .commandTimedOut, "\(String(describing: timedOut))")
        #expect(ContinuousClock.now - commandStart < .seconds(4))
        // The watchdog: 3 s of silence, checked every 0.75 s.
        try await eventually("the watchdog to close the silent connection", timeout: .seconds(10)) {
            handler.disconnections.contains(.heartbeatMissed)
        }
        let noticed = ContinuousClock.now - frozen
        #expect(noticed < .seconds(6), "the watchdog needed \(noticed)")
        // While frozen, attempts go on (the kernel accepts, no greeting comes) and give up in the connect timeout.
        try await Task.sleep(for: .seconds(4))
        let attemptsWhileFrozen = statuses.values.filter {
            if case .connecting = $0 { return true } else { return false }
        }.count
        #expect(attemptsWhileFrozen >= 2, "statuses: \(statuses.values)")
        #expect(listener.connection == nil)

        let thawed = ContinuousClock.now
        freeswitch.thaw()
        try await eventually("a connection after SIGCONT", timeout: .seconds(15)) {
            statuses.first(after: thawed) { $0 == .connected } != nil
        }
        let again = try #require(listener.connection)
        #expect(try await again.api("status").contains("is ready"))
        running.cancel()
        _ = await running.result
        await freeswitch.stop()
    }

    // MARK: - The network path drops mid-command

    @Test("the path drops mid-command: the command fails with a timeout within its limit; later commands work")
    func pathDropsMidCommand() async throws {
        let freeswitch = try await PrivateFreeSWITCH.start(options: .init(heartbeatInterval: 1))
        let proxy = try await TCPProxy.start(upstreamPort: freeswitch.port)
        let statuses = Timeline<InboundListener.Status>()
        let listener = proxiedListener(proxy: proxy, freeswitch: freeswitch, statuses: statuses, heartbeatTimeout: 5)
        let running = Task { try await listener.run() }
        try await eventually("the first connection") { listener.connection != nil }
        let connection = try #require(listener.connection)

        // `msleep 5000` keeps FreeSWITCH from answering for 5 s; the path drops 300 ms into it. The command's own
        // timeout (2 s) ends the wait before the watchdog (5 s of silence) ends the connection.
        let started = ContinuousClock.now
        let pending = Task { try await connection.api("msleep", "5000", timeout: .seconds(2)) }
        try await Task.sleep(for: .milliseconds(300))
        proxy.cut()
        let result = await pending.result
        let failedAfter = ContinuousClock.now - started
        guard case .failure(let error) = result, let failure = error as? SwitchboardError else {
            Issue.record("the command did not fail with a SwitchboardError: \(result)")
            return
        }
        #expect(failure.code == .commandTimedOut)
        #expect(failure.message.contains("msleep"), "\(failure)")
        #expect(failedAfter >= .seconds(2) && failedAfter < .seconds(3.5), "failed after \(failedAfter)")

        // The watchdog drops the dead connection; attempts through the dead path get no greeting.
        try await eventually("the listener to give up the dead connection", timeout: .seconds(12)) {
            listener.connection == nil
        }
        try await Task.sleep(for: .seconds(2))
        #expect(listener.connection == nil)
        let restored = ContinuousClock.now
        proxy.restore()
        try await eventually("a connection once the path is back", timeout: .seconds(10)) {
            statuses.first(after: restored) { $0 == .connected } != nil
        }
        let again = try #require(listener.connection)
        #expect(try await again.api("status").contains("is ready"))
        #expect(try await again.api("msleep", "100") == "+OK")
        running.cancel()
        _ = await running.result
        await proxy.stop()
        await freeswitch.stop()
    }

    @Test("the path is reset mid-command: the command fails at once as disconnected; the listener reconnects")
    func pathResetMidCommand() async throws {
        let freeswitch = try await PrivateFreeSWITCH.start(options: .init(heartbeatInterval: 1))
        let proxy = try await TCPProxy.start(upstreamPort: freeswitch.port)
        let statuses = Timeline<InboundListener.Status>()
        let listener = proxiedListener(proxy: proxy, freeswitch: freeswitch, statuses: statuses)
        let running = Task { try await listener.run() }
        try await eventually("the first connection") { listener.connection != nil }
        let connection = try #require(listener.connection)

        let pending = Task { try await connection.api("msleep", "5000", timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(300))
        let reset = ContinuousClock.now
        proxy.reset()
        let result = await pending.result
        let failedAfter = ContinuousClock.now - reset
        guard case .failure(let error) = result, let failure = error as? SwitchboardError else {
            Issue.record("the command did not fail with a SwitchboardError: \(result)")
            return
        }
        #expect(failure.code == .disconnected, "\(failure)")
        #expect(failedAfter < .seconds(1), "failed \(failedAfter) after the reset")
        try await eventually("a new connection", timeout: .seconds(10)) {
            statuses.first(after: reset) { $0 == .connected } != nil
        }
        let again = try #require(listener.connection)
        #expect(try await again.api("status").contains("is ready"))
        running.cancel()
        _ = await running.result
        await proxy.stop()
        await freeswitch.stop()
    }

    private func proxiedListener(
        proxy: TCPProxy,
        freeswitch: PrivateFreeSWITCH,
        statuses: Timeline<InboundListener.Status>,
        heartbeatTimeout: Int = 3
    ) -> InboundListener {
        InboundListener(
            configuration: InboundConfiguration(
                port: proxy.port,
                authentication: .password(freeswitch.password),
                events: ["CHANNEL_ANSWER"],
                reconnect: ReconnectPolicy(initialDelay: .milliseconds(200), maxDelay: .seconds(1)),
                heartbeatTimeout: .seconds(heartbeatTimeout),
                connectTimeout: .seconds(2)
            ),
            logger: faultLogger
        ) { statuses.record($0) }
    }

    // MARK: - Handlers that throw or never return

    @Test("a handler that throws: the call ends, the listener lives on, the next call works")
    func handlerThatThrows() async throws {
        let freeswitch = try await PrivateFreeSWITCH.start()
        let handler = FaultyHandler()
        try await withOutboundListener(handler: handler) { listener, port in
            let caller = try await LoopbackCaller.connect(to: freeswitch)
            let failing = caller.call(to: port, variables: [FaultyHandler.behaviourVariable: "throw"])
            try await caller.waitForSocketLegHangup(legA: failing)
            try await caller.waitForNoSessions()
            try await eventually("the session to end") { listener.activeSessions == 0 }
            #expect(handler.outcomes.values.contains("threw"))

            let working = caller.call(to: port)
            let hangup = try await caller.waitForSocketLegHangup(legA: working)
            #expect(hangup.variable("sbtest_result") == "done")
            try await caller.waitForNoSessions()
            try await eventually("the session to end") { listener.activeSessions == 0 }
            await caller.close()
        }
        await freeswitch.stop()
    }

    @Test("a handler that never returns: the caller's hangup ends the call within the linger timeout; next call works")
    func handlerThatNeverReturns() async throws {
        let freeswitch = try await PrivateFreeSWITCH.start()
        let handler = FaultyHandler()
        var configuration = OutboundConfiguration(port: 0)
        configuration.lingerTimeout = .seconds(2)
        try await withOutboundListener(configuration, handler: handler) { listener, port in
            let caller = try await LoopbackCaller.connect(to: freeswitch)
            let stuck = caller.call(to: port, variables: [FaultyHandler.behaviourVariable: "hang"])
            try await eventually("the handler to start waiting") { handler.outcomes.values.contains("hanging") }
            let hungUp = ContinuousClock.now
            await caller.hangUp(legA: stuck)
            // FreeSWITCH ends the call at once; the socket it lingers on closes 2 s later and releases the channel.
            try await caller.waitForNoSessions(timeout: .seconds(10))
            try await eventually("the session to end", timeout: .seconds(10)) { listener.activeSessions == 0 }
            #expect(ContinuousClock.now - hungUp < .seconds(8))
            #expect(handler.outcomes.values.contains("cancelled"), "\(handler.outcomes.values)")

            let working = caller.call(to: port)
            let hangup = try await caller.waitForSocketLegHangup(legA: working)
            #expect(hangup.variable("sbtest_result") == "done")
            try await caller.waitForNoSessions()
            await caller.close()
        }
        await freeswitch.stop()
    }

    @Test("graceful shutdown with a handler that never returns: the drain timeout bounds the wait")
    func drainBoundsAHandlerThatNeverReturns() async throws {
        let freeswitch = try await PrivateFreeSWITCH.start()
        let handler = FaultyHandler()
        var configuration = OutboundConfiguration(port: 0)
        configuration.drainTimeout = .seconds(2)
        let caller = try await LoopbackCaller.connect(to: freeswitch)
        var shutdownBegan = ContinuousClock.now
        try await withOutboundListener(configuration, handler: handler) { listener, port in
            caller.call(to: port, variables: [FaultyHandler.behaviourVariable: "hang"])
            try await eventually("the handler to start waiting") { handler.outcomes.values.contains("hanging") }
            shutdownBegan = ContinuousClock.now
        }
        let stopped = ContinuousClock.now - shutdownBegan
        #expect(stopped < .seconds(6), "the listener needed \(stopped) to stop")
        #expect(handler.outcomes.values.contains("cancelled"), "\(handler.outcomes.values)")
        try await caller.waitForNoSessions()
        await caller.close()
        await freeswitch.stop()
    }

    // MARK: - An inbound hook that blocks

    @Test(
        "an inbound hook that blocks holds up only its channel; past the backlog limit the connection is renewed"
    )
    func blockingHook() async throws {
        let freeswitch = try await PrivateFreeSWITCH.start()
        let delivered = Timeline<String>()
        let handler = ConnectionRecorder()
        var hooks = EventHooks()
        hooks.onAnyEvent { event, _ in
            // Leg B of a call marked `sbtest_block` stops its channel's lane: the hook waits and waits.
            if event.name == "CHANNEL_ANSWER", event.variable("sbtest_block") == "yes",
                event.variable("loopback_leg") == "B"
            {
                delivered.record("blocked \(event.uniqueID ?? "")")
                try await Task.sleep(for: .seconds(86_400))
            }
            delivered.record("\(event.name) \(event.uniqueID ?? "")")
        }
        let listener = InboundListener(
            configuration: InboundConfiguration(
                port: freeswitch.port,
                authentication: .password(freeswitch.password),
                events: ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"],
                customSubclasses: ["sbtest::flood"],
                reconnect: ReconnectPolicy(initialDelay: .milliseconds(200), maxDelay: .seconds(1)),
                connection: EventSocketConnection.Options(backlogWarningThreshold: 20, backlogLimit: 40)
            ),
            handler: handler,
            hooks: hooks,
            logger: faultLogger
        )
        let running = Task { try await listener.run() }
        defer { running.cancel() }
        try await eventually("the first connection") { listener.connection != nil }
        let caller = try await LoopbackCaller.connect(to: freeswitch)

        let blocked = caller.call(extension: "echo", variables: ["sbtest_block": "yes"])
        try await eventually("the hook to block") { delivered.values.contains { $0.hasPrefix("blocked") } }
        let blockedLegB = String(delivered.values.first { $0.hasPrefix("blocked") }!.dropFirst("blocked ".count))

        // Other calls' events flow while that channel's hook waits.
        for _ in 0..<3 {
            let other = caller.call(extension: "echo")
            try await eventually("the answer of another call") {
                delivered.values.contains("CHANNEL_ANSWER \(other)")
            }
            await caller.hangUp(legA: other)
            try await eventually("the hangup of another call") {
                delivered.values.contains("CHANNEL_HANGUP_COMPLETE \(other)")
            }
        }
        await caller.hangUp(legA: blocked)
        try await eventually("leg A's hangup, in its own lane") {
            delivered.values.contains("CHANNEL_HANGUP_COMPLETE \(blocked)")
        }
        #expect(!delivered.values.contains("CHANNEL_HANGUP_COMPLETE \(blockedLegB)"))
        #expect(handler.disconnections.isEmpty)

        // Events for the blocked channel pile up behind its hook; at 40 waiting the connection is closed and renewed.
        let flooded = ContinuousClock.now
        let headers: EventSocketHeaders = ["Event-Subclass": "sbtest::flood", "Unique-ID": blockedLegB]
        for _ in 0..<60 { _ = try? await caller.socket.connection.sendEvent("CUSTOM", headers: headers) }
        try await eventually("the backlog limit to close the connection", timeout: .seconds(10)) {
            handler.disconnections.contains(.slowConsumer)
        }
        try await eventually("a new connection", timeout: .seconds(15)) {
            handler.connections >= 2 && listener.connection != nil
        }
        #expect(ContinuousClock.now - flooded < .seconds(12))
        let after = caller.call(extension: "echo")
        try await eventually("a call's events on the new connection") {
            delivered.values.contains("CHANNEL_ANSWER \(after)")
        }
        await caller.hangUp(legA: after)
        try await caller.waitForNoSessions()
        await caller.close()
        running.cancel()
        _ = await running.result
        await freeswitch.stop()
    }
}

// MARK: - Helpers

/// An outbound handler whose behaviour the call chooses with the channel variable `sbtest_behaviour`: `throw`
/// answers and throws; `hang` answers and then waits for a day; anything else answers, sets `sbtest_result=done` and
/// hangs up.
struct FaultyHandler: OutboundHandler {
    static let name = "faulty"
    static let summary = "Throws, hangs or works, as the call asks"
    static let behaviourVariable = "sbtest_behaviour"

    /// What each call's handler did, in order: `threw`, `hanging`, `cancelled`, `done`.
    let outcomes = Timeline<String>()

    struct InjectedFault: Error {}

    func run(_ session: OutboundSession) async throws {
        try await session.answer()
        switch session.variable(Self.behaviourVariable) {
        case "throw":
            outcomes.record("threw")
            throw InjectedFault()
        case "hang":
            outcomes.record("hanging")
            do {
                try await Task.sleep(for: .seconds(86_400))
            } catch is CancellationError {
                outcomes.record("cancelled")
                throw CancellationError()
            }
        default:
            try await session.set("sbtest_result", "done")
            try await session.hangup()
            outcomes.record("done")
        }
    }
}

/// An inbound handler that counts connections and keeps the code of the error each one ended with (`nil`: none,
/// or not a ``SwitchboardError``).
final class ConnectionRecorder: InboundHandler, Sendable {
    static let name = "connection-recorder"
    static let summary = "Records connections and disconnections"
    private let state = NIOLockedValueBox<(connections: Int, codes: [SwitchboardError.Code?])>((0, []))

    var connections: Int { state.withLockedValue { $0.connections } }
    var disconnections: [SwitchboardError.Code?] { state.withLockedValue { $0.codes } }

    func connected(to connection: EventSocketConnection) async throws {
        state.withLockedValue { $0.connections += 1 }
    }

    func disconnected(from connection: EventSocketConnection, error: (any Error)?) async {
        let code = (error as? SwitchboardError)?.code
        state.withLockedValue { $0.codes.append(code) }
    }
}

/// Runs an outbound listener on a free port in a service group for the duration of `body`, then shuts the group
/// down gracefully (the listener drains, as on SIGTERM) and waits for it to stop.
func withOutboundListener(
    _ configuration: OutboundConfiguration = OutboundConfiguration(port: 0),
    handler: some OutboundHandler,
    _ body: (OutboundListener, Int) async throws -> Void
) async throws {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    let port = NIOLockedValueBox<Int?>(nil)
    let listener = OutboundListener(configuration: configuration, handler: handler, logger: faultLogger) { address in
        port.withLockedValue { $0 = address.port }
    }
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(services: [.init(service: listener)], logger: faultLogger)
    )
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await eventually("the outbound listener to bind") { port.withLockedValue { $0 } != nil }
            try await body(listener, port.withLockedValue { $0 }!)
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// Collects the daemon's `STATUS=` notifications in the background.
final class StatusRecorder: Sendable {
    private let entries = Timeline<String>()
    private let collector: Task<Void, Never>

    init(_ notify: NotifySocket) {
        let entries = self.entries
        collector = Task {
            while !Task.isCancelled {
                let batch = await notify.collect(until: { _ in false }, timeout: .milliseconds(300))
                for message in batch where message.hasPrefix("STATUS=") { entries.record(message) }
            }
        }
    }

    var lines: [String] { entries.values }

    func lines(after start: ContinuousClock.Instant) -> [String] { entries.values(after: start) }

    func stop() { collector.cancel() }
}
