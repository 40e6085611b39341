import Foundation
import NIOConcurrencyHelpers

/// The `switchboard` daemon as a child process of the load command, with a `NOTIFY_SOCKET` of its own so that its
/// readiness and `STATUS=` lines (live outbound session count) can be read as systemd would.
final class DaemonChild: Sendable {
    /// The daemon's process id.
    let pid: Int32
    /// The daemon's log file.
    let logPath: String
    private let notifications: NotificationReader
    private let process: ProcessBox

    private init(pid: Int32, logPath: String, notifications: NotificationReader, process: ProcessBox) {
        self.pid = pid
        self.logPath = logPath
        self.notifications = notifications
        self.process = process
    }

    /// The `switchboard` binary built next to this program.
    static var siblingBinary: String {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("switchboard").path
    }

    /// Writes `configuration` into `directory`, starts `binary run --config …` and waits for `READY=1`.
    static func start(
        binary: String,
        configuration: String,
        directory: String,
        timeout: Duration
    ) async throws
        -> DaemonChild
    {
        guard access(binary, X_OK) == 0 else {
            throw BenchFailure("no switchboard binary at \(binary) (swift build -c release builds it)")
        }
        let configPath = "\(directory)/switchboard.json"
        try configuration.write(toFile: configPath, atomically: true, encoding: .utf8)
        let notifications = try NotificationReader(path: "\(directory)/notify.sock")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", configPath]
        process.environment = ["PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "NOTIFY_SOCKET": notifications.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let daemon = DaemonChild(
            pid: pid,
            logPath: "\(directory)/switchboard.log",
            notifications: notifications,
            process: ProcessBox(process)
        )
        let deadline = ContinuousClock.now + timeout
        while !notifications.isReady {
            guard daemon.isRunning else { throw BenchFailure("the daemon exited at start; see \(daemon.logPath)") }
            guard ContinuousClock.now < deadline else {
                daemon.kill()
                throw BenchFailure("the daemon did not send READY=1 within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return daemon
    }

    /// Whether the process still runs.
    var isRunning: Bool { process.isRunning }

    /// The session count of the latest `STATUS=` line (`…, N outbound sessions`), `nil` before the first one.
    var outboundSessions: Int? { notifications.outboundSessions }

    /// Waits until a `STATUS=` line says no outbound session is left; returns the last count seen.
    func waitForNoSessions(timeout: Duration) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if outboundSessions == 0 { return 0 }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return outboundSessions
    }

    /// SIGTERM, then waits for the exit (SIGKILL after `timeout`); returns the exit status.
    func stop(timeout: Duration) async -> Int32 {
        Glibc.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if isRunning { kill() }
        notifications.stop()
        return process.terminationStatus
    }

    /// SIGKILL.
    func kill() {
        if isRunning { Glibc.kill(pid, SIGKILL) }
        notifications.stop()
    }
}

/// A `Process` behind a lock, so that the child can be watched from any task.
private final class ProcessBox: Sendable {
    private let process: NIOLockedValueBox<Process>

    init(_ process: sending Process) { self.process = NIOLockedValueBox(process) }

    var isRunning: Bool { process.withLockedValue { $0.isRunning } }

    var terminationStatus: Int32 {
        process.withLockedValue { process in
            process.waitUntilExit()
            return process.terminationStatus
        }
    }
}

/// A datagram socket standing in for systemd's `NOTIFY_SOCKET`, read on a thread of its own.
final class NotificationReader: Sendable {
    let path: String
    private let descriptor: Int32
    private let state = NIOLockedValueBox(State())

    private struct State {
        var ready = false
        var outboundSessions: Int?
        var stopped = false
    }

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw BenchFailure("cannot bind \(path): \(String(cString: strerror(errno)))") }
        let reader = self
        Thread { reader.readUntilStopped() }.start()
    }

    var isReady: Bool { state.withLockedValue { $0.ready } }
    var outboundSessions: Int? { state.withLockedValue { $0.outboundSessions } }

    func stop() { state.withLockedValue { $0.stopped = true } }

    private func readUntilStopped() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !state.withLockedValue({ $0.stopped }) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { continue }
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            for line in text.split(separator: "\n") { record(line) }
        }
        close(descriptor)
        unlink(path)
    }

    /// Notes `READY=1`, and the count of a `STATUS=` line such as `1/1 inbound connected, 3 outbound sessions` or
    /// `1 outbound session`.
    private func record(_ line: Substring) {
        if line == "READY=1" { state.withLockedValue { $0.ready = true } }
        guard line.hasPrefix("STATUS="), let range = line.range(of: " outbound session") else { return }
        let before = line[line.index(line.startIndex, offsetBy: "STATUS=".count)..<range.lowerBound]
        let count = Int(before.split(whereSeparator: { $0 == " " || $0 == "," }).last ?? "")
        if let count { state.withLockedValue { $0.outboundSessions = count } }
    }
}
