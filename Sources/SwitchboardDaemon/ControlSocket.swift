import Logging
import NIOCore
import NIOPosix
import RayoServer
import ServiceLifecycle
import SwitchboardDiagnostics

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The admin console's Unix domain socket (`rayo.control.socket`): accepts `switchboard rayo …` connections and
/// answers their ``RayoServer/ConsoleRequest`` lines with a ``RayoServer/ConsoleResponder``.
///
/// The socket file is created with the configured mode (0600, owner only, by default) and removed at shutdown. A
/// stale file left by a crashed daemon is replaced; a live daemon already serving the path is an error.
public struct ControlSocket: Service {
    /// The socket's path and mode.
    public let settings: RayoServerConfiguration.ControlSocket
    private let responder: any ConsoleResponder
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let onListening: @Sendable () -> Void

    /// Creates the service; it binds when run.
    public init(
        settings: RayoServerConfiguration.ControlSocket,
        responder: any ConsoleResponder,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.settings = settings
        self.responder = responder
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.onListening = onListening
    }

    /// Listens until graceful shutdown or cancellation, then removes the socket file.
    public func run() async throws {
        try Self.refuseIfServed(settings.path)
        // Create the socket file with no access for anyone but the owner, then widen to the configured mode.
        let previousMask = umask(0o177)
        let server: NIOAsyncChannel<AcceptedConsoleConnection, Never>
        do {
            server = try await ServerBootstrap(group: eventLoopGroup)
                .bind(unixDomainSocketPath: settings.path, cleanupExistingSocketFile: true) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(ConsoleLineDecoder(maximumBytes: ConsoleRequest.maximumLineBytes + 1))
                        )
                        return AcceptedConsoleConnection(
                            try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
                        )
                    }
                }
        } catch {
            umask(previousMask)
            throw DaemonError(
                .listenerFailed,
                "the Rayo control socket "
                    + SocketErrorDescription.listenFailure(error, on: settings.path)
            )
        }
        umask(previousMask)
        defer { unlink(settings.path) }
        guard chmod(settings.path, mode_t(settings.mode)) == 0 else {
            let reason = SystemError.describe(errno)
            try? await server.channel.close()
            throw DaemonError(.listenerFailed, "cannot set the mode of \(settings.path): \(reason)")
        }
        logger.info("Rayo admin console listening on \(settings.path)")
        onListening()
        // The accept loop ends when the listening channel closes: on graceful shutdown or cancellation.
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await self.serve(connection.channel) }
                        }
                    }
                }
            } onGracefulShutdown: {
                server.channel.close(promise: nil)
            }
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, Never>) async {
        do {
            try await connection.executeThenClose { lines in
                for try await var line in lines {
                    let text = line.readString(length: line.readableBytes) ?? ""
                    let response: ConsoleResponse
                    if text.utf8.count > ConsoleRequest.maximumLineBytes {
                        response = ConsoleResponse(failure: "the request is longer than 64 KiB")
                    } else {
                        switch Result(catching: { () throws(ConsoleRequest.ParseError) in
                            try ConsoleRequest.parse(Substring(text))
                        }) {
                        case .success(let request): response = await responder.respond(to: request)
                        case .failure(let error): response = ConsoleResponse(failure: error.description)
                        }
                    }
                    // Written on the channel and awaited, so that no answer is lost to the close that follows.
                    try await connection.channel.writeAndFlush(ByteBuffer(string: response.wireText))
                }
            }
        } catch {
            logger.debug("console connection ended: \(SocketErrorDescription(error).reason)")
        }
    }

    /// Fails when another process answers on `path`, so that a second daemon never steals a live console.
    private static func refuseIfServed(_ path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected == 0 {
            throw DaemonError(.listenerFailed, "another process already serves the Rayo control socket \(path)")
        }
    }
}

/// A console connection between its accept and its service. When the accept loop ends (shutdown, cancellation)
/// with connections accepted but not yet handed out, NIO drops them unserved (swift-nio#2813). Their inbound side
/// alone is wrapped (answers are written on the channel itself), because NIO traps when an unfinished outbound
/// writer is released; and this box closes a connection nobody served when it goes away.
final class AcceptedConsoleConnection: Sendable {
    let channel: NIOAsyncChannel<ByteBuffer, Never>

    init(_ channel: NIOAsyncChannel<ByteBuffer, Never>) {
        self.channel = channel
    }

    deinit {
        // A no-op for a connection that was served: `executeThenClose` closed it.
        channel.channel.close(promise: nil)
    }
}

/// Splits a byte stream into lines (without `\n`); a line longer than the limit is passed on as it is so far, for
/// the service to refuse, and the rest of it is skipped.
struct ConsoleLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maximumBytes: Int
    private var skipping = false

    init(maximumBytes: Int) {
        self.maximumBytes = maximumBytes
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        if let newline = view.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - view.startIndex
            let line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            if skipping {
                skipping = false
            } else {
                context.fireChannelRead(wrapInboundOut(line))
            }
            return .continue
        }
        if buffer.readableBytes >= maximumBytes {
            let line = buffer.readSlice(length: buffer.readableBytes)!
            if !skipping { context.fireChannelRead(wrapInboundOut(line)) }
            skipping = true
            return .continue
        }
        return .needMoreData
    }
}
