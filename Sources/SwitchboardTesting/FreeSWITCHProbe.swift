#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether something answers on a TCP port: how tests that need a real FreeSWITCH decide to run or to skip with one
/// line (``TestSwitch`` uses it for the switch the environment names).
public enum FreeSWITCHProbe {
    /// A non-blocking connect to each address `host` resolves to (IPv4, IPv6 or a name), then `poll` for writability
    /// for at most `timeout` each (this process's wait, in whole milliseconds): `true` when a TCP handshake
    /// completed. The defaults are FreeSWITCH's event socket on this host.
    public static func answers(
        host: String = "127.0.0.1",
        port: UInt16 = 8021,
        timeout: Duration = .seconds(1)
    ) -> Bool {
        let (seconds, attoseconds) = timeout.components
        let timeoutMilliseconds = Int32(
            min(max(seconds, 0), 86_400) * 1000 + max(attoseconds, 0) / 1_000_000_000_000_000
        )
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let list else { return false }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if connects(current.pointee, timeoutMilliseconds: timeoutMilliseconds) { return true }
            entry = current.pointee.ai_next
        }
        return false
    }

    private static func connects(_ address: addrinfo, timeoutMilliseconds: Int32) -> Bool {
        let descriptor = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL, 0) | O_NONBLOCK)
        if connect(descriptor, address.ai_addr, address.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }

        var request = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&request, 1, timeoutMilliseconds) == 1 else { return false }
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else { return false }
        return socketError == 0
    }
}
