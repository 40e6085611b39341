import NIOCore

extension SocketAddress {
    /// `127.0.0.1:8021`, `[::1]:8021`, or a Unix domain socket's path: how every log line and error prints an
    /// address (never NIO's `[IPv4]127.0.0.1/127.0.0.1:8021`).
    public var loggable: String {
        switch self {
        case .v4: "\(ipAddress ?? "?"):\(port ?? 0)"
        case .v6: "[\(ipAddress ?? "?")]:\(port ?? 0)"
        case .unixDomainSocket: (pathname ?? "?").loggable
        }
    }

    /// A configured host and port as log lines print them: `127.0.0.1:8021`, `[::1]:8021`, `fs.example.net:8021`.
    public static func loggable(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host.loggable)]:\(port)" : "\(host.loggable):\(port)"
    }
}

/// A peer address rendered only when a log line is written (for metadata that most connections never log).
public struct LoggablePeer: CustomStringConvertible, Sendable {
    /// The address, when the socket has one.
    public var address: SocketAddress?

    /// Wraps an address.
    public init(address: SocketAddress?) { self.address = address }

    /// ``NIOCore/SocketAddress/loggable``, or `?`.
    public var description: String { address?.loggable ?? "?" }
}
