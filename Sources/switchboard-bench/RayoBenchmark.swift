import EventSocket
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Rayo
import RayoServer
import ServiceLifecycle
import Switchboard
import SwitchboardTesting
import Synchronization
import XMPP
import XMPPTesting

/// The Rayo server of (f) on loopback: the XMPP c2s listener and the `rayo` outbound listener on free ports, the Rayo
/// service on a `FakeFreeSWITCH`'s event socket. One user (`bench`) with a clear password; clients differ by resource.
struct RayoBenchServer: Sendable {
    static let domain = "rayo.bench"
    static let user = "bench"
    static let password = "bench-secret"

    let server: RayoServer
    let xmppPort: Int
    let callPort: Int
    private let running: Task<Void, Never>

    /// Starts everything and returns once both listeners are bound and the event socket is connected.
    static func start(
        eventSocketPort: Int,
        maxClients: Int = 1_000,
        timeout: Duration,
        logger: Logger
    ) async throws -> RayoBenchServer {
        let configuration = RayoServerConfiguration(
            domain: domain,
            listeners: [RayoServerConfiguration.Listener(bind: "127.0.0.1", port: 0)],
            users: [RayoServerConfiguration.User(name: user, password: password)],
            eventSocket: RayoServerConfiguration.EventSocketEndpoint(host: "127.0.0.1", port: eventSocketPort),
            maxIdle: nil,
            offerAlgorithm: .all,
            offerTimeout: .seconds(600),
            limits: RayoServerConfiguration.Limits(maxClients: maxClients + 10)
        )
        let xmppPort = Atomic<Int>(0)
        let server = try RayoServer(
            configuration: configuration,
            logger: logger,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton
        ) { addresses in
            xmppPort.store(addresses.first?.port ?? 0, ordering: .relaxed)
        }
        let listener = OutboundListener(
            configuration: OutboundConfiguration(host: "127.0.0.1", port: 0, maxSessions: 100_000),
            handler: server.callHandler,
            logger: logger
        )
        let services = server.services
        let running = Task {
            await withTaskGroup(of: Void.self) { group in
                for service in services { group.addTask { try? await service.run() } }
                group.addTask { try? await listener.run() }
            }
        }
        do {
            let callPort = try await boundPort(of: listener, timeout: timeout)
            try await waitUntil("the XMPP listener to bind", timeout: timeout) {
                xmppPort.load(ordering: .relaxed) != 0
            }
            try await waitUntil("the Rayo service to log in to the fake switch", timeout: timeout) {
                server.service.status.eventSocketUp
            }
            return RayoBenchServer(
                server: server,
                xmppPort: xmppPort.load(ordering: .relaxed),
                callPort: callPort,
                running: running
            )
        } catch {
            running.cancel()
            await running.value
            throw error
        }
    }

    /// Stops the services and the listener.
    func stop() async {
        running.cancel()
        await running.value
    }

    /// The number of clients the service counts available for offers.
    var availableClients: Int { server.service.status.clients.filter(\.available).count }

    /// The calls the service controls now.
    var calls: Int { server.service.status.calls.count }
}

/// What the client side of (f) does with the server: log clients in, place calls, hang them up.
enum RayoBenchClients {
    /// Logs in `count` clients (PLAIN, resources `<prefix>1`…) in batches and makes each available for offers.
    static func connect(
        count: Int,
        prefix: String,
        port: Int,
        timeout: Duration
    ) async throws -> [XMPPTestClient] {
        var clients: [XMPPTestClient] = []
        var next = 0
        while next < count {
            let batch = next..<min(count, next + 25)
            let logged = try await withThrowingTaskGroup(of: (Int, XMPPTestClient).self) { group in
                for index in batch {
                    group.addTask {
                        let client = try await XMPPTestClient.connect(
                            host: "127.0.0.1",
                            port: port,
                            domain: RayoBenchServer.domain
                        )
                        try await client.login(
                            username: RayoBenchServer.user,
                            password: RayoBenchServer.password,
                            mechanism: .plain,
                            resource: "\(prefix)\(index + 1)",
                            timeout: timeout
                        )
                        client.sendPresence(show: .chat)
                        return (index, client)
                    }
                }
                var result: [(Int, XMPPTestClient)] = []
                for try await pair in group { result.append(pair) }
                return result.sorted { $0.0 < $1.0 }.map(\.1)
            }
            clients += logged
            next = batch.upperBound
        }
        return clients
    }

    /// CHANNEL_HANGUP_COMPLETE (NORMAL_CLEARING) for a call: the caller hung up.
    static func hangUp(_ uuid: String, on fake: FakeFreeSWITCH) {
        fake.emit(
            .channel(
                "CHANNEL_HANGUP_COMPLETE",
                uuid: uuid,
                variables: ["hangup_cause_q850": "16"],
                extra: [("Hangup-Cause", "NORMAL_CLEARING")]
            )
        )
    }

    /// The call's JID.
    static func jid(_ uuid: String) -> String { "\(uuid)@\(RayoBenchServer.domain)" }

    /// The UUID of the call a presence comes from, if it carries an `<offer>`.
    static func offeredUUID(_ stanza: XMLElement) -> String? {
        guard stanza.name == "presence", stanza.child("offer", namespace: RayoNamespace.core) != nil,
            let from = stanza[attribute: "from"]
        else { return nil }
        return String(from.prefix { $0 != "@" })
    }

    /// `<iq type='set' to='<call>'><answer xmlns='urn:xmpp:rayo:1'/></iq>`.
    static func answer(_ uuid: String) -> XMLElement {
        XMLElement(
            "iq",
            ["type": "set", "to": jid(uuid)],
            children: [.element(XMLElement("answer", namespace: RayoNamespace.core))]
        )
    }
}

/// (f) i: calls offered per second to connected clients (offerAlgorithm `all`: each call is offered to every
/// client), counted where the clients receive them; every call is hung up by its caller once all clients have its
/// offer, and `window` calls are in progress at once.
struct RayoOfferBenchmark {
    struct Result {
        var calls: Int
        var clients: Int
        var offers: Int
        var ends: Int
        var seconds: Double
        var failures: Int
        var firstFailure: String?
        var offersPerSecond: Double { Double(offers) / seconds }
        var callsPerSecond: Double { Double(calls) / seconds }
    }

    let calls: Int
    let window: Int
    let timeout: Duration

    func run(fake: FakeFreeSWITCH, server: RayoBenchServer, clients: [XMPPTestClient]) async throws -> Result {
        let (completed, completedSink) = AsyncStream.makeStream(of: String.self)
        let counts = NIOLockedValueBox<[String: Int]>([:])
        let offers = Counter()
        let ends = Counter()
        let stop = Atomic<Bool>(false)
        let clientCount = clients.count
        // One task reads every client's inbox in turns; an offer counts for its call, and the call is complete when
        // every client has it.
        let collector = Task {
            while !stop.load(ordering: .relaxed) {
                var seen = 0
                for client in clients {
                    for stanza in client.takeUnclaimedStanzas() {
                        seen += 1
                        if let uuid = RayoBenchClients.offeredUUID(stanza) {
                            offers.increment()
                            let done = counts.withLockedValue { counts -> Bool in
                                let count = counts[uuid, default: 0] + 1
                                if count == clientCount {
                                    counts[uuid] = nil
                                    return true
                                }
                                counts[uuid] = count
                                return false
                            }
                            if done { completedSink.yield(uuid) }
                        } else if stanza.child("end", namespace: RayoNamespace.core) != nil {
                            ends.increment()
                        }
                    }
                }
                if seen == 0 { try? await Task.sleep(for: .microseconds(200)) }
            }
        }
        defer {
            stop.store(true, ordering: .relaxed)
            collector.cancel()
        }

        let failures = Counter()
        let firstFailure = FirstFailure()
        let port = server.callPort
        let timeout = self.timeout
        let started = ContinuousClock.now
        let deadline = started + timeout
        let finished: Int = await withTaskGroup(of: Void.self) { group in
            var placed = 0
            func place() {
                placed += 1
                let uuid = UUIDString.random()
                group.addTask {
                    do {
                        _ = try await fake.placeCall(to: port, uuid: uuid, timeout: timeout)
                    } catch {
                        failures.increment()
                        firstFailure.note(error)
                    }
                }
            }
            for _ in 0..<min(window, calls) { place() }
            var done = 0
            let watchdog = Task {
                try? await Task.sleep(until: deadline)
                completedSink.finish()
            }
            for await uuid in completed {
                RayoBenchClients.hangUp(uuid, on: fake)
                done += 1
                if done == calls { break }
                if placed < calls { place() }
            }
            watchdog.cancel()
            return done
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        guard finished == calls else {
            throw BenchFailure("only \(finished) of \(calls) calls were offered to all \(clientCount) clients in time")
        }
        // The ends of the last calls arrive after the last placeCall returned; wait for them briefly.
        try? await waitUntil("every end to arrive", timeout: .seconds(5)) { ends.value >= calls * clientCount }
        return Result(
            calls: calls,
            clients: clientCount,
            offers: offers.value,
            ends: ends.value,
            seconds: seconds,
            failures: failures.value,
            firstFailure: firstFailure.description
        )
    }
}

/// (f) ii: the round trip of `<answer/>` on an offered call, one at a time: the IQ goes to the Rayo service, which
/// sends `sendmsg <uuid>` (execute answer) over its event socket; the fake switch replies and emits CHANNEL_ANSWER;
/// the service answers the IQ. Then the caller hangs up and the next call is placed.
struct RayoAnswerBenchmark {
    struct Result {
        /// Round trips in microseconds, sorted.
        var samples: [Double]
        func percentile(_ fraction: Double) -> Double {
            samples[min(samples.count - 1, Int(Double(samples.count) * fraction))]
        }
        var p50: Double { percentile(0.50) }
        var p99: Double { percentile(0.99) }
        var max: Double { samples.last ?? 0 }
        /// The median time the fake switch takes to build one CHANNEL_ANSWER (`FakeEvent.channel`, from its ~100-line
        /// channel template), in microseconds: a switch-side cost inside every round trip.
        var fakeEventMicroseconds: Double
    }

    let answers: Int
    let warmUp: Int
    let timeout: Duration

    func run(fake: FakeFreeSWITCH, server: RayoBenchServer, client: XMPPTestClient) async throws -> Result {
        guard let jid = client.jid?.description else { throw BenchFailure("the answering client is not bound") }
        var samples: [Double] = []
        samples.reserveCapacity(answers)
        for index in 0..<(warmUp + answers) {
            let uuid = UUIDString.random()
            // Offered to the answering client only, so the other clients' inboxes stay quiet.
            let script = CallScript(variables: [RayoService.offerToVariable: jid])
            let port = server.callPort
            let timeout = self.timeout
            let call = Task { try await fake.placeCall(to: port, script: script, uuid: uuid, timeout: timeout) }
            let callJID = RayoBenchClients.jid(uuid)
            _ = try await client.waitFor(timeout: timeout) { RayoBenchClients.offeredUUID($0) == uuid }
            let start = ContinuousClock.now
            let reply = try await client.iq(RayoBenchClients.answer(uuid), timeout: timeout)
            let elapsed = ContinuousClock.now - start
            guard reply[attribute: "type"] == "result" else {
                throw BenchFailure("answer of call \(index + 1) failed: \(reply.serialized())")
            }
            if index >= warmUp { samples.append(elapsed.inSeconds * 1e6) }
            RayoBenchClients.hangUp(uuid, on: fake)
            _ = try await client.waitFor(timeout: timeout) {
                $0.name == "presence" && $0[attribute: "from"] == callJID
                    && $0.child("end", namespace: RayoNamespace.core) != nil
            }
            _ = try await call.value
            client.takeUnclaimedStanzas()
        }
        return Result(samples: samples.sorted(), fakeEventMicroseconds: Self.fakeEventCost())
    }

    /// The median of 2,000 constructions of the CHANNEL_ANSWER the fake emits for an answer.
    static func fakeEventCost() -> Double {
        var times: [Double] = []
        var headers = 0
        for _ in 0..<2000 {
            let uuid = UUIDString.random()
            let start = ContinuousClock.now
            let event = FakeEvent.channel("CHANNEL_ANSWER", uuid: uuid, variables: ["answer_state": "answered"])
            times.append((ContinuousClock.now - start).inSeconds * 1e6)
            headers += event.headers.count
        }
        precondition(headers > 0)
        return times.sorted()[times.count / 2]
    }
}

/// Runs (f) i and ii in this process: a fake switch, the server, `clients` logged-in clients.
struct RayoThroughputRun {
    struct Result {
        var offers: RayoOfferBenchmark.Result
        var answers: RayoAnswerBenchmark.Result
    }

    let clients: Int
    let calls: Int
    let answers: Int
    let timeout: Duration
    let logger: Logger

    func run() async throws -> Result {
        let fake = try await FakeFreeSWITCH.start(options: FakeFreeSWITCH.Options(answersInboundSendmsg: true))
        RayoSwitchSide.script(fake)
        let server = try await RayoBenchServer.start(eventSocketPort: fake.port, timeout: timeout, logger: logger)
        var connected: [XMPPTestClient] = []
        do {
            connected = try await RayoBenchClients.connect(
                count: clients,
                prefix: "c",
                port: server.xmppPort,
                timeout: timeout
            )
            try await waitUntil("\(clients) clients to be available", timeout: timeout) {
                server.availableClients >= clients
            }
            // Warm-up: a tenth of the calls, not counted.
            _ = try await RayoOfferBenchmark(calls: max(50, calls / 10), window: 50, timeout: timeout)
                .run(fake: fake, server: server, clients: connected)
            let offers = try await RayoOfferBenchmark(calls: calls, window: 50, timeout: timeout)
                .run(fake: fake, server: server, clients: connected)
            for client in connected { client.takeUnclaimedStanzas() }
            let answers = try await RayoAnswerBenchmark(
                answers: answers,
                warmUp: max(50, answers / 10),
                timeout: timeout
            )
            .run(fake: fake, server: server, client: connected[0])
            for client in connected { await client.close() }
            await server.stop()
            await fake.stop()
            return Result(offers: offers, answers: answers)
        } catch {
            for client in connected { await client.close() }
            await server.stop()
            await fake.stop()
            throw error
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var inSeconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
