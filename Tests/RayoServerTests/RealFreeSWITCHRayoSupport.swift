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
import Testing
import XMPP
import XMPPTesting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The FreeSWITCH of ``SwitchboardTesting/TestSwitch`` (127.0.0.1:8021 unless the environment names another, with the
/// `peertest` dialplan context); probed once per process, as the IntegrationTests do.
enum RealSwitch {
    static let host = TestSwitch.current.host
    static let port = TestSwitch.current.port
    static let password = TestSwitch.current.password
    static let skipReason = Comment(rawValue: TestSwitch.skipReason)

    /// Probed on first use, then remembered.
    static let isUp: Bool = TestSwitch.isAvailable

    /// The channel variable every call of these tests carries, with a value unique to one test.
    static let tagVariable = "sbtest_tag"

    /// Warnings and errors only, to standard error.
    static let logger: Logger = {
        var logger = Logger(label: "switchboard.rayo-real") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        return logger
    }()

    /// A tag unique to one test: letters and digits only, safe in dial strings and variables.
    static func uniqueTag() -> String {
        "sbr" + UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(16)
    }

    /// A fresh lower-case UUID, for `origination_uuid`.
    static func newUUID() -> String { UUID().uuidString.lowercased() }

    /// A logged-in command socket.
    static func commandSocket() async throws -> CommandSocket {
        try await CommandSocket.connect(
            host: host,
            port: port,
            authentication: .password(password),
            timeout: .seconds(20),
            logger: logger
        )
    }

    /// Hangs up this test's own calls: the given UUIDs, then every channel whose tag variable is `tag`. Never touches
    /// other channels (no `hupall`). Errors are ignored: the calls may have ended already.
    static func hangUpOwnCalls(tag: String, uuids: [String] = []) async {
        do {
            let socket = try await commandSocket()
            for uuid in uuids { _ = try? await socket.api("uuid_kill", uuid) }
            let json = (try? await socket.api("show", "channels as json")) ?? ""
            let rows =
                ((try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any])?["rows"]
                as? [[String: Any]] ?? []
            for uuid in rows.compactMap({ $0["uuid"] as? String }) {
                let value = try? await socket.api("uuid_getvar", "\(uuid) \(tagVariable)")
                if value == tag { _ = try? await socket.api("uuid_kill", uuid) }
            }
            await socket.close()
        } catch {
            logger.warning("cleanup of calls tagged \(tag) failed: \(error)")
        }
    }

    /// Whether FreeSWITCH still has a channel with this UUID.
    static func exists(_ uuid: String, on socket: CommandSocket) async throws -> Bool {
        try await socket.api("uuid_exists", uuid).hasPrefix("true")
    }

}

/// A wait of these tests that ran out of time.
struct RealRayoTimeout: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An in-process Rayo server bound to the real FreeSWITCH: the XMPP c2s listener on 127.0.0.1 (free port), the Rayo
/// service on FreeSWITCH's event socket, and an outbound listener (free port) running the `rayo` handler, which the
/// dialplan context `peertest` reaches with ``SwitchboardTesting/TestSwitch/outboundDestination(port:asyncFull:)``.
struct RealRayo: Sendable {
    static let domain = "rayo.test"
    static let rayo = "urn:xmpp:rayo:1"
    static let users = [("usera", "1"), ("userb", "2")]

    let server: RayoServer
    let xmppPort: Int
    let callPort: Int
    /// This test's tag: its calls carry it as `sbtest_tag`.
    let tag: String

    /// Runs `body` with everything up and the event socket connected; then hangs up the test's calls (tagged, plus
    /// the UUIDs `body` registered in `uuids`) and stops everything, also when `body` throws.
    static func run(_ body: @Sendable (RealRayo, CallList) async throws -> Void) async throws {
        let configuration = RayoServerConfiguration(
            domain: domain,
            listeners: [RayoServerConfiguration.Listener(bind: "127.0.0.1", port: 0)],
            users: users.map { RayoServerConfiguration.User(name: $0.0, password: $0.1) },
            eventSocket: RayoServerConfiguration.EventSocketEndpoint(
                host: RealSwitch.host,
                port: RealSwitch.port,
                password: RealSwitch.password
            ),
            maxIdle: nil,
            offerTimeout: .seconds(30)
        )
        let (xmppPorts, xmppPortSink) = AsyncStream.makeStream(of: Int.self)
        let server = try RayoServer(
            configuration: configuration,
            logger: RealSwitch.logger,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton
        ) { addresses in
            xmppPortSink.yield(addresses.first?.port ?? 0)
            xmppPortSink.finish()
        }
        let (callPorts, callPortSink) = AsyncStream.makeStream(of: Int.self)
        let listener = OutboundListener(
            configuration: OutboundConfiguration(host: TestSwitch.current.listenHost, port: 0),
            handler: server.callHandler,
            logger: RealSwitch.logger
        ) { address in
            callPortSink.yield(address.port ?? 0)
            callPortSink.finish()
        }
        let tag = RealSwitch.uniqueTag()
        let calls = CallList()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in server.services {
                group.addTask {
                    do { try await service.run() } catch is CancellationError {}
                }
            }
            group.addTask {
                do { try await listener.run() } catch is CancellationError {}
            }
            do {
                var xmppIterator = xmppPorts.makeAsyncIterator()
                var callIterator = callPorts.makeAsyncIterator()
                guard let xmppPort = await xmppIterator.next(), xmppPort > 0,
                    let callPort = await callIterator.next(), callPort > 0
                else { throw RealRayoTimeout("the XMPP or outbound listener did not bind") }
                try await RealSwitch.eventually("the Rayo service to connect to FreeSWITCH") {
                    server.service.status.eventSocketUp
                }
                let harness = RealRayo(server: server, xmppPort: xmppPort, callPort: callPort, tag: tag)
                do {
                    try await body(harness, calls)
                } catch {
                    await RealSwitch.hangUpOwnCalls(tag: tag, uuids: calls.uuids)
                    throw error
                }
                await RealSwitch.hangUpOwnCalls(tag: tag, uuids: calls.uuids)
                group.cancelAll()
                try await group.waitForAll()
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    /// A client logged in as `user` (SCRAM-SHA-256) and available for offers (`<show>chat</show>`); returns once the
    /// Rayo service counts it available.
    func client(_ user: String = "usera", resource: String = "it") async throws -> XMPPTestClient {
        let password = Self.users.first { $0.0 == user }?.1 ?? ""
        let client = try await XMPPTestClient.connect(host: "127.0.0.1", port: xmppPort, domain: Self.domain)
        let jid = try await client.login(username: user, password: password, resource: resource)
        client.sendPresence(show: .chat)
        let service = server.service
        try await RealSwitch.eventually("\(jid) to be available for offers") {
            service.status.clients.contains { $0.jid == jid.description && $0.available }
        }
        return client
    }

    /// The variables block that tags a call, fixes the UUID of its originating leg and its caller id, and adds an
    /// X- header (`sip_h_X-Sbtest-Tag`) that the offer must carry.
    func callVariables(uuid: String, callerNumber: String = "15550123") -> String {
        "{origination_uuid=\(uuid),\(RealSwitch.tagVariable)=\(tag),origination_caller_id_number=\(callerNumber),"
            + "sip_h_X-Sbtest-Tag=\(tag)}"
    }

    /// Starts `originate {…}loopback/outbound_<callPort>/peertest &park()` with `bgapi` on its own command socket;
    /// the task's value is the job's output (`+OK <uuid>`) or the error it failed with (`-ERR USER_BUSY`).
    func originateInbound(legA: String) -> Task<String, any Error> {
        let arguments = "\(callVariables(uuid: legA))\(TestSwitch.current.outboundDestination(port: callPort)) &park()"
        return Task {
            let socket = try await RealSwitch.commandSocket()
            do {
                let output = try await socket.backgroundAPI("originate", arguments, timeout: .seconds(30))
                await socket.close()
                return output
            } catch {
                await socket.close()
                throw error
            }
        }
    }

    /// Waits for the offer presence of a new call (one not in `known`); returns the presence and the call's JID.
    func offer(
        to client: XMPPTestClient,
        timeout: Duration = .seconds(20)
    ) async throws -> (
        presence: XMLElement, callJID: String
    ) {
        let presence = try await client.waitFor(timeout: timeout) { stanza in
            stanza.name == "presence" && stanza.child("offer", namespace: Self.rayo) != nil
        }
        return (presence, presence[attribute: "from"] ?? "")
    }

    /// Sends an IQ set with `payload` to `to` and returns the reply.
    func set(
        _ client: XMPPTestClient,
        to: String,
        _ payload: String,
        timeout: Duration = .seconds(20)
    ) async throws
        -> XMLElement
    {
        let element = try XMLElement.parse(payload)
        return try await client.iq(
            XMLElement("iq", ["type": "set", "to": to], children: [.element(element)]),
            timeout: timeout
        )
    }

    /// Sends `<dial to='{sbtest_tag=…}<destination>'>` (with `extra`: more attributes and children, as XML text) to
    /// the domain, requires a `<ref uri='xmpp:<call JID>'>` result, registers the call for the cleanup and returns the
    /// reply and the call's JID.
    func dial(
        _ client: XMPPTestClient,
        _ destination: String,
        extra: (attributes: String, children: String) = ("", ""),
        calls: CallList
    ) async throws -> (reply: XMLElement, callJID: String) {
        let reply = try await set(
            client,
            to: Self.domain,
            "<dial xmlns='\(Self.rayo)' to='{\(RealSwitch.tagVariable)=\(tag)}\(destination)'\(extra.attributes)>"
                + "\(extra.children)</dial>"
        )
        let uri = try #require(reply.child("ref", namespace: Self.rayo)?[attribute: "uri"], "\(reply.serialized())")
        try #require(uri.hasPrefix("xmpp:"), "ref uri \(uri)")
        let callJID = String(uri.dropFirst("xmpp:".count))
        calls.add(Self.uuid(of: callJID))
        return (reply, callJID)
    }

    /// The next presence from `from` carrying a Rayo child named `event` (`answered`, `joined`, `end`, …).
    func event(
        _ event: String,
        from: String,
        on client: XMPPTestClient,
        timeout: Duration = .seconds(20)
    ) async throws -> XMLElement {
        let presence = try await client.waitFor(timeout: timeout) { stanza in
            stanza.name == "presence" && stanza[attribute: "from"] == from
                && stanza.child(event, namespace: Self.rayo) != nil
        }
        return presence
    }

    /// The call's UUID from its JID (`<uuid>@rayo.test`).
    static func uuid(of callJID: String) -> String {
        String(callJID.prefix { $0 != "@" })
    }
}

/// The UUIDs a test created, for the cleanup after it.
final class CallList: Sendable {
    private let list = NIOLockedValueBox<[String]>([])

    func add(_ uuid: String) { list.withLockedValue { $0.append(uuid) } }

    var uuids: [String] { list.withLockedValue { $0 } }
}

extension RealSwitch {
    /// Waits until `condition` holds, polling every 10 ms; throws ``RealRayoTimeout`` after `timeout`.
    static func eventually(
        timeout: Duration = .seconds(20),
        _ what: String,
        _ condition: @Sendable () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw RealRayoTimeout("waited \(timeout) for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
