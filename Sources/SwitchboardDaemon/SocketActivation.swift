import CSystemd
import Logging
import SwitchboardDiagnostics

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The listening sockets systemd passed to the process (socket activation, `sd_listen_fds_with_names(3)`).
///
/// A socket unit names each socket with `FileDescriptorName=`; the daemon gives the socket named like an outbound
/// listener to that listener instead of binding one itself, so calls queue in the kernel across a restart.
public enum SocketActivation {
    /// The inherited sockets by name (`FileDescriptorName=`, or `"unknown"` when unnamed); empty when systemd
    /// passed none (`LISTEN_FDS` unset, or `LISTEN_PID` names another process).
    ///
    /// Reads and then unsets `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES`, so a second call returns nothing and
    /// child processes do not see them. When two sockets share a name, the first is kept and the others are
    /// reported on `logger` and left open, unused. The descriptors are close-on-exec.
    public static func listeners(logger: Logger) throws(SystemdError) -> [String: Int32] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count >= 0 else {
            throw SystemdError(
                .invalidEnvironment,
                "sd_listen_fds_with_names failed: \(SystemError.describe(-count))",
                errno: -count
            )
        }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        var sockets: [(name: String, descriptor: Int32)] = []
        for index in 0..<Int(count) {
            let name = names?[index].map { String(cString: $0) } ?? "unknown"
            sockets.append((name, SD_LISTEN_FDS_START + Int32(index)))
        }
        let (byName, duplicates) = byName(sockets)
        for duplicate in duplicates {
            logger.warning(
                "systemd passed two sockets with one name; the first is used, this one is ignored",
                metadata: [
                    "socket.name": "\(duplicate.name)",
                    "socket.fd": "\(duplicate.descriptor)",
                    "socket.used_fd": "\(byName[duplicate.name] ?? -1)",
                ]
            )
        }
        return byName
    }

    /// Warnings for sockets systemd passed that no outbound listener will use, naming what was passed and what the
    /// configuration expects, so that a socket unit whose `FileDescriptorName=` differs from the listener's name is
    /// not a silent mystery (the listener then binds its port itself, which the socket unit already holds).
    static func mismatches(inherited: [String: Int32], outboundListeners: [String]) -> [String] {
        guard !inherited.isEmpty else { return [] }
        let expected =
            outboundListeners.isEmpty ? "none" : outboundListeners.map { "'\($0.loggable)'" }.joined(separator: ", ")
        return inherited.sorted { $0.key < $1.key }.compactMap { name, descriptor in
            guard !outboundListeners.contains(name) else { return nil }
            let passed =
                name == "unknown"
                ? "an unnamed socket (descriptor \(descriptor); the socket unit sets no FileDescriptorName=)"
                : "a socket named '\(name.loggable)' (descriptor \(descriptor))"
            return "socket activation: systemd passed \(passed), but no outbound listener has that name "
                + "(outbound listeners: \(expected)); it is not used. Set FileDescriptorName= in the socket unit "
                + "to the name of the listener that should serve it"
        }
    }

    /// Sockets by name, the first of each name winning, and the ones left over.
    static func byName(
        _ sockets: [(name: String, descriptor: Int32)]
    ) -> (byName: [String: Int32], duplicates: [(name: String, descriptor: Int32)]) {
        var result: [String: Int32] = [:]
        var duplicates: [(name: String, descriptor: Int32)] = []
        for socket in sockets {
            if result[socket.name] == nil {
                result[socket.name] = socket.descriptor
            } else {
                duplicates.append(socket)
            }
        }
        return (result, duplicates)
    }
}
