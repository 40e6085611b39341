import Foundation
import Handlers
import NIOConcurrencyHelpers
import Switchboard

#if canImport(Glibc)
import Glibc
#endif

/// The handlers the configuration tests know: those `switchboard` ships.
let testRegistry = HandlerRegistry(inbound: BundledHandlers.inbound, outbound: BundledHandlers.outbound)

/// Paths in this repository.
enum Repository {
    /// The package's root directory.
    static let root: String = {
        var components = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)  // Tests/DaemonTests/TestSupport.swift
        return components.joined(separator: "/")
    }()

    static func path(_ relative: String) -> String { "\(root)/\(relative)" }
}

/// The child processes the tests start, killed when the test process exits, whatever path a test took: a test that
/// fails, throws or stops early must not leave a daemon running after the run.
enum ChildProcesses {
    private static let started = NIOLockedValueBox<[pid_t]>([])
    private static let exitHook: Void = {
        atexit { ChildProcesses.killRemaining() }
    }()

    /// Starts `process` and remembers it.
    static func run(_ process: Process) throws {
        _ = exitHook
        try process.run()
        started.withLockedValue { $0.append(process.processIdentifier) }
    }

    /// Kills each remembered process that is still this process's child (so never a process that took a reused id).
    private static func killRemaining() {
        let me = getpid()
        for child in started.withLockedValue({ $0 }) where parent(of: child) == me {
            kill(child, SIGKILL)
        }
    }

    /// The parent process id of `process` from `/proc`, or `nil` once it is gone.
    private static func parent(of process: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(process)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (command)": the state, then the parent's id.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }
}

/// A directory under /tmp that is removed when the value is deinitialized.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/switchboard-daemon-tests.XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        path = String(cString: result)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// External programs the packaging tests run.
enum Tool {
    /// Where programs are looked for, and the PATH they run with.
    static let searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The full path of `name` in the system directories, or `nil` when it is not installed.
    static func path(_ name: String) -> String? {
        for directory in searchPath.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs a program to completion; standard output and standard error together.
    ///
    /// The program gets a fixed environment rather than this process's, which the systemd tests change meanwhile.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await offCooperativePool { try runBlocking(executable, arguments) }
    }

    private static func runBlocking(
        _ executable: String,
        _ arguments: [String]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = [
            "PATH": searchPath,
            "LC_ALL": "C.UTF-8",
            "HOME": "/tmp",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try ChildProcesses.run(process)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Waits up to `timeout` for `process` to exit, kills it if it has not, and reaps it; returns its status and what it
/// wrote to `output`. Reaping matters beyond the status: Foundation keeps a `Process` that nobody waited for in memory
/// for good (the address sanitizer's leak check lists it).
func finish(
    _ process: Process,
    within timeout: Duration,
    output: Pipe? = nil
) async -> (status: Int32, output: String) {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline {
        do { try await Task.sleep(for: .milliseconds(20)) } catch { break }
    }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    let text =
        (try? await offCooperativePool {
            process.waitUntilExit()
            return output.map { String(decoding: $0.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) } ?? ""
        }) ?? ""
    return (process.terminationStatus, text)
}

/// Runs blocking work (waiting on a child process or a socket) on a thread of its own.
///
/// Swift's cooperative pool has one thread per core, two on the CI machine: a test that blocks one of them for
/// seconds stalls every other test running in parallel, and their time-outs fire for no fault of the code.
func offCooperativePool<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Reads a whole file as text.
func contents(of path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
}
