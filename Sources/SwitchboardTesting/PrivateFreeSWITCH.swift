import Foundation
import Logging
import NIOConcurrencyHelpers
import Switchboard

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real FreeSWITCH of its own, started from an installed binary for one test or one load run: its own
/// configuration, database, log and event socket port in a temporary directory, so it can be restarted, frozen and
/// killed without disturbing a FreeSWITCH that other tests share.
///
/// Only what Switchboard's tests need is loaded (event socket, loopback calls, dialplan applications, tone streams),
/// so it starts in well under a second; nothing else binds a port (no SIP, no Rayo, no NAT mapping). Its dialplan
/// context `peertest` matches the shared test FreeSWITCH's: `loopback/outbound_<port>/peertest` hands the call to an
/// outbound listener on that port (`socket … async full`), `outbound_sync_<port>` without `async full`, and `park`,
/// `echo`, `tone` as there.
///
/// ```swift
/// guard PrivateFreeSWITCH.isInstalled else { return }
/// let freeswitch = try await PrivateFreeSWITCH.start(options: .init(heartbeatInterval: 1))
/// defer { Task { await freeswitch.stop() } }
/// freeswitch.freeze()          // SIGSTOP: the switch stops answering, its sockets stay open
/// freeswitch.thaw()            // SIGCONT
/// try await freeswitch.restart()
/// ```
public final class PrivateFreeSWITCH: Sendable {
    /// Where FreeSWITCH's `make install` (and the packages built from it) puts the binary.
    public static let installedBinary = "/usr/local/freeswitch/bin/freeswitch"

    /// Whether ``installedBinary`` exists and is executable: tests skip with one line when it does not.
    public static var isInstalled: Bool { access(installedBinary, X_OK) == 0 }

    /// How the private switch is configured.
    public struct Options: Sendable {
        /// The FreeSWITCH executable.
        public var binary: String
        /// The event socket password.
        public var password: String
        /// Seconds between HEARTBEAT events (`event-heartbeat-interval`; FreeSWITCH's default is 20).
        public var heartbeatInterval: Int
        /// `max-sessions`: channels at once (a loopback call is two).
        public var maxSessions: Int
        /// `sessions-per-second`: channels created per second (a loopback call creates two).
        public var sessionsPerSecond: Int
        /// The level of FreeSWITCH's own log file (`freeswitch.log` in ``PrivateFreeSWITCH/directory``).
        public var logLevel: String
        /// How long FreeSWITCH may take to answer on its event socket after it was started.
        public var startTimeout: Duration
        /// How long a graceful stop may take before the process is killed.
        public var stopTimeout: Duration

        /// Creates options; the defaults suit a functional test.
        public init(
            binary: String = PrivateFreeSWITCH.installedBinary,
            password: String = "ClueCon",
            heartbeatInterval: Int = 20,
            maxSessions: Int = 1000,
            sessionsPerSecond: Int = 1000,
            logLevel: String = "warning",
            startTimeout: Duration = .seconds(30),
            stopTimeout: Duration = .seconds(20)
        ) {
            self.binary = binary
            self.password = password
            self.heartbeatInterval = heartbeatInterval
            self.maxSessions = maxSessions
            self.sessionsPerSecond = sessionsPerSecond
            self.logLevel = logLevel
            self.startTimeout = startTimeout
            self.stopTimeout = stopTimeout
        }
    }

    /// The event socket port on 127.0.0.1.
    public let port: Int
    /// The options it runs with.
    public let options: Options
    /// The temporary directory holding its configuration, database, log and run files; removed by ``stop()``.
    public let directory: String
    private let logger: Logger
    private let process = NIOLockedValueBox<pid_t?>(nil)

    private init(port: Int, options: Options, directory: String, logger: Logger) {
        self.port = port
        self.options = options
        self.directory = directory
        self.logger = logger
    }

    /// The event socket password.
    public var password: String { options.password }

    /// The process id of the running FreeSWITCH, `nil` between a stop and a start.
    public var processID: pid_t? { process.withLockedValue { $0 } }

    /// FreeSWITCH's log file so far, for a failing test's message.
    public var logText: String {
        (try? String(contentsOfFile: "\(directory)/log/freeswitch.log", encoding: .utf8)) ?? ""
    }

    /// Writes a configuration into a fresh temporary directory, starts FreeSWITCH on a free port and returns once it
    /// answers `api status` as ready on its event socket.
    ///
    /// Instances left running by an earlier test process that died are killed first.
    /// - Throws: ``PrivateFreeSWITCHError`` when the binary is missing or the switch does not come up.
    public static func start(
        options: Options = Options(),
        logger: Logger = Logger(label: "switchboard.private-freeswitch")
    ) async throws -> PrivateFreeSWITCH {
        guard access(options.binary, X_OK) == 0 else {
            throw PrivateFreeSWITCHError(.notInstalled, "no FreeSWITCH binary at \(options.binary)")
        }
        PrivateDirectories.removeAbandoned()
        let directory = try PrivateDirectories.make()
        let freeswitch = PrivateFreeSWITCH(
            port: try freeLoopbackPort(),
            options: options,
            directory: directory,
            logger: logger
        )
        do {
            try freeswitch.writeConfiguration()
            try await freeswitch.launch()
        } catch {
            await freeswitch.stop()
            throw error
        }
        return freeswitch
    }

    /// Stops FreeSWITCH gracefully (SIGTERM, as a service manager would) when it runs, and starts it again on the
    /// same port with the same configuration and database; returns once it is ready. After ``crash()`` it only starts.
    public func restart() async throws {
        await terminate()
        try await launch()
    }

    /// Stops FreeSWITCH gracefully and leaves it stopped until ``restart()``.
    public func shutDown() async {
        await terminate()
    }

    /// Kills FreeSWITCH with SIGKILL, as a crash would: no goodbye on any socket.
    public func crash() async {
        guard let pid = processID else { return }
        _ = kill(pid, SIGKILL)
        await reap(pid, within: options.stopTimeout)
    }

    /// Stops the process with SIGSTOP: its sockets stay open and the kernel still accepts connections, but nothing
    /// answers: a hung switch. Returns once the process is stopped (up to 2 s): `kill` returns before the signal
    /// has stopped every thread, and a command sent in between may still be answered.
    public func freeze() {
        guard let pid = processID else { return }
        _ = kill(pid, SIGSTOP)
        let deadline = ContinuousClock.now + .seconds(2)
        while !Self.isStopped(pid), ContinuousClock.now < deadline { usleep(1_000) }
    }

    /// Whether `/proc` shows `pid` stopped by a signal (state `T`); `true` where there is no `/proc` to ask.
    private static func isStopped(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // After "pid (command) ": the state.
        guard let end = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).first == "T"
    }

    /// Lets a frozen process run again (SIGCONT).
    public func thaw() {
        if let pid = processID { _ = kill(pid, SIGCONT) }
    }

    /// Kills FreeSWITCH (SIGKILL: the instance is thrown away, so its graceful shutdown's seconds are not waited
    /// for) and removes its directory.
    public func stop() async {
        await crash()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit {
        if let pid = process.withLockedValue({ $0 }) {
            _ = kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    // MARK: - Process

    private func launch() async throws {
        let pid = try spawn()
        process.withLockedValue { $0 = pid }
        let deadline = ContinuousClock.now + options.startTimeout
        var lastProblem = "nothing answered"
        while ContinuousClock.now < deadline {
            if hasExited(pid) {
                process.withLockedValue { $0 = nil }
                throw PrivateFreeSWITCHError(
                    .startFailed,
                    "FreeSWITCH exited during start; its log ends with:\n\(logText.suffix(2000))"
                )
            }
            do {
                if try await answersAsReady() { return }
                lastProblem = "the event socket answered but FreeSWITCH was not ready yet"
            } catch {
                lastProblem = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await terminate()
        throw PrivateFreeSWITCHError(
            .startFailed,
            "FreeSWITCH did not come up on port \(port) within \(options.startTimeout) (\(lastProblem))"
        )
    }

    /// Whether our own instance (not some other program that took the port) answers `api status` as ready.
    private func answersAsReady() async throws -> Bool {
        var quiet = logger
        quiet.logLevel = .critical
        let socket = try await CommandSocket.connect(
            port: port,
            authentication: .password(options.password),
            timeout: .seconds(2),
            logger: quiet
        )
        defer { Task { await socket.close() } }
        let instance = try await socket.api("global_getvar", PrivateDirectories.instanceVariable, timeout: .seconds(2))
        guard instance.trimmingCharacters(in: .whitespacesAndNewlines) == directory else {
            throw PrivateFreeSWITCHError(.startFailed, "another program answers on port \(port)")
        }
        return try await socket.api("status", timeout: .seconds(2)).contains("is ready")
    }

    /// `freeswitch -nf -nc -nonat` with every directory it writes to inside ``directory``; output to `stdout.log`.
    private func spawn() throws -> pid_t {
        let arguments = [
            options.binary, "-nf", "-nc", "-nonat", "-nonatmap",
            "-conf", "\(directory)/conf", "-log", "\(directory)/log", "-db", "\(directory)/db",
            "-run", "\(directory)/run", "-temp", "\(directory)/temp", "-storage", "\(directory)/storage",
            "-cache", "\(directory)/cache", "-recordings", "\(directory)/recordings",
        ]
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &fileActions,
            1,
            "\(directory)/log/stdout.log",
            O_WRONLY | O_CREAT | O_APPEND,
            0o644
        )
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        // Nothing else of this process: an inherited listening socket would keep answering in FreeSWITCH after this
        // process closed it.
        guard let closeFrom = Self.addCloseFrom, closeFrom(&fileActions, 3) == 0 else {
            throw PrivateFreeSWITCHError(.startFailed, "posix_spawn_file_actions_addclosefrom_np is unavailable")
        }

        // The child starts with default signal handling and nothing blocked, whatever this process set up.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let variables = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=\(directory)"]
        let environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { for variable in environment { free(variable) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, options.binary, &fileActions, &attributes, argv, environment)
        guard result == 0 else {
            throw PrivateFreeSWITCHError(
                .startFailed,
                "cannot run \(options.binary): \(String(cString: strerror(result)))"
            )
        }
        try "\(getpid())\n\(pid)\n".write(
            toFile: "\(directory)/\(PrivateDirectories.ownerFile)",
            atomically: true,
            encoding: .utf8
        )
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc module does not
    /// import: looked up at run time.
    private static let addCloseFrom:
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
            else { return nil }
            return unsafeBitCast(
                symbol,
                to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self
            )
        }()

    /// SIGTERM (after SIGCONT, in case it is frozen), then SIGKILL if it is still there after the stop timeout.
    private func terminate() async {
        guard let pid = processID else { return }
        _ = kill(pid, SIGCONT)
        _ = kill(pid, SIGTERM)
        await reap(pid, within: options.stopTimeout)
    }

    /// Waits for `pid` to exit, killing it when `limit` passes; forgets it.
    private func reap(_ pid: pid_t, within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while !hasExited(pid) {
            if ContinuousClock.now >= deadline {
                logger.warning("FreeSWITCH (pid \(pid)) did not stop within \(limit); killing it")
                _ = kill(pid, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        process.withLockedValue { if $0 == pid { $0 = nil } }
    }

    /// Whether the child exited (reaping it), or is no child of ours any more.
    private func hasExited(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid || (result < 0 && errno == ECHILD)
    }

    // MARK: - Configuration

    private func writeConfiguration() throws {
        for folder in ["conf", "log", "db", "run", "temp", "storage", "cache", "recordings"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(folder)", withIntermediateDirectories: true)
        }
        try PrivateConfiguration.document(
            port: port,
            options: options,
            instance: directory
        ).write(toFile: "\(directory)/conf/freeswitch.xml", atomically: true, encoding: .utf8)
    }
}

/// Why a private FreeSWITCH could not be used.
public struct PrivateFreeSWITCHError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notInstalled
            case startFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The FreeSWITCH binary does not exist or is not executable.
        public static let notInstalled = Code(.notInstalled)
        /// FreeSWITCH exited during start or did not answer in time.
        public static let startFailed = Code(.startFailed)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "PrivateFreeSWITCHError.\(code): \(message)" }
}

/// The temporary directories of private instances, and the clean-up of those a dead test process left behind.
enum PrivateDirectories {
    static let prefix = "switchboard-freeswitch."
    /// The file holding the owning process id and FreeSWITCH's process id, one per line.
    static let ownerFile = "owner"
    /// A global variable set to the instance's directory, so a start can tell its own switch from another program.
    static let instanceVariable = "switchboard_private_instance"

    static func make() throws -> String {
        var template = Array("/tmp/\(prefix)XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw PrivateFreeSWITCHError(
                .startFailed,
                "cannot create a temporary directory: \(String(cString: strerror(errno)))"
            )
        }
        return String(cString: result)
    }

    /// Kills the FreeSWITCH of every private directory whose owning process is gone, and removes the directory.
    static func removeAbandoned() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for name in names where name.hasPrefix(prefix) {
            let path = "/tmp/\(name)"
            guard let owner = try? String(contentsOfFile: "\(path)/\(ownerFile)", encoding: .utf8) else { continue }
            let ids = owner.split(separator: "\n").compactMap { pid_t($0) }
            guard ids.count == 2, kill(ids[0], 0) != 0, errno == ESRCH else { continue }
            // Kill the switch only if that process id still runs a FreeSWITCH of this directory.
            let commandLine = (try? String(contentsOfFile: "/proc/\(ids[1])/cmdline", encoding: .utf8)) ?? ""
            if commandLine.contains(path) { _ = kill(ids[1], SIGKILL) }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// A free TCP port on 127.0.0.1 a moment ago (bound to port 0, read back, closed).
func freeLoopbackPort() throws -> Int {
    #if canImport(Glibc)
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let descriptor = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    defer { close(descriptor) }
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
        throw PrivateFreeSWITCHError(.startFailed, "no free port: \(String(cString: strerror(errno)))")
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
