#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether something answers on a TCP port: how tests that need a real FreeSWITCH decide to run or to skip with one
/// line (`.enabled(if: FreeSWITCHProbe.answers(), "no FreeSWITCH answers on 127.0.0.1:8021")`).
public enum FreeSWITCHProbe {
    /// A non-blocking IPv4 connect, then `poll` for writability for at most `timeout` (this process's wait, in whole
    /// milliseconds): `true` when the TCP handshake completed. The defaults are FreeSWITCH's event socket on this
    /// host.
    public static func answers(
        host: String = "127.0.0.1",
        port: UInt16 = 8021,
        timeout: Duration = .seconds(1)
    ) -> Bool {
        let (seconds, attoseconds) = timeout.components
        let timeoutMilliseconds = Int32(
            min(max(seconds, 0), 86_400) * 1000 + max(attoseconds, 0) / 1_000_000_000_000_000
        )
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL, 0) | O_NONBLOCK)

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return false }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                connect(descriptor, generic, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result == 0 { return true }
        guard errno == EINPROGRESS else { return false }

        var request = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&request, 1, timeoutMilliseconds) == 1 else { return false }
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else { return false }
        return socketError == 0
    }
}
