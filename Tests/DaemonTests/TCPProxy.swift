import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP proxy on 127.0.0.1 (port 0) in front of another port, whose path a test can break: ``cut()`` stops every
/// byte in both directions as a dead network path does (the sockets stay open, nothing arrives); ``restore()`` brings
/// the path back for new connections and closes those that lived through the cut, whose state a real middlebox would
/// have lost; ``reset()`` closes every connection at once, as a reset would.
final class TCPProxy: Sendable {
    /// The port to connect to instead of the upstream one.
    let port: Int
    private let upstreamPort: Int
    private let server: any Channel
    private let state: NIOLockedValueBox<State>

    private struct State {
        var forwarding = true
        /// Both ends of every connection, downstream and (once connected) upstream.
        var connections: [ObjectIdentifier: [any Channel]] = [:]
        var accepted = 0
    }

    private init(port: Int, upstreamPort: Int, server: any Channel) {
        self.port = port
        self.upstreamPort = upstreamPort
        self.server = server
        self.state = NIOLockedValueBox(State())
    }

    /// Connections accepted so far.
    var connectionsAccepted: Int { state.withLockedValue { $0.accepted } }

    /// Whether bytes flow.
    var isForwarding: Bool { state.withLockedValue { $0.forwarding } }

    /// Starts a proxy to `127.0.0.1:upstreamPort`.
    static func start(upstreamPort: Int) async throws -> TCPProxy {
        let registry = ProxySlot()
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { downstream in
                guard let proxy = registry.proxy else { return downstream.close() }
                return proxy.accept(downstream)
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let proxy = TCPProxy(
            port: server.localAddress?.port ?? 0,
            upstreamPort: upstreamPort,
            server: server
        )
        registry.proxy = proxy
        return proxy
    }

    /// Stops moving bytes; connections made meanwhile are accepted but never reach upstream.
    func cut() {
        state.withLockedValue { $0.forwarding = false }
    }

    /// Closes every connection that lived through the cut and lets new ones through.
    func restore() {
        let stale = state.withLockedValue { state -> [any Channel] in
            state.forwarding = true
            defer { state.connections = [:] }
            return state.connections.values.flatMap { $0 }
        }
        for channel in stale { channel.close(promise: nil) }
    }

    /// Closes every connection now; new ones go through.
    func reset() {
        restore()
    }

    /// Closes the listening socket and every connection.
    func stop() async {
        restore()
        try? await server.close()
    }

    private func accept(_ downstream: any Channel) -> EventLoopFuture<Void> {
        let key = ObjectIdentifier(downstream)
        let forwarding = state.withLockedValue { state -> Bool in
            state.accepted += 1
            state.connections[key] = [downstream]
            return state.forwarding
        }
        // During a cut the connection is held: nothing is read, nothing reaches upstream.
        guard forwarding else { return downstream.eventLoop.makeSucceededVoidFuture() }
        let proxy = self
        return ClientBootstrap(group: downstream.eventLoop)
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture {
                    try upstream.pipeline.syncOperations.addHandler(Relay(partner: downstream, proxy: proxy))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .flatMap { upstream in
                proxy.state.withLockedValue { $0.connections[key]?.append(upstream) }
                return downstream.eventLoop.makeCompletedFuture {
                    try downstream.pipeline.syncOperations.addHandler(Relay(partner: upstream, proxy: proxy))
                    downstream.setOption(.autoRead, value: true).whenComplete { _ in }
                }
            }
            .flatMapErrorThrowing { _ in
                downstream.close(promise: nil)
            }
    }

    /// Copies what one side reads to the other while the path is up; closing one side closes the other.
    private final class Relay: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        let partner: any Channel
        let proxy: TCPProxy

        init(partner: any Channel, proxy: TCPProxy) {
            self.partner = partner
            self.proxy = proxy
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            if proxy.isForwarding { partner.writeAndFlush(bytes, promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// Lets the child channel initializer reach the proxy, which exists only after binding.
private final class ProxySlot: Sendable {
    private let slot = NIOLockedValueBox<TCPProxy?>(nil)
    var proxy: TCPProxy? {
        get { slot.withLockedValue { $0 } }
        set { slot.withLockedValue { $0 = newValue } }
    }
}
