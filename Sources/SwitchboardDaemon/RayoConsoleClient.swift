import RayoServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The client side of the admin console (`switchboard rayo …`): one request over the daemon's control socket.
public enum RayoConsoleClient {
    /// Why the daemon could not be asked.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What went wrong, naming the socket.
        public var description: String
    }

    /// Sends `request` to the daemon listening on `path` and returns its answer. Blocks up to `timeoutSeconds`.
    public static func send(
        _ request: ConsoleRequest,
        to path: String,
        timeoutSeconds: Int = 30
    ) throws(Failure) -> ConsoleResponse {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(SystemError.describe(errno))") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "the control socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            throw Failure(
                description: "cannot reach the daemon's control socket \(path): \(SystemError.describe(errno)) "
                    + "(is switchboard running with rayo.control set, and may this user open the socket?)"
            )
        }

        var bytes = Array((request.line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes {
                write(descriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw Failure(description: "writing to \(path): \(SystemError.describe(errno))") }
            offset += written
        }

        var response = ConsoleResponse()
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                throw Failure(description: "no answer from the daemon on \(path): \(SystemError.describe(errno))")
            }
            if count == 0 { throw Failure(description: "the daemon closed \(path) before answering") }
            pending.append(contentsOf: chunk[..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if response.read(line: Substring(line)) { return response }
            }
        }
    }
}

extension RayoConsoleInvocation {
    /// Sends the request to the daemon; returns the lines to print and, for `-ERR`, the reason.
    public func send() throws(RayoConsoleClient.Failure) -> (lines: [String], failure: String?) {
        let response = try RayoConsoleClient.send(request, to: socketPath)
        return (response.lines, response.failure)
    }
}
