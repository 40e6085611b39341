import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Rayo
import RayoServer
import Switchboard
import SwitchboardTesting
import TestSupport
import Testing
import XMPP

/// Stanzas the service sends, kept per recipient so each test client reads its own in order.
final class RecordingRouter: StanzaRouter {
    private let state = NIOLockedValueBox<(online: Set<String>, queues: [String: [XMLElement]], waiters: [Waiter])>(
        ([], [:], [])
    )

    private struct Waiter {
        var jid: String
        var continuation: CheckedContinuation<Void, Never>
    }

    func connect(_ jid: String) { state.withLockedValue { _ = $0.online.insert(jid) } }
    func disconnect(_ jid: String) { state.withLockedValue { _ = $0.online.remove(jid) } }

    func route(_ stanza: XMLElement) -> Bool {
        let to = stanza[attribute: "to"] ?? ""
        let waiters = state.withLockedValue { state -> [Waiter] in
            guard state.online.contains(to) else { return [] }
            state.queues[to, default: []].append(stanza)
            let ready = state.waiters.filter { $0.jid == to }
            state.waiters.removeAll { $0.jid == to }
            return ready
        }
        for waiter in waiters { waiter.continuation.resume() }
        return state.withLockedValue { $0.online.contains(to) }
    }

    /// Takes the next stanza for `jid`, waiting up to `timeout`.
    func next(for jid: String, timeout: Duration = TestTime.scaled(.seconds(10))) async throws -> XMLElement {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let stanza = state.withLockedValue({ state -> XMLElement? in
                guard var queue = state.queues[jid], !queue.isEmpty else { return nil }
                let first = queue.removeFirst()
                state.queues[jid] = queue
                return first
            }) {
                return stanza
            }
            guard ContinuousClock.now < deadline else {
                throw FakeSwitchError("no stanza for \(jid) within \(timeout)")
            }
            // Wake on the next stanza for this JID or after a short while, whichever is first.
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withCheckedContinuation { continuation in
                        let queued = self.state.withLockedValue { state -> Bool in
                            if !(state.queues[jid]?.isEmpty ?? true) { return true }
                            state.waiters.append(Waiter(jid: jid, continuation: continuation))
                            return false
                        }
                        if queued { continuation.resume() }
                    }
                }
                group.addTask { try? await Task.sleep(for: .milliseconds(200)) }
                await group.next()
                group.cancelAll()
                let stale = self.state.withLockedValue { state -> [Waiter] in
                    let mine = state.waiters.filter { $0.jid == jid }
                    state.waiters.removeAll { $0.jid == jid }
                    return mine
                }
                for waiter in stale { waiter.continuation.resume() }
            }
        }
    }

    /// Whatever is queued for `jid` now.
    func pending(for jid: String) -> [XMLElement] {
        state.withLockedValue { $0.queues[jid] ?? [] }
    }
}

/// A Rayo client talking to the service directly (no XMPP transport): it sends what the c2s server would hand over.
struct DirectClient: Sendable {
    let jid: JID
    let service: RayoService
    let router: RecordingRouter

    var address: String { jid.description }

    /// Online and available for offers (`<show>chat</show>`).
    static func online(_ text: String, service: RayoService, router: RecordingRouter) -> DirectClient {
        let client = DirectClient(jid: JID(text)!, service: service, router: router)
        router.connect(text)
        service.receive(.online(client.jid))
        service.receive(.presence(client.jid, .available(show: .chat)))
        return client
    }

    /// Sends `<iq type='set' id to>` with `payload` (XML text).
    func set(_ id: String, to: String, _ payload: String) throws {
        var iq = XMLElement("iq", namespace: "jabber:client", ["type": "set", "id": id, "to": to])
        iq[attribute: "from"] = address
        iq.append(try XMLElement.parse(payload))
        service.receive(.stanza(iq, from: jid))
    }

    func next(timeout: Duration = TestTime.scaled(.seconds(10))) async throws -> XMLElement {
        try await router.next(for: address, timeout: timeout)
    }

    /// The next stanza that is an IQ answer with this id (other stanzas before it are returned too).
    func reply(to id: String) async throws -> (reply: XMLElement, before: [XMLElement]) {
        var before: [XMLElement] = []
        while true {
            let stanza = try await next()
            if stanza.name == "iq", stanza[attribute: "id"] == id { return (stanza, before) }
            before.append(stanza)
        }
    }

    /// The next presence carrying a child of this name (other stanzas before it are returned too).
    func presence(with child: String) async throws -> (presence: XMLElement, before: [XMLElement]) {
        var before: [XMLElement] = []
        while true {
            let stanza = try await next()
            if stanza.name == "presence", stanza.elements.contains(where: { $0.name == child }) {
                return (stanza, before)
            }
            before.append(stanza)
        }
    }

    func leave() {
        router.disconnect(address)
        service.receive(.offline(jid))
    }
}

/// The service, a simulated FreeSWITCH and an outbound listener running the `rayo` handler, all on loopback.
struct RayoHarness: Sendable {
    static let domain = "rayo.test"

    let fake: FakeFreeSWITCH
    let service: RayoService
    let router: RecordingRouter
    let callPort: Int

    /// Runs `body` with everything up and the event socket connected; stops everything afterwards.
    static func run(
        settings: RayoSettings = RayoSettings(domain: domain),
        commandTimeout: Duration = .seconds(5),
        drainTime: Duration = .seconds(5),
        _ body: @Sendable (RayoHarness) async throws -> Void
    ) async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "show", with: .output(#"{"row_count":0}"#))
        for command in ["uuid_kill", "uuid_bridge", "uuid_transfer", "uuid_setvar", "uuid_deflect", "uuid_answer"] {
            fake.answer(api: command, with: .output("+OK\n"))
        }
        let logger = Logger(label: "rayo-test")
        let service = RayoService(
            settings: settings,
            eventSocket: InboundConfiguration(
                port: fake.port,
                reconnect: ReconnectPolicy(initialDelay: .milliseconds(20), maxDelay: .milliseconds(100))
            ),
            commandTimeout: commandTimeout,
            drainTime: drainTime,
            logger: logger,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton
        )
        let router = RecordingRouter()
        service.attach(router: router)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
                let listener = OutboundListener(
                    configuration: OutboundConfiguration(port: 0),
                    handler: RayoCallHandler(service: service),
                    logger: logger
                ) { address in portContinuation.yield(address.port ?? 0) }
                group.addTask { try await listener.run() }
                var iterator = ports.makeAsyncIterator()
                let port = await iterator.next() ?? 0
                try await fake.waitForSubscribers(1)
                try await waitUntil { service.status.eventSocketUp }
                try await body(RayoHarness(fake: fake, service: service, router: router, callPort: port))
                group.cancelAll()
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    func client(_ jid: String) -> DirectClient {
        DirectClient.online(jid, service: service, router: router)
    }

    /// Places a call in the background; its record arrives when the listener lets it go.
    func placeCall(
        uuid: String = UUIDString.random(),
        variables: [String: String] = [:]
    ) -> (
        uuid: String, record: Task<CallRecord, any Error>
    ) {
        let fake = self.fake
        let port = callPort
        let lowered = uuid.lowercased()
        let task = Task { try await fake.placeCall(to: port, script: CallScript(variables: variables), uuid: lowered) }
        return (lowered, task)
    }

    /// Emits CHANNEL_HANGUP_COMPLETE for `uuid` with a cause.
    func hangUp(_ uuid: String, cause: String = "NORMAL_CLEARING", q850: String = "16") {
        fake.emit(
            .channel(
                "CHANNEL_HANGUP_COMPLETE",
                uuid: uuid,
                variables: ["hangup_cause_q850": q850],
                extra: [("Hangup-Cause", cause)]
            )
        )
    }
}

/// Polls `condition` until it holds (10 s at most, times ``TestTime/scale``).
func waitUntil(timeout: Duration = TestTime.scaled(.seconds(10)), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw FakeSwitchError("condition not met within \(timeout)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

extension XMLElement {
    /// The child element names, for assertions.
    var childNames: [String] { elements.map(\.name) }

    /// The stanza error condition of an `<iq type='error'>`, e.g. `item-not-found`.
    var errorCondition: String? {
        child("error")?.elements.first { $0.namespace == "urn:ietf:params:xml:ns:xmpp-stanzas" && $0.name != "text" }?
            .name
    }
}
