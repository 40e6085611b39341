import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import XMPP

/// A real XMPP client over a TCP socket, for tests and benchmarks: connect, STARTTLS, SASL (PLAIN, SCRAM-SHA-1,
/// SCRAM-SHA-256, with an optional authzid), resource binding, then stanzas.
///
/// Every stanza the server sends lands in an inbox; ``nextStanza(timeout:)`` takes the oldest, ``waitFor(timeout:where:)``
/// the oldest that matches (leaving the others), ``iq(_:timeout:)`` sends an iq with a fresh id and returns its
/// answer. Stream errors and the stream's end are observable (``streamError``, ``waitUntilClosed(timeout:)``). The
/// client is `Sendable`: the inbox is guarded by a lock, and its channel handler runs on the event loop.
///
/// ```swift
/// let client = try await XMPPTestClient.connect(host: "127.0.0.1", port: port, domain: "rayo.test")
/// let jid = try await client.login(username: "usera", password: "1")
/// let pong = try await client.iq(XMLElement("iq", ["type": "get"], children: [.element(ping)]))
/// ```
public final class XMPPTestClient: Sendable {
    /// How long a wait of the client lasts when the caller names no timeout: 5 seconds, multiplied by the number in
    /// the environment variable `SWITCHBOARD_TEST_TIME_SCALE` when it is set (`scripts/sanitize` sets it: the
    /// sanitizers slow every login and stanza several times over).
    public static let defaultTimeout: Duration = {
        let scale = ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_TIME_SCALE"].flatMap(Int.init) ?? 1
        return .seconds(5) * max(1, scale)
    }()

    /// The SASL mechanism a login uses.
    public enum Mechanism: String, Sendable, Hashable, CaseIterable {
        /// PLAIN (RFC 4616): the password in the clear (base64).
        case plain = "PLAIN"
        /// SCRAM-SHA-1 (RFC 5802).
        case scramSHA1 = "SCRAM-SHA-1"
        /// SCRAM-SHA-256 (RFC 7677).
        case scramSHA256 = "SCRAM-SHA-256"
    }

    /// How STARTTLS checks the server's certificate.
    public enum TLSTrust: Sendable {
        /// No check at all (tests with a throwaway certificate).
        case noVerification
        /// The server's chain must lead to one of these certificates and name the domain.
        case certificates([NIOSSLCertificate])
    }

    /// The domain the client's stream headers name.
    public let domain: String
    /// The client's socket.
    public let channel: any Channel
    private let inbox: XMPPTestClientInbox
    private let ids = NIOLockedValueBox(0)
    private let boundJID = NIOLockedValueBox<JID?>(nil)

    private init(domain: String, channel: any Channel, inbox: XMPPTestClientInbox) {
        self.domain = domain
        self.channel = channel
        self.inbox = inbox
    }

    /// Opens a TCP connection; nothing is sent yet (see ``openStream()`` or ``login(username:password:mechanism:authzid:resource:tls:)``).
    public static func connect(
        host: String,
        port: Int,
        domain: String,
        limits: XMLStreamLimits = XMLStreamLimits(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> XMPPTestClient {
        let inbox = XMPPTestClientInbox()
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        XMPPTestClientHandler(inbox: inbox, parser: XMLStreamParser(limits: limits))
                    )
                }
            }
            .connect(host: host, port: port)
            .get()
        return XMPPTestClient(domain: domain, channel: channel, inbox: inbox)
    }

    // MARK: Handshake

    /// Sends the client's stream header and returns the server's `<stream:features>`.
    @discardableResult
    public func openStream(timeout: Duration = XMPPTestClient.defaultTimeout) async throws -> XMLElement {
        send(raw: StreamHeader.client(to: domain))
        return try await waitFor(timeout: timeout) { $0.name == "features" && $0.namespace == XMPPNamespace.stream }
    }

    /// Negotiates STARTTLS on an open stream, opens the new stream, and returns its features.
    @discardableResult
    public func startTLS(
        _ trust: TLSTrust = .noVerification,
        timeout: Duration = XMPPTestClient.defaultTimeout
    ) async throws
        -> XMLElement
    {
        send(XMLElement("starttls", namespace: XMPPNamespace.tls))
        let answer = try await waitFor(timeout: timeout) { $0.namespace == XMPPNamespace.tls }
        guard answer.name == "proceed" else {
            throw XMPPTestClientError(.unexpectedReply, "the server refused STARTTLS", element: answer)
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch trust {
        case .noVerification:
            configuration.certificateVerification = .none
        case .certificates(let certificates):
            configuration.trustRoots = .certificates(certificates)
            configuration.certificateVerification = .fullVerification
        }
        let context = try NIOSSLContext(configuration: configuration)
        let domain = self.domain
        try await channel.eventLoop.submit { [channel] in
            let handler = try NIOSSLClientHandler(context: context, serverHostname: domain)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
        return try await openStream(timeout: timeout)
    }

    /// Authenticates on an open stream, restarts it, and returns the new stream's features.
    ///
    /// Throws ``XMPPTestClientError/Code-swift.struct/authenticationFailed`` with the server's `<failure>` element when
    /// the login is refused.
    @discardableResult
    public func authenticate(
        username: String,
        password: String,
        mechanism: Mechanism = .scramSHA256,
        authzid: String? = nil,
        timeout: Duration = XMPPTestClient.defaultTimeout
    ) async throws -> XMLElement {
        let isSASL: @Sendable (XMLElement) -> Bool = { $0.namespace == XMPPNamespace.sasl }
        switch mechanism {
        case .plain:
            let response = PLAINClient.initialResponse(authzid: authzid, username: username, password: password)
            send(Self.saslElement("auth", mechanism: mechanism, data: response))
            let answer = try await waitFor(timeout: timeout, where: isSASL)
            try Self.expectSuccess(answer)
        case .scramSHA1, .scramSHA256:
            var scram = SCRAMClient(
                hash: mechanism == .scramSHA1 ? .sha1 : .sha256,
                username: username,
                password: password,
                authzid: authzid
            )
            send(Self.saslElement("auth", mechanism: mechanism, data: scram.clientFirstMessage()))
            let challenge = try await waitFor(timeout: timeout, where: isSASL)
            guard challenge.name == "challenge" else {
                try Self.expectSuccess(challenge)
                throw XMPPTestClientError(.unexpectedReply, "SCRAM succeeded without a challenge", element: challenge)
            }
            let serverFirst = try Self.decode(challenge)
            let clientFinal: [UInt8]
            do {
                clientFinal = try scram.clientFinalMessage(serverFirst: serverFirst)
            } catch {
                throw XMPPTestClientError(.invalidServerData, "bad SCRAM server-first message: \(error)")
            }
            send(Self.saslElement("response", mechanism: nil, data: clientFinal))
            let outcome = try await waitFor(timeout: timeout, where: isSASL)
            try Self.expectSuccess(outcome)
            do {
                try scram.verify(serverFinal: try Self.decode(outcome))
            } catch let error as XMPPTestClientError {
                throw error
            } catch {
                throw XMPPTestClientError(.invalidServerData, "the server's SCRAM signature does not verify: \(error)")
            }
        }
        return try await openStream(timeout: timeout)
    }

    /// Binds a resource (the server picks one when `resource` is `nil`) and returns the full JID.
    @discardableResult
    public func bind(resource: String? = nil, timeout: Duration = XMPPTestClient.defaultTimeout) async throws -> JID {
        var bind = XMLElement("bind", namespace: XMPPNamespace.bind)
        if let resource { bind.append(XMLElement("resource", children: [.text(resource)])) }
        let reply = try await iq(XMLElement("iq", ["type": "set"], children: [.element(bind)]), timeout: timeout)
        guard reply[attribute: "type"] == "result",
            let text = reply.child("bind", namespace: XMPPNamespace.bind)?.child("jid")?.text,
            let jid = JID(text)
        else {
            throw XMPPTestClientError(.unexpectedReply, "resource binding failed", element: reply)
        }
        boundJID.withLockedValue { $0 = jid }
        return jid
    }

    /// The full JID bound by ``bind(resource:timeout:)``.
    public var jid: JID? { boundJID.withLockedValue { $0 } }

    /// Connects the whole way: stream, [STARTTLS], SASL, restart, bind, session. Returns the bound full JID.
    @discardableResult
    public func login(
        username: String,
        password: String,
        mechanism: Mechanism = .scramSHA256,
        authzid: String? = nil,
        resource: String? = nil,
        tls: TLSTrust? = nil,
        timeout: Duration = XMPPTestClient.defaultTimeout
    ) async throws -> JID {
        try await openStream(timeout: timeout)
        if let tls { try await startTLS(tls, timeout: timeout) }
        try await authenticate(
            username: username,
            password: password,
            mechanism: mechanism,
            authzid: authzid,
            timeout: timeout
        )
        let jid = try await bind(resource: resource, timeout: timeout)
        let session = XMLElement("session", namespace: XMPPNamespace.session)
        let reply = try await iq(XMLElement("iq", ["type": "set"], children: [.element(session)]), timeout: timeout)
        guard reply[attribute: "type"] == "result" else {
            throw XMPPTestClientError(.unexpectedReply, "the session iq failed", element: reply)
        }
        return jid
    }

    // MARK: Stanzas

    /// Sends an element (serialized in the `jabber:client` namespace).
    public func send(_ element: XMLElement) {
        send(raw: element.serialized(inScopeNamespace: XMPPNamespace.client))
    }

    /// Sends text exactly as given.
    public func send(raw text: String) {
        channel.writeAndFlush(ByteBuffer(string: text), promise: nil)
    }

    /// Sends broadcast presence: available with this `<show>` (`.chat` is how Rayo clients ask for offers), or
    /// available with no `<show>` when `nil`.
    public func sendPresence(show: ClientPresence.Show? = .chat) {
        var presence = XMLElement("presence")
        if let show { presence.append(XMLElement("show", children: [.text(show.rawValue)])) }
        send(presence)
    }

    /// Sends `<presence type='unavailable'/>`.
    public func sendUnavailablePresence() {
        send(XMLElement("presence", ["type": "unavailable"]))
    }

    /// Stanzas received that no wait has taken yet, oldest first (they stay in the inbox).
    public var unclaimedStanzas: [XMLElement] { inbox.unclaimed }

    /// Removes and returns every unclaimed stanza (a long benchmark keeps the inbox from growing this way).
    @discardableResult
    public func takeUnclaimedStanzas() -> [XMLElement] { inbox.takeUnclaimed() }

    /// The oldest stanza not yet taken.
    public func nextStanza(timeout: Duration = XMPPTestClient.defaultTimeout) async throws -> XMLElement {
        try await waitFor(timeout: timeout) { _ in true }
    }

    /// The oldest stanza that matches; stanzas that do not match stay in the inbox.
    public func waitFor(
        timeout: Duration = XMPPTestClient.defaultTimeout,
        where predicate: @escaping @Sendable (XMLElement) -> Bool
    ) async throws -> XMLElement {
        try await inbox.value(of: inbox.expect(where: predicate, timeout: timeout, on: channel.eventLoop))
    }

    /// Sends an iq with a fresh `id` (any `id` in `request` is replaced) and returns the reply with that id.
    public func iq(_ request: XMLElement, timeout: Duration = XMPPTestClient.defaultTimeout) async throws -> XMLElement
    {
        let id = nextID()
        var request = request
        request[attribute: "id"] = id
        // The wait is registered before the request leaves, so the reply cannot slip past it.
        let reply = inbox.expect(
            where: {
                $0.name == "iq" && $0[attribute: "id"] == id
                    && ($0[attribute: "type"] == "result" || $0[attribute: "type"] == "error")
            },
            timeout: timeout,
            on: channel.eventLoop
        )
        send(request)
        return try await inbox.value(of: reply)
    }

    /// A fresh stanza id (`c1`, `c2`, …).
    public func nextID() -> String {
        let id = ids.withLockedValue { value in
            value += 1
            return value
        }
        return "c\(id)"
    }

    // MARK: The stream's end

    /// The server's stream headers so far, in order (one per stream restart).
    public var streamHeaders: [XMLElement] { inbox.headers }

    /// The server's `<stream:error>`, if it sent one.
    public var streamError: XMLElement? { inbox.streamError }

    /// The condition of the server's stream error (`conflict`, `host-unknown`, …), if it sent one.
    public var streamErrorCondition: String? {
        streamError?.elements.first { $0.namespace == XMPPNamespace.streams && $0.name != "text" }?.name
    }

    /// Whether the server ended its stream (`</stream:stream>`) or the connection closed.
    public var isStreamClosed: Bool { inbox.isClosed }

    /// Waits until the server ends its stream or closes the connection.
    public func waitUntilClosed(timeout: Duration = XMPPTestClient.defaultTimeout) async throws {
        try await inbox.waitUntilClosed(timeout: timeout, on: channel.eventLoop)
    }

    /// Ends the stream (`</stream:stream>`), waits briefly for the server's, and closes the socket.
    public func close(timeout: Duration = .seconds(2)) async {
        if channel.isActive, !inbox.isClosed {
            send(raw: StreamHeader.closing)
            try? await waitUntilClosed(timeout: timeout)
        }
        try? await channel.close()
    }

    // MARK: Helpers

    private static func saslElement(_ name: String, mechanism: Mechanism?, data: [UInt8]) -> XMLElement {
        var element = XMLElement(name, namespace: XMPPNamespace.sasl)
        if let mechanism { element[attribute: "mechanism"] = mechanism.rawValue }
        element.append(text: data.isEmpty ? "=" : Data(data).base64EncodedString())
        return element
    }

    private static func expectSuccess(_ element: XMLElement) throws {
        guard element.name == "success" else {
            let condition = element.elements.first?.name ?? element.name
            throw XMPPTestClientError(
                .authenticationFailed,
                "the server refused the login: \(condition)",
                element: element
            )
        }
    }

    private static func decode(_ element: XMLElement) throws -> [UInt8] {
        let text = element.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty || text == "=" { return [] }
        guard let data = Data(base64Encoded: text) else {
            throw XMPPTestClientError(.invalidServerData, "<\(element.name)> does not hold base64", element: element)
        }
        return Array(data)
    }
}

/// The stanzas received and the tasks waiting for them, shared by the client's tasks and its channel handler.
final class XMPPTestClientInbox: Sendable {
    private struct Waiter {
        var id: Int
        var predicate: @Sendable (XMLElement) -> Bool
        var promise: EventLoopPromise<XMLElement>
        var timer: Scheduled<Void>
    }

    private struct State {
        var stanzas: [XMLElement] = []
        var waiters: [Waiter] = []
        var headers: [XMLElement] = []
        var streamError: XMLElement?
        var closeReason: String?
        var closeWaiters: [EventLoopPromise<Void>] = []
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    var headers: [XMLElement] { state.withLockedValue { $0.headers } }
    var streamError: XMLElement? { state.withLockedValue { $0.streamError } }
    var isClosed: Bool { state.withLockedValue { $0.closeReason != nil } }
    var unclaimed: [XMLElement] { state.withLockedValue { $0.stanzas } }

    func takeUnclaimed() -> [XMLElement] {
        state.withLockedValue { state in
            defer { state.stanzas.removeAll() }
            return state.stanzas
        }
    }

    // MARK: From the channel handler

    func received(header: XMLElement) {
        state.withLockedValue { $0.headers.append(header) }
    }

    func received(_ stanza: XMLElement) {
        let matched: Waiter? = state.withLockedValue { state in
            if stanza.name == "error", stanza.namespace == XMPPNamespace.stream { state.streamError = stanza }
            if let index = state.waiters.firstIndex(where: { $0.predicate(stanza) }) {
                return state.waiters.remove(at: index)
            }
            state.stanzas.append(stanza)
            return nil
        }
        if let matched {
            matched.timer.cancel()
            matched.promise.succeed(stanza)
        }
    }

    func closed(_ reason: String) {
        let (waiters, closeWaiters, streamError) = state.withLockedValue { state in
            if state.closeReason == nil { state.closeReason = reason }
            defer {
                state.waiters.removeAll()
                state.closeWaiters.removeAll()
            }
            return (state.waiters, state.closeWaiters, state.streamError)
        }
        for waiter in waiters {
            waiter.timer.cancel()
            waiter.promise.fail(
                XMPPTestClientError(.streamClosed, "\(reason) while waiting for a stanza", element: streamError)
            )
        }
        for waiter in closeWaiters { waiter.succeed() }
    }

    // MARK: From the client's tasks

    /// Registers a wait for the oldest stanza matching `predicate` (taken from the inbox at once if one is there).
    func expect(
        where predicate: @escaping @Sendable (XMLElement) -> Bool,
        timeout: Duration,
        on eventLoop: any EventLoop
    ) -> (id: Int, stanza: EventLoopFuture<XMLElement>) {
        let promise = eventLoop.makePromise(of: XMLElement.self)
        let id = state.withLockedValue { state -> Int in
            state.nextID += 1
            let id = state.nextID
            if let index = state.stanzas.firstIndex(where: predicate) {
                promise.succeed(state.stanzas.remove(at: index))
            } else if let reason = state.closeReason {
                promise.fail(
                    XMPPTestClientError(
                        .streamClosed,
                        "\(reason) before a matching stanza arrived",
                        element: state.streamError
                    )
                )
            } else {
                let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [self] in
                    self.expire(id, after: timeout)
                }
                state.waiters.append(Waiter(id: id, predicate: predicate, promise: promise, timer: timer))
            }
            return id
        }
        return (id, promise.futureResult)
    }

    /// Awaits a registered wait; cancelling the task fails it.
    func value(of expectation: (id: Int, stanza: EventLoopFuture<XMLElement>)) async throws -> XMLElement {
        try await withTaskCancellationHandler {
            try await expectation.stanza.get()
        } onCancel: {
            self.fail(expectation.id, with: CancellationError())
        }
    }

    func waitUntilClosed(timeout: Duration, on eventLoop: any EventLoop) async throws {
        let promise = eventLoop.makePromise(of: Void.self)
        let closed = state.withLockedValue { state -> Bool in
            if state.closeReason != nil { return true }
            state.closeWaiters.append(promise)
            return false
        }
        if closed { promise.succeed() }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(XMPPTestClientError(.timedOut, "the stream was still open after \(timeout)"))
        }
        defer { timer.cancel() }
        try await promise.futureResult.get()
    }

    private func expire(_ id: Int, after timeout: Duration) {
        let (waiter, unclaimed) = state.withLockedValue { state in
            (
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) },
                state.stanzas.map { $0.serialized(inScopeNamespace: XMPPNamespace.client) }
            )
        }
        let shown = unclaimed.isEmpty ? "none" : unclaimed.joined(separator: " ")
        waiter?.promise.fail(
            XMPPTestClientError(.timedOut, "no matching stanza within \(timeout); unclaimed stanzas: \(shown)")
        )
    }

    private func fail(_ id: Int, with error: any Error) {
        let waiter = state.withLockedValue { state in
            state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
        }
        waiter?.timer.cancel()
        waiter?.promise.fail(error)
    }
}

/// Parses the server's bytes into the inbox; restarts the parser after `<success/>` and `<proceed/>`.
final class XMPPTestClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let inbox: XMPPTestClientInbox
    private let parser: XMLStreamParser

    init(inbox: XMPPTestClientInbox, parser: XMLStreamParser) {
        self.inbox = inbox
        self.parser = parser
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let events: [XMLStreamEvent]
        do {
            events = try buffer.withUnsafeReadableBytes { bytes in
                Result { () throws(XMLStreamError) in try parser.parse(bytes) }
            }.get()
        } catch {
            inbox.closed("the server sent bad XML (\(error.message))")
            context.close(promise: nil)
            return
        }
        for event in events {
            switch event {
            case .streamStart(let header):
                inbox.received(header: header)
            case .stanza(let stanza):
                if (stanza.name == "success" && stanza.namespace == XMPPNamespace.sasl)
                    || (stanza.name == "proceed" && stanza.namespace == XMPPNamespace.tls)
                {
                    // The next bytes start a new stream (or a TLS handshake): a fresh parser.
                    parser.reset()
                }
                inbox.received(stanza)
            case .streamEnd:
                inbox.closed("the server ended the stream")
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.closed("connection error: \(error)")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.closed("the connection closed")
        context.fireChannelInactive()
    }
}
