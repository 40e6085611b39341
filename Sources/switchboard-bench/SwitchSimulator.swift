import EventSocket
import Foundation
import NIOCore
import NIOPosix
import SwitchboardTesting

/// The switch side of (b) and (c) in a process of its own: `SwitchSimulator/switch-sim.c`, a single-threaded epoll
/// program built at run time with the system's C compiler (`$CC`, else `cc`, at `-O2`).
///
/// A separate process, because a switch in the measured process shares its cores and its scheduler with the code under
/// test (the bench's earlier in-process switch cost nearly as much per call as a bare listener). C, because the switch
/// side should cost as little as a switch can, so that the two shared cores go to the listener, and because it must
/// not share any code with what it measures. The frames it sends are the ones `FakeFreeSWITCH` builds, from the same
/// channel template: the bench writes them to a file the program reads (``OutboundTemplates``).
enum SwitchSimulator {
    /// The C source, in this package.
    static var sourcePath: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .appendingPathComponent("SwitchSimulator/switch-sim.c")
            .standardizedFileURL.path
    }

    /// A folder of this run's own, removed by ``cleanUp()``.
    static let workFolder = FileManager.default.temporaryDirectory
        .appendingPathComponent("switchboard-bench-\(getpid())").path

    /// The built program, or why it could not be built. Built once per run, on first use.
    private static let built: Result<String, BenchFailure> = Result { () throws(BenchFailure) in try compile() }

    /// The path of the built program.
    static func program() throws -> String { try built.get() }

    /// Removes the work folder.
    static func cleanUp() {
        try? FileManager.default.removeItem(atPath: workFolder)
    }

    private static func compile() throws(BenchFailure) -> String {
        guard FileManager.default.fileExists(atPath: sourcePath) else {
            throw BenchFailure("the switch simulator's source is not at \(sourcePath)")
        }
        let output = workFolder + "/switch-sim"
        let compiler = ProcessInfo.processInfo.environment["CC"] ?? "cc"
        do {
            try FileManager.default.createDirectory(atPath: workFolder, withIntermediateDirectories: true)
        } catch {
            throw BenchFailure("cannot create \(workFolder): \(error)")
        }
        let status = ChildProcess.spawn("/usr/bin/env", [compiler, "-O2", "-o", output, sourcePath]).wait()
        guard status == 0 else {
            throw BenchFailure("'\(compiler) -O2 -o \(output) \(sourcePath)' failed (wait status \(status))")
        }
        return output
    }

    /// Starts the program with `arguments`; it is killed if it is still running after `timeout`.
    static func start(_ arguments: [String], timeout: Duration) throws -> SimulatorProcess {
        try SimulatorProcess(program: try program(), arguments: arguments, timeout: timeout)
    }
}

/// A running switch simulator: lines to its standard input, lines from its standard output.
final class SimulatorProcess {
    private let child: ChildProcess
    private var pending: [UInt8] = []
    private let watchdog: Task<Void, Never>

    fileprivate init(program: String, arguments: [String], timeout: Duration) throws {
        let child = ChildProcess.spawn(program, arguments, pipes: true)
        guard child.pid > 0 else { throw BenchFailure("cannot start \(program): \(String(cString: strerror(errno)))") }
        self.child = child
        let pid = child.pid
        // A simulator that outlives its time is killed, which also ends a read that waits for it.
        self.watchdog = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            kill(pid, SIGKILL)
        }
    }

    /// The next line the program printed, without its line feed; `nil` once it closed its output.
    func readLine() async throws -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let fd = child.output
            // A blocking read, on NIO's thread pool: the cooperative pool's threads must stay free for the listener.
            let chunk = try await NIOThreadPool.singleton.runIfActive { () -> [UInt8] in
                var bytes = [UInt8](repeating: 0, count: 4096)
                let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                return count > 0 ? Array(bytes[..<count]) : []
            }
            if chunk.isEmpty { return nil }
            pending += chunk
        }
    }

    /// The next line, which must start with `word`; its words after that one.
    func expectLine(_ word: String) async throws -> [Substring] {
        guard let line = try await readLine() else {
            throw BenchFailure("the switch simulator ended before it printed '\(word)'")
        }
        let words = line.split(separator: " ")
        guard words.first.map(String.init) == word else {
            throw BenchFailure("the switch simulator printed '\(line)', expected '\(word) …'")
        }
        return Array(words.dropFirst())
    }

    /// The program's CPU seconds so far (`api` and `listen` modes answer the line "cpu").
    func cpuSeconds() async throws -> Double {
        try writeLine("cpu")
        guard let seconds = Double(try await expectLine("cpu").first ?? "") else {
            throw BenchFailure("the switch simulator printed no CPU time")
        }
        return seconds
    }

    /// Writes a line to the program's standard input.
    func writeLine(_ line: String) throws {
        var bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes {
                write(child.input, $0.baseAddress! + offset, $0.count - offset)
            }
            guard written > 0 else { throw BenchFailure("the switch simulator no longer reads its input") }
            offset += written
        }
    }

    /// Closes its input (which ends the `api` and `listen` modes) and waits for it to exit.
    func finish() async {
        close(child.input)
        let child = self.child
        _ = try? await NIOThreadPool.singleton.runIfActive { child.wait() }
        watchdog.cancel()
        close(child.output)
    }
}

/// A child process started with `fork` and `execv`. Not Foundation's `Process`: it starts children with
/// `posix_spawn`, whose `clone` flags valgrind cannot follow, and the bench is profiled under callgrind.
struct ChildProcess: Sendable {
    let pid: pid_t
    /// The write end of the child's standard input, or -1.
    let input: Int32
    /// The read end of the child's standard output, or -1.
    let output: Int32

    /// Starts `path` with `arguments`; with `pipes`, its standard input and output are pipes to this process,
    /// otherwise it shares this process's. `pid` is -1 when it could not be started.
    static func spawn(_ path: String, _ arguments: [String], pipes: Bool = false) -> ChildProcess {
        var toChild: [Int32] = [-1, -1]
        var fromChild: [Int32] = [-1, -1]
        if pipes {
            guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else {
                return ChildProcess(pid: -1, input: -1, output: -1)
            }
            // Not inherited by other children (the bench starts several); dup2 gives the child's copies without it.
            for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        // Everything the child needs is made before the fork: between fork and exec it may only make system calls.
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let pid = fork()
        if pid == 0 {
            if pipes {
                dup2(toChild[0], 0)
                dup2(fromChild[1], 1)
            }
            execv(path, argv)
            _exit(127)
        }
        if pipes {
            close(toChild[0])
            close(fromChild[1])
        }
        return ChildProcess(pid: pid, input: toChild[1], output: fromChild[0])
    }

    /// Waits for the child to exit; returns its wait status (0: exited with 0).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }
}

/// The frames the simulator's `outbound` mode sends, from `FakeFreeSWITCH`'s channel template, written as the records
/// `switch-sim.c` reads ("NAME LENGTH\n" + bytes + "\n"), with `UUIDMARKER` where the call's UUID goes.
enum OutboundTemplates {
    static let marker = "UUIDMARKER"
    static let eventNames = [
        "CHANNEL_PARK", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_ANSWER", "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
    ]

    /// Writes the templates file into the work folder and returns its path.
    static func write() throws -> String {
        func encoded(_ name: String) -> String {
            FakeEvent.channel(name, uuid: marker).headers.map { "\($0.name): \(PercentDecoding.encode($0.value))\n" }
                .joined()
        }
        var records: [(String, String)] = [
            (
                "CONNECT",
                encoded("CHANNEL_DATA")
                    + "Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n"
            )
        ]
        for name in eventNames { records.append((name, encoded(name))) }
        let text = records.map { "\($0.0) \($0.1.utf8.count)\n\($0.1)\n" }.joined()
        try FileManager.default.createDirectory(atPath: SwitchSimulator.workFolder, withIntermediateDirectories: true)
        let path = SwitchSimulator.workFolder + "/outbound-templates"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
