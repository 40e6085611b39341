import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves `GET /metrics` in Prometheus' text format over HTTP/1.1, for Prometheus to scrape.
///
/// Any other path is `404 Not Found`, any other method on `/metrics` `405 Method Not Allowed`; a request whose
/// headers exceed 8 KiB or that carries a body of more than 1 KiB is refused (`400` or `413`) and its connection
/// closed. Connections may be kept alive between scrapes; one idle for a minute is closed. It is a `Service`:
/// graceful shutdown closes the listening socket.
public final class MetricsServer: Service, Sendable {
    /// Where to listen.
    public let settings: MetricsSettings
    private let metrics: PrometheusMetrics
    private let refresh: @Sendable () -> Void
    private let logger: Logger
    private let group: any EventLoopGroup
    private let onBound: @Sendable (SocketAddress) -> Void
    private let bound = NIOLockedValueBox<SocketAddress?>(nil)

    /// How many bytes of headers a request may carry.
    static let maximumHeaderBytes = 8 * 1024
    /// How many bytes of body a request may carry (a scrape has none).
    static let maximumBodyBytes = 1024
    /// How long a kept-alive connection may stay silent.
    static let idleTimeout = TimeAmount.seconds(60)

    /// Creates the server; it binds when ``run()`` is called.
    ///
    /// - Parameters:
    ///   - refresh: Runs before each scrape, to set gauges that are read rather than recorded.
    ///   - onBound: Called with the bound address (useful with port 0).
    public init(
        settings: MetricsSettings,
        metrics: PrometheusMetrics,
        refresh: @escaping @Sendable () -> Void = {},
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.settings = settings
        self.metrics = metrics
        self.refresh = refresh
        self.logger = logger
        self.group = eventLoopGroup
        self.onBound = onBound
    }

    /// The bound address, once listening.
    public var localAddress: SocketAddress? { bound.withLockedValue { $0 } }

    /// Binds, serves until cancelled or shut down gracefully.
    ///
    /// - Throws: ``DaemonError/Code/listenerFailed`` naming the address when it cannot listen, e.g.
    ///   `metrics cannot listen on 127.0.0.1:9184: the address is already in use`.
    public func run() async throws {
        let (metrics, refresh) = (self.metrics, self.refresh)
        let exposition: @Sendable () -> [UInt8] = {
            refresh()
            return metrics.exposition()
        }
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        var limits = NIOHTTPDecoderLimitConfiguration()
                        limits.maxHeaderFieldSize = Self.maximumHeaderBytes
                        limits.maxHeaderListSize = Self.maximumHeaderBytes
                        limits.maxHeaderFieldCount = 100
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(IdleStateHandler(readTimeout: Self.idleTimeout))
                        try pipeline.configureHTTPServerPipeline(
                            withEncoderConfiguration: .init(),
                            withDecoderLimitConfiguration: limits
                        )
                        try pipeline.addHandler(MetricsHTTPHandler(exposition: exposition))
                    }
                }
                .bind(host: settings.bind, port: settings.port)
                .get()
        } catch {
            throw DaemonError(
                .listenerFailed,
                "metrics cannot listen on \(settings.bind):\(settings.port): \(Self.describe(bindError: error))"
            )
        }
        let address = channel.localAddress
        bound.withLockedValue { $0 = address }
        if let address {
            let port = address.port.map(String.init) ?? "\(settings.port)"
            logger.info("serving metrics on http://\(Self.hostText(settings.bind)):\(port)/metrics")
            onBound(address)
        }
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    private static func hostText(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// The reason a bind failed, in an operator's words rather than NIO's.
    static func describe(bindError error: any Error) -> String {
        if let error = error as? IOError {
            switch error.errnoCode {
            case EADDRINUSE: return "the address is already in use"
            case EACCES: return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
            case EADDRNOTAVAIL: return "the address is not one of this host's"
            default: return String(cString: strerror(error.errnoCode))
            }
        }
        if error is SocketAddressError { return "the address cannot be resolved" }
        return "\(error)"
    }
}

/// Answers HTTP/1.1 requests on one connection: `GET` (or `HEAD`) `/metrics` with the registry's text, anything
/// else with a short error. Runs on the connection's event loop.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let exposition: @Sendable () -> [UInt8]
    private var request: HTTPRequestHead?
    private var bodyBytes = 0
    /// Set once a response closed the connection: the rest of the request is ignored.
    private var closing = false
    /// How long a refused request's remaining bytes are read and discarded before the connection closes.
    static let refusedLinger = TimeAmount.seconds(2)

    init(exposition: @escaping @Sendable () -> [UInt8]) {
        self.exposition = exposition
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
            bodyBytes = 0
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if bodyBytes > MetricsServer.maximumBodyBytes, let head = request {
                respond(
                    to: head,
                    status: .payloadTooLarge,
                    text: "a request to this server carries no body\n",
                    keepAlive: false,
                    refusing: true,
                    context: context
                )
            }
        case .end:
            guard let head = request else { return }
            request = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.prefix { $0 != "?" }
        guard path == "/metrics" else {
            respond(to: head, status: .notFound, text: "not found: metrics are at /metrics\n", context: context)
            return
        }
        switch head.method {
        case .GET, .HEAD:
            respond(
                to: head,
                status: .ok,
                contentType: PrometheusMetrics.contentType,
                body: exposition(),
                context: context
            )
        default:
            respond(
                to: head,
                status: .methodNotAllowed,
                text: "only GET and HEAD are allowed\n",
                extraHeaders: [("Allow", "GET, HEAD")],
                context: context
            )
        }
    }

    private func respond(
        to head: HTTPRequestHead,
        status: HTTPResponseStatus,
        text: String,
        extraHeaders: [(String, String)] = [],
        keepAlive: Bool? = nil,
        refusing: Bool = false,
        context: ChannelHandlerContext
    ) {
        respond(
            to: head,
            status: status,
            contentType: "text/plain; charset=utf-8",
            body: Array(text.utf8),
            extraHeaders: extraHeaders,
            keepAlive: keepAlive,
            refusing: refusing,
            context: context
        )
    }

    private func respond(
        to head: HTTPRequestHead,
        status: HTTPResponseStatus,
        contentType: String,
        body: [UInt8],
        extraHeaders: [(String, String)] = [],
        keepAlive: Bool? = nil,
        refusing: Bool = false,
        context: ChannelHandlerContext
    ) {
        let keepAlive = keepAlive ?? head.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(contentsOf: extraHeaders)
        var response = HTTPResponseHead(version: head.version, status: status, headers: headers)
        response.headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if head.method != .HEAD {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
                promise: nil
            )
        }
        guard !keepAlive else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        closing = true
        let channel = context.channel
        guard refusing else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        // The rest of a refused request may still be arriving: closing now would reset the connection and the
        // client might never read the answer. Stop sending, discard what comes, close for good a little later.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        context.eventLoop.scheduleTask(in: Self.refusedLinger) { channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
