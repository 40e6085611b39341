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

/// A TCP port on 127.0.0.1 where a connect is never answered, as from a host behind a firewall that drops packets:
/// it listens with a full accept queue that is never drained (the kernel queues one connection at a backlog of 0,
/// and this value makes that one itself), so a further connect waits until the client's own timeout.
///
/// For testing what a client does when FreeSWITCH's host does not answer:
/// ```swift
/// let silent = try UnansweredPort()
/// let listener = InboundListener(configuration: .init(port: silent.port, connectTimeout: .seconds(1)), logger: logger)
/// ```
public final class UnansweredPort: Sendable {
    /// The port.
    public let port: Int
    private let listening: Int32
    private let queued: Int32

    /// Listens on a free port on 127.0.0.1 and fills its accept queue.
    public init() throws(FakeSwitchError) {
        #if canImport(Glibc)
        let kind = Int32(SOCK_STREAM.rawValue)
        #else
        let kind = SOCK_STREAM
        #endif
        let listening = socket(AF_INET, kind, 0)
        let queued = socket(AF_INET, kind, 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                listening >= 0 && queued >= 0 && bind(listening, $0, length) == 0
                    && getsockname(listening, $0, &length) == 0 && listen(listening, 0) == 0
                    && connect(queued, $0, length) == 0
            }
        }
        guard ready else {
            let code = errno
            close(queued)
            close(listening)
            throw FakeSwitchError("cannot set up a port that does not answer: errno \(code)")
        }
        self.listening = listening
        self.queued = queued
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(queued)
        close(listening)
    }
}
