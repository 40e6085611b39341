import Logging
import NIOCore
import NIOSSL
import SwitchboardDiagnostics
import XMPP

/// One accepted client connection, as the rest of the server reaches it from any thread: routed stanzas, the
/// replacement of its session, the server's shutdown. Each request hops to the connection's event loop, so it is
/// ordered with the connection's own writes and never lands after the stream's closing tag.
final class XMPPConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<XMPPStreamHandler>

    init(channel: any Channel, handler: NIOLoopBound<XMPPStreamHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Writes a stanza that another session or the local service sent to this client.
    func deliver(_ serializedStanza: String) {
        onLoop { $0.deliver(serializedStanza) }
    }

    /// A new login bound the same full JID: end this stream with `conflict`.
    func replaced() {
        onLoop { $0.replaced() }
    }

    /// The server is stopping: end this stream with `system-shutdown`.
    func shutDown() {
        onLoop { $0.shutDown() }
    }

    private func onLoop(_ body: @escaping @Sendable (XMPPStreamHandler) -> Void) {
        let handler = self.handler
        if channel.eventLoop.inEventLoop {
            body(handler.value)
        } else {
            channel.eventLoop.execute { body(handler.value) }
        }
    }
}

/// What the stream handlers of one server share.
struct XMPPServerShared: Sendable {
    var settings: XMPPStreamStateMachine.Settings
    var registry: SessionRegistry
    var service: any XMPPLocalService
    var tls: NIOSSLContext?
    var streamLimits: XMLStreamLimits
    var closeTimeout: TimeAmount
}

/// The thin channel handler of a client connection: it feeds bytes to the ``XMLStreamParser``, the parser's events to
/// the ``XMPPStreamStateMachine``, and carries out the actions the machine returns (writes, STARTTLS, binding,
/// events to the local service, routing). One timer per connection serves the handshake timeout and the pings.
final class XMPPStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: XMPPStreamStateMachine
    private let parser: XMLStreamParser
    private let shared: XMPPServerShared
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var output: ByteBuffer
    private var session: BoundSession?
    private var connection: XMPPConnection?
    private var timer: Scheduled<Void>?
    private var closing = false
    /// Inside `channelRead`: stanzas routed to this client now (by itself, or by the service answering at once) join
    /// the pending output, so they leave after the answers already queued in this read.
    private var reading = false
    /// A flush of delivered stanzas is queued on the event loop.
    private var flushScheduled = false

    init(shared: XMPPServerShared, peer: [UInt8], logger: Logger) {
        self.shared = shared
        self.machine = XMPPStreamStateMachine(settings: shared.settings, peer: peer, now: .now())
        self.parser = XMLStreamParser(limits: shared.streamLimits)
        self.logger = logger
        self.output = ByteBuffer()
    }

    /// Set once by the server, right after the handler joined the pipeline: the handle routed stanzas arrive through.
    func attach(_ connection: XMPPConnection) {
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        output = context.channel.allocator.buffer(capacity: 1024)
        arm(at: machine.nextDeadline)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shutDownSession()
        self.context = nil
        // The connection holds this handler: let go of it, or every closed stream would stay in memory (found by
        // the address sanitizer's leak check).
        self.connection = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !machine.isClosed else { return }
        if machine.received(now: .now()) { arm(at: machine.nextDeadline) }
        reading = true
        defer { reading = false }
        let events: [XMLStreamEvent]
        do {
            events = try buffer.withUnsafeReadableBytes { bytes in
                Result { () throws(XMLStreamError) in try parser.parse(bytes) }
            }.get()
        } catch {
            perform(machine.parseFailed(error))
            flush()
            return
        }
        var restarted = false
        for event in events {
            if restarted {
                logger.warning("ignored data sent before the stream restart was answered")
                break
            }
            for action in machine.handle(event, contentNamespace: parser.streamContentNamespace) {
                if case .resetParser = action { restarted = true }
                if case .startTLS = action { restarted = true }
                perform(action)
            }
        }
        flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable, !closing {
            logger.warning("closing the connection: the client does not read what is sent to it")
            closing = true
            context.close(promise: nil)
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !closing {
            logger.info("closing the connection: \(String(describing: error).loggable)")
        }
        closing = true
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        shutDownSession()
        logger.debug("disconnected")
        context.fireChannelInactive()
    }

    // MARK: Requests from other threads (on the event loop)

    func deliver(_ serializedStanza: String) {
        guard let context, !machine.isClosed, !closing else { return }
        if reading {
            output.writeString(serializedStanza)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: serializedStanza.utf8.count)
        buffer.writeString(serializedStanza)
        context.write(wrapOutboundOut(buffer), promise: nil)
        // One flush (one system call) for a burst: the stanzas queued on the loop before it run first.
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            self.context?.flush()
        }
    }

    func replaced() {
        perform(machine.replaced())
        flush()
    }

    func shutDown() {
        perform(machine.shutDown())
        flush()
        if !closing, let context {
            // Not even a stream header yet, or already closed: just close.
            closing = true
            context.close(promise: nil)
        }
    }

    // MARK: Actions

    private func perform(_ actions: [XMPPStreamStateMachine.Action]) {
        for action in actions { perform(action) }
    }

    private func perform(_ action: XMPPStreamStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .send(let text):
            output.writeString(text)
        case .startTLS:
            flush()
            parser.reset()
            guard let tls = shared.tls else { return }
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
            } catch {
                logger.error("could not start TLS: \(String(describing: error).loggable)")
                closing = true
                context.close(promise: nil)
            }
        case .resetParser:
            parser.reset()
        case .bind(let jid):
            bind(jid)
        case .report(let event):
            session?.report(event)
        case .route(let stanza, let to):
            route(stanza, to: to)
        case .log(let level, let message):
            // Messages quote the wire: escaped once more here, so no log entry ever spans two lines.
            logger.log(level: level, "\(message.loggable(limit: 1_000))")
        case .close:
            close(context: context)
        }
    }

    /// A stanza for `<x>@domain[/r]`: to the users bound there, or, when there are none, to the local service (the
    /// address of a call, mixer or component).
    private func route(_ stanza: XMLElement, to: JID) {
        guard let session else { return }
        let targets = shared.registry.sessions(for: to)
        if targets.isEmpty {
            session.report(.stanza(stanza, from: session.jid))
        } else if stanza.name == "iq", to.isBare {
            // An iq to an account is the server's to answer (RFC 6121 §8.5.2.1.3), never fanned out to resources.
            if stanza[attribute: "type"] == "get" || stanza[attribute: "type"] == "set" {
                let reply = XMLElement.errorReply(to: stanza, error: StanzaError(.serviceUnavailable))
                output.writeString(reply.serialized(inScopeNamespace: XMPPNamespace.client))
            }
        } else {
            let text = stanza.serialized(inScopeNamespace: XMPPNamespace.client)
            for target in targets { target.connection.deliver(text) }
        }
    }

    private func bind(_ jid: JID) {
        guard let connection else { return }
        logger[metadataKey: "xmpp.jid"] = .string(jid.description.loggable)
        let session = BoundSession(jid: jid, connection: connection, service: shared.service)
        self.session = session
        if let previous = shared.registry.bind(session) {
            // The service hears of the old session's end before the new one's start.
            previous.reportOffline()
            previous.connection.replaced()
        }
        session.report(.online(jid))
        // The handshake timer gives way to the ping timer.
        arm(at: machine.nextDeadline)
    }

    private func flush() {
        guard let context, output.readableBytes > 0 else { return }
        let buffer = output
        output = context.channel.allocator.buffer(capacity: 1024)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// Writes what is pending, then closes; closes anyway after the close timeout if the client does not read.
    private func close(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        shutDownSession()
        let channel = context.channel
        let promise = context.eventLoop.makePromise(of: Void.self)
        if output.readableBytes > 0 {
            let buffer = output
            output.clear()
            context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
        } else {
            promise.succeed()
        }
        let fallback = context.eventLoop.scheduleTask(in: shared.closeTimeout) {
            channel.close(promise: nil)
        }
        promise.futureResult.whenComplete { _ in
            fallback.cancel()
            channel.close(promise: nil)
        }
    }

    /// The session is over: unregister it and tell the service, once.
    private func shutDownSession() {
        timer?.cancel()
        timer = nil
        guard let session else { return }
        self.session = nil
        shared.registry.unbind(session)
        session.reportOffline()
    }

    // MARK: Timer

    private func arm(at deadline: NIODeadline?) {
        timer?.cancel()
        timer = nil
        guard let deadline, let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            let (actions, next) = machine.timerFired(now: .now())
            perform(actions)
            flush()
            if !closing { arm(at: next) }
        }
    }
}
