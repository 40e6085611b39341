import Dispatch
import EventSocket
import Foundation
import Logging
import NIOConcurrencyHelpers
import Rayo
import RayoServer
import Switchboard
import SwitchboardTesting
import XMPP
import XMPPTesting

/// (f) iii: resident memory per connected client and per controlled call of the Rayo server. The fake switch and the
/// XMPP clients run in a child process (this program with `--rayo-switch-side`), so this process's VmRSS holds only
/// the server side: the c2s sessions, the Rayo service and its machine, the event socket connection, and the outbound
/// socket session each call is held on.
///
/// The two processes talk in lines: the child says `switch <port>`; then, per round, the parent says
/// `round <xmpp port> <call port> <clients> <calls>`, the child logs the clients in and says `clients`; the parent
/// measures and says `calls`, the child places the calls (offered to its first client only, `rayo_offer_to`), that
/// client answers every one, and the child says `calls`; the parent measures and says `end`, the child hangs the calls
/// up, closes the clients and says `ended`. `quit` ends the child.
struct RayoMemoryBenchmark {
    struct Result {
        var clients: Int
        var calls: Int
        var baselineKiB: Int
        var withClientsKiB: Int
        var withCallsKiB: Int
        var kibPerClient: Double { Double(withClientsKiB - baselineKiB) / Double(clients) }
        var kibPerCall: Double { Double(withCallsKiB - withClientsKiB) / Double(calls) }
    }

    let clients: Int
    let calls: Int
    let timeout: Duration
    let logger: Logger

    func run() async throws -> Result {
        let child = try RayoSwitchProcess.spawn()
        do {
            let greeting = try await child.expect("switch", timeout: timeout)
            guard let port = Int(greeting.dropFirst("switch ".count)) else {
                throw BenchFailure("the switch-side process said '\(greeting)'")
            }
            let server = try await RayoBenchServer.start(
                eventSocketPort: port,
                maxClients: clients + 20,
                timeout: timeout,
                logger: logger
            )
            do {
                // Warm-up: a small round through the whole path, so that first-use costs are not counted.
                _ = try await round(child, server, clients: 10, calls: 20)
                try await Task.sleep(for: .milliseconds(200))
                let baseline = try ProcessMemory.residentKiB()
                let (withClients, withCalls) = try await round(child, server, clients: clients, calls: calls)
                child.send("quit")
                try await child.finish(within: timeout)
                await server.stop()
                return Result(
                    clients: clients,
                    calls: calls,
                    baselineKiB: baseline,
                    withClientsKiB: withClients,
                    withCallsKiB: withCalls
                )
            } catch {
                await server.stop()
                throw error
            }
        } catch {
            child.terminate()
            throw error
        }
    }

    /// One round; returns VmRSS with the clients connected, then with the calls controlled as well.
    private func round(
        _ child: RayoSwitchProcess,
        _ server: RayoBenchServer,
        clients: Int,
        calls: Int
    ) async throws -> (Int, Int) {
        child.send("round \(server.xmppPort) \(server.callPort) \(clients) \(calls)")
        _ = try await child.expect("clients", timeout: timeout)
        try await waitUntil("\(clients) clients to be available", timeout: timeout) {
            server.availableClients >= clients
        }
        try await Task.sleep(for: .milliseconds(500))
        let withClients = try ProcessMemory.residentKiB()
        child.send("calls")
        _ = try await child.expect("calls", timeout: timeout)
        try await waitUntil("\(calls) calls to be controlled", timeout: timeout) { server.calls >= calls }
        try await Task.sleep(for: .milliseconds(500))
        let withCalls = try ProcessMemory.residentKiB()
        child.send("end")
        _ = try await child.expect("ended", timeout: timeout)
        try await waitUntil("the calls and clients of the round to be gone", timeout: timeout) {
            server.calls == 0 && server.availableClients == 0
        }
        return (withClients, withCalls)
    }
}

/// The child process of (f) iii, seen from the parent: its standard input and output as lines.
struct RayoSwitchProcess: Sendable {
    private let process: Process
    private let input: FileHandle
    private let output: LineReader

    static func spawn() throws -> RayoSwitchProcess {
        let process = Process()
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--rayo-switch-side"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        return RayoSwitchProcess(
            process: process,
            input: stdin.fileHandleForWriting,
            output: LineReader(stdout.fileHandleForReading)
        )
    }

    func send(_ line: String) {
        input.write(Data((line + "\n").utf8))
    }

    /// The next line, which must start with `word`; the child is killed when none comes within `timeout`.
    func expect(_ word: String, timeout: Duration) async throws -> String {
        let process = self.process
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            if process.isRunning { process.terminate() }
        }
        defer { watchdog.cancel() }
        guard let line = await output.readLine() else {
            throw BenchFailure("the switch-side process ended (or took over \(timeout)) before saying '\(word)'")
        }
        guard line.hasPrefix(word) else {
            throw BenchFailure("the switch-side process said '\(line)' instead of '\(word)'")
        }
        return line
    }

    func finish(within timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                terminate()
                throw BenchFailure("the switch-side process did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        guard process.terminationStatus == 0 else {
            throw BenchFailure("the switch-side process failed (status \(process.terminationStatus))")
        }
    }

    func terminate() {
        if process.isRunning { process.terminate() }
    }
}

/// Lines from a file handle, read on a dispatch thread so that the blocking read never holds a task thread.
final class LineReader: Sendable {
    private let handle: FileHandle
    private let pending = NIOLockedValueBox<[UInt8]>([])

    init(_ handle: FileHandle) { self.handle = handle }

    /// The next line without its newline; `nil` at the end of the stream.
    func readLine() async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: self.blockingReadLine())
            }
        }
    }

    private func blockingReadLine() -> String? {
        while true {
            let line: String? = pending.withLockedValue { bytes in
                guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                defer { bytes.removeSubrange(...newline) }
                return String(decoding: bytes[..<newline], as: UTF8.self)
            }
            if let line { return line }
            let data = handle.availableData
            if data.isEmpty { return nil }
            pending.withLockedValue { $0 += Array(data) }
        }
    }
}

/// The child process of (f) iii: the fake switch and the XMPP clients.
enum RayoSwitchSide {
    /// What the fake answers for the Rayo service's api commands.
    static func script(_ fake: FakeFreeSWITCH) {
        fake.answer(api: "show", with: .output(#"{"row_count":0}"#))
        fake.answer(api: "uuid_kill", with: .output("+OK\n"))
    }

    /// The child's whole life; returns its exit status.
    static func run(timeout: Duration) async -> Int32 {
        let commands = LineReader(FileHandle.standardInput)
        func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        do {
            let fake = try await FakeFreeSWITCH.start(options: FakeFreeSWITCH.Options(answersInboundSendmsg: true))
            script(fake)
            say("switch \(fake.port)")
            while let line = await commands.readLine() {
                let words = line.split(separator: " ").map(String.init)
                if words.first == "quit" { break }
                guard words.first == "round", words.count == 5, let xmppPort = Int(words[1]),
                    let callPort = Int(words[2]), let clients = Int(words[3]), let calls = Int(words[4])
                else { throw BenchFailure("the switch side did not understand '\(line)'") }
                try await round(
                    fake: fake,
                    xmppPort: xmppPort,
                    callPort: callPort,
                    clients: clients,
                    calls: calls,
                    commands: commands,
                    say: say,
                    timeout: timeout
                )
            }
            await fake.stop()
            return 0
        } catch {
            printError("rayo switch side: \(error)")
            return 1
        }
    }

    private static func round(
        fake: FakeFreeSWITCH,
        xmppPort: Int,
        callPort: Int,
        clients: Int,
        calls: Int,
        commands: LineReader,
        say: (String) -> Void,
        timeout: Duration
    ) async throws {
        let connected = try await RayoBenchClients.connect(
            count: clients,
            prefix: "m",
            port: xmppPort,
            timeout: timeout
        )
        say("clients")
        guard await commands.readLine() == "calls" else { throw BenchFailure("expected 'calls'") }
        let controller = connected[0]
        guard let jid = controller.jid?.description else { throw BenchFailure("the first client is not bound") }
        let script = CallScript(variables: [RayoService.offerToVariable: jid])
        var uuids: [String] = []
        var placed: [Task<CallRecord, any Error>] = []
        var answering: [Task<Void, any Error>] = []
        for index in 0..<calls {
            // Staggered so that the listener's accept backlog never overflows.
            if index > 0, index % 100 == 0 { try await Task.sleep(for: .milliseconds(20)) }
            let uuid = UUIDString.random()
            uuids.append(uuid)
            answering.append(
                Task {
                    _ = try await controller.waitFor(timeout: timeout) { RayoBenchClients.offeredUUID($0) == uuid }
                    let reply = try await controller.iq(RayoBenchClients.answer(uuid), timeout: timeout)
                    guard reply[attribute: "type"] == "result" else {
                        throw BenchFailure("answer failed: \(reply.serialized())")
                    }
                }
            )
            placed.append(Task { try await fake.placeCall(to: callPort, script: script, uuid: uuid, timeout: timeout) })
        }
        for task in answering { try await task.value }
        controller.takeUnclaimedStanzas()
        say("calls")
        guard await commands.readLine() == "end" else { throw BenchFailure("expected 'end'") }
        for uuid in uuids { RayoBenchClients.hangUp(uuid, on: fake) }
        for task in placed { _ = try await task.value }
        for client in connected { await client.close() }
        say("ended")
    }
}
