#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP port on 127.0.0.1 that refuses every connection for as long as this value lives: a socket is bound to it
/// but never listens, so a connect gets `ECONNREFUSED` and no other program can take the port meanwhile (a port that
/// was merely free a moment ago may be handed to the next listener that asks for one).
///
/// For testing what a client does when FreeSWITCH is down:
/// ```swift
/// let down = try RefusingPort()
/// let listener = InboundListener(configuration: .init(port: down.port), logger: logger)
/// ```
public final class RefusingPort: Sendable {
    /// The port.
    public let port: Int
    private let descriptor: Int32

    /// Binds a free port on 127.0.0.1 without listening on it.
    public init() throws(FakeSwitchError) {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw FakeSwitchError("cannot create a socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            close(descriptor)
            throw FakeSwitchError("cannot bind a port on 127.0.0.1: errno \(code)")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
