import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import SwitchboardTesting
import Testing
import XMPP
import XMPPServer
import XMPPTesting

/// A local service that records every event and can answer the iqs it is given.
final class RecordingService: XMPPLocalService {
    let discoFeatures = ["urn:xmpp:rayo:1"]
    private let state = NIOLockedValueBox(State())
    private let answersIQs: Bool
    private let greetsOnOnline: Bool

    private struct State {
        var events: [ClientEvent] = []
        var router: (any StanzaRouter)?
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    private struct Waiter {
        var predicate: @Sendable ([ClientEvent]) -> Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// - Parameters:
    ///   - answersIQs: Answer every iq get/set with an empty result (from the addressee) through the router.
    ///   - greetsOnOnline: Send a `<message>` to each client from within `receive(.online)`.
    init(answersIQs: Bool = false, greetsOnOnline: Bool = false) {
        self.answersIQs = answersIQs
        self.greetsOnOnline = greetsOnOnline
    }

    func attach(router: any StanzaRouter) {
        state.withLockedValue { $0.router = router }
    }

    var router: (any StanzaRouter)? { state.withLockedValue { $0.router } }

    func receive(_ event: ClientEvent) {
        let ready = state.withLockedValue { state in
            state.events.append(event)
            let events = state.events
            let done = state.waiters.filter { $0.value.predicate(events) }
            for id in done.keys { state.waiters.removeValue(forKey: id) }
            return done.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
        if greetsOnOnline, case .online(let jid) = event {
            router?.route(XMLElement("message", ["to": jid.description, "from": testDomain, "id": "hello"]))
        }
        if answersIQs, case .stanza(let stanza, _) = event, stanza.name == "iq",
            ["get", "set"].contains(stanza[attribute: "type"])
        {
            router?.route(XMLElement.resultReply(to: stanza))
        }
    }

    var events: [ClientEvent] { state.withLockedValue { $0.events } }

    /// Waits until the recorded events satisfy `predicate`; fails after `timeout` listing what was recorded.
    func waitUntil(
        timeout: Duration = XMPPTestClient.defaultTimeout,
        _ predicate: @escaping @Sendable ([ClientEvent]) -> Bool
    ) async throws {
        let id = state.withLockedValue { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            let waiter = self.state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(
                throwing: TestFailure("timed out waiting for service events; got \(self.events)")
            )
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let done = state.withLockedValue { state in
                if predicate(state.events) { return true }
                state.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Waits until `event` has been recorded.
    func waitFor(_ event: ClientEvent, timeout: Duration = XMPPTestClient.defaultTimeout) async throws {
        try await waitUntil(timeout: timeout) { $0.contains(event) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The users of the tests: usera/1 with a clear password (as in the fixtures), userb with SCRAM stored keys only.
let testCredentials = StaticCredentialStore([
    "usera": UserCredentials(password: "1"),
    "userb": UserCredentials(scram: [
        SCRAMStoredKeys.derive(password: "secret-b", hash: .sha1, iterations: 4096),
        SCRAMStoredKeys.derive(password: "secret-b", hash: .sha256, iterations: 4096),
    ]),
])

let testDomain = "rayo.localhost"

/// A running server on 127.0.0.1 with an ephemeral port, in a `ServiceGroup` so graceful shutdown is real.
struct ServerHarness: Sendable {
    let server: XMPPServer
    let service: RecordingService
    let logs: LogRecorder
    let port: Int
    let serviceGroup: ServiceGroup

    func client() async throws -> XMPPTestClient {
        try await XMPPTestClient.connect(host: "127.0.0.1", port: port, domain: testDomain)
    }

    /// A client that is logged in (SCRAM-SHA-256 as usera unless told otherwise).
    func loggedInClient(
        username: String = "usera",
        password: String = "1",
        resource: String? = nil,
        tls: XMPPTestClient.TLSTrust? = nil
    ) async throws -> XMPPTestClient {
        let client = try await client()
        try await client.login(username: username, password: password, resource: resource, tls: tls)
        return client
    }
}

/// Runs `body` against a fresh server, then shuts it down gracefully and waits for `run()` to return.
func withServer(
    limits: XMPPServerConfiguration.Limits = XMPPServerConfiguration.Limits(),
    tls: XMPPServerConfiguration.TLS? = nil,
    allow: [CIDR] = [],
    service: RecordingService = RecordingService(),
    _ body: (ServerHarness) async throws -> Void
) async throws {
    let logs = LogRecorder(includesMetadata: true)
    let configuration = XMPPServerConfiguration(
        domain: testDomain,
        listeners: [.init(host: "127.0.0.1", port: 0, allow: allow)],
        tls: tls,
        limits: limits
    )
    let (addresses, addressesContinuation) = AsyncStream.makeStream(of: [SocketAddress].self)
    let server = XMPPServer(
        configuration: configuration,
        credentials: testCredentials,
        service: service,
        logger: logs.logger(),
        onListening: { addressesContinuation.yield($0) }
    )
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: [server],
            logger: Logger(label: "group") { _ in
                SwiftLogNoOpLogHandler()
            }
        )
    )
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = addresses.makeAsyncIterator()
        guard let port = await iterator.next()?.first?.port else { throw TestFailure("the server did not listen") }
        let harness = ServerHarness(server: server, service: service, logs: logs, port: port, serviceGroup: group)
        do {
            try await body(harness)
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// The fixture directory `Tests/Fixtures/xmpp/<name>`.
func fixtureURL(_ name: String, _ file: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/xmpp/\(name)/\(file)")
}

/// The first child element named `name` of a stanza, as `{namespace}name`, for readable expectations.
extension XMLElement {
    var conditionName: String? {
        elements.first { $0.name != "text" && $0.namespace != XMPPNamespace.client }?.name
    }

    /// The defined condition of an `<error>` child.
    var stanzaErrorCondition: String? {
        child("error")?.elements.first { $0.namespace == XMPPNamespace.stanzas && $0.name != "text" }?.name
    }
}

func ping(to: String? = nil) -> XMLElement {
    XMLElement(
        "iq",
        ["type": "get", "to": to],
        children: [.element(XMLElement("ping", namespace: XMPPNamespace.ping))]
    )
}

extension XMLElement {
    /// The element with namespaces resolved and attributes sorted by name: equal for equivalent XML whatever the
    /// attribute order.
    var canonical: XMLElement {
        var element = resolved()
        element.attributes.sort { $0.name < $1.name }
        element.children = element.children.map { child in
            if case .element(let inner) = child { return .element(inner.canonical) }
            return child
        }
        return element
    }
}
