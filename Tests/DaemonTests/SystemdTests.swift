import Logging
import NIOConcurrencyHelpers
import SwitchboardDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A bound `AF_UNIX` datagram socket standing in for systemd's notification socket.
private final class NotificationSocket {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        try #require(path.utf8.count < capacity)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0, "bind(\(path)): errno \(errno)")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// The next datagram, waiting up to five seconds; `nil` on time-out.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Whether a datagram is waiting right now.
    func hasPendingDatagram() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes {
            recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_PEEK))
        }
        return count >= 0
    }
}

/// Sets environment variables (`nil` unsets) for the duration of `body`, then restores them.
private func withEnvironment<Result>(
    _ variables: [String: String?],
    _ body: () throws -> Result
) rethrows -> Result {
    var saved: [String: String?] = [:]
    for (name, value) in variables {
        saved[name] = getenv(name).map { String(cString: $0) }
        if let value { setenv(name, value, 1) } else { unsetenv(name) }
    }
    defer {
        for (name, value) in saved {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }
    return try body()
}

/// Collects log messages, one line each: level, message, sorted metadata.
private final class LogCapture: Sendable {
    let messages = NIOLockedValueBox<[String]>([])

    var logger: Logger { Logger(label: "test") { _ in CapturingLogHandler(capture: self) } }
}

private struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        capture.messages.withLockedValue {
            $0.append("\(event.level) \(event.message) \(metadata.joined(separator: " "))")
        }
    }
}

/// These tests change the process environment (NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS), so they run one at a time.
@Suite("systemd integration", .serialized)
struct SystemdTests {
    @Test("READY, STATUS, WATCHDOG, RELOADING and STOPPING arrive as datagrams on NOTIFY_SOCKET")
    func notifications() throws {
        let directory = try TemporaryDirectory()
        let socket = try NotificationSocket(path: directory.file("notify"))
        let notifier = SystemdNotifier()
        try withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            #expect(notifier.isEnabled)
            try notifier.ready()
            #expect(socket.receive() == "READY=1")
            try notifier.status("1 inbound connected, 3 calls")
            #expect(socket.receive() == "STATUS=1 inbound connected, 3 calls")
            try notifier.watchdog()
            #expect(socket.receive() == "WATCHDOG=1")
            try notifier.reloading()
            let reloading = try #require(socket.receive())
            #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="))
            #expect(UInt64(reloading.split(separator: "=").last ?? "") ?? 0 > 0)
            try notifier.stopping()
            #expect(socket.receive() == "STOPPING=1")
        }
    }

    @Test("a status with line breaks cannot inject other assignments")
    func statusLineBreaks() throws {
        let directory = try TemporaryDirectory()
        let socket = try NotificationSocket(path: directory.file("notify"))
        try withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            try SystemdNotifier().status("draining\nREADY=1")
            #expect(socket.receive() == "STATUS=draining READY=1")
        }
    }

    @Test("an abstract-namespace NOTIFY_SOCKET (\"@…\") works too")
    func abstractSocket() throws {
        let name = "switchboard-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // The abstract address is a NUL byte followed by the name; bind it directly.
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer[0] = 0
            UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyBytes(from: name.utf8)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.utf8.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        try #require(bound == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        try withEnvironment(["NOTIFY_SOCKET": "@\(name)"]) {
            try SystemdNotifier().ready()
        }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        #expect(count > 0 && String(decoding: buffer[..<count], as: UTF8.self) == "READY=1")
    }

    @Test("without NOTIFY_SOCKET every notification does nothing")
    func noSocket() throws {
        let directory = try TemporaryDirectory()
        let socket = try NotificationSocket(path: directory.file("notify"))
        let notifier = SystemdNotifier()
        try withEnvironment(["NOTIFY_SOCKET": nil, "WATCHDOG_USEC": nil]) {
            #expect(!notifier.isEnabled)
            try notifier.ready()
            try notifier.status("idle")
            try notifier.watchdog()
            try notifier.reloading()
            try notifier.stopping()
            #expect(notifier.watchdogInterval == nil)
        }
        #expect(!socket.hasPendingDatagram())
    }

    @Test("a NOTIFY_SOCKET nobody listens on is an error")
    func deadSocket() throws {
        let directory = try TemporaryDirectory()
        try withEnvironment(["NOTIFY_SOCKET": directory.file("nobody")]) {
            let error = try #require(throws: SystemdError.self) { try SystemdNotifier().ready() }
            #expect(error.code == .notificationFailed)
            #expect(error.errno == ENOENT)
        }
    }

    @Test("the watchdog interval is WATCHDOG_USEC, for this process only")
    func watchdogInterval() throws {
        withEnvironment(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": nil]) {
            #expect(SystemdNotifier().watchdogInterval == .milliseconds(200))
        }
        withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"]) {
            #expect(SystemdNotifier().watchdogInterval == .seconds(30))
        }
        withEnvironment(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "\(getpid() + 1)"]) {
            #expect(SystemdNotifier().watchdogInterval == nil)
        }
        withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
            #expect(SystemdNotifier().watchdogInterval == nil)
        }
    }

    @Test("without LISTEN_FDS there are no inherited sockets")
    func noInheritedSockets() throws {
        let sockets = try withEnvironment(["LISTEN_FDS": nil, "LISTEN_PID": nil, "LISTEN_FDNAMES": nil]) {
            try SocketActivation.listeners(logger: Logger(label: "test"))
        }
        #expect(sockets.isEmpty)
    }

    @Test("LISTEN_FDS meant for another process is ignored")
    func socketsForAnotherProcess() throws {
        let environment: [String: String?] = [
            "LISTEN_FDS": "1", "LISTEN_PID": "\(getpid() + 1)", "LISTEN_FDNAMES": "ivr",
        ]
        let sockets = try withEnvironment(environment) { try SocketActivation.listeners(logger: Logger(label: "test")) }
        #expect(sockets.isEmpty)
    }

    @Test("inherited sockets are found by name; a repeated name keeps the first and is reported")
    func inheritedSockets() throws {
        // sd_listen_fds numbers the sockets from 3: make sure 3, 4 and 5 are open descriptors (in a test process they
        // usually are already), and put their close-on-exec flags back afterwards.
        var opened: [Int32] = []
        var savedFlags: [Int32: Int32] = [:]
        for descriptor: Int32 in 3...5 {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 {
                savedFlags[descriptor] = flags
            } else {
                let spare = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                try #require(spare >= 0)
                if spare != descriptor {
                    dup2(spare, descriptor)
                    close(spare)
                }
                opened.append(descriptor)
            }
        }
        defer {
            for descriptor in opened { close(descriptor) }
            for (descriptor, flags) in savedFlags { _ = fcntl(descriptor, F_SETFD, flags) }
        }

        let capture = LogCapture()
        let logger = capture.logger
        let environment: [String: String?] = [
            "LISTEN_FDS": "3", "LISTEN_PID": "\(getpid())", "LISTEN_FDNAMES": "ivr:events:ivr",
        ]
        let sockets = try withEnvironment(environment) {
            let sockets = try SocketActivation.listeners(logger: logger)
            // The variables are consumed: a second look finds nothing.
            #expect(getenv("LISTEN_FDS") == nil)
            #expect(getenv("LISTEN_FDNAMES") == nil)
            let again = try SocketActivation.listeners(logger: logger)
            #expect(again.isEmpty)
            return sockets
        }
        #expect(sockets == ["ivr": 3, "events": 4])
        let warnings = capture.messages.withLockedValue { $0 }
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("warning systemd passed two sockets with one name") == true)
        #expect(warnings.first?.contains("socket.fd=5 socket.name=ivr socket.used_fd=3") == true)
    }
}
