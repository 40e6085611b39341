import Logging
import NIOConcurrencyHelpers
import RayoServer
import Switchboard
import SwitchboardDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Answers console requests from a script and remembers them.
private final class ScriptedResponder: ConsoleResponder {
    let received = NIOLockedValueBox<[ConsoleRequest]>([])

    func respond(to request: ConsoleRequest) async -> ConsoleResponse {
        received.withLockedValue { $0.append(request) }
        switch request {
        case .status:
            return ConsoleResponse(lines: ["clients: 1", "  usera@rayo.example.com/app available", ""])
        case .command(_, let xml):
            return ConsoleResponse(
                lines: ["<iq type='result'/>"],
                failure: xml.contains("bad") ? "the command failed" : nil
            )
        case .message, .presence:
            return ConsoleResponse()
        }
    }
}

/// A system call that failed in a test's raw client.
private struct SystemCallFailure: Error, CustomStringConvertible {
    let call: String
    let path: String
    var description: String { "\(call) to \(path) failed" }
}

@Suite("Rayo control socket")
struct ControlSocketTests {
    /// Runs a control socket at a fresh path until `body` returns.
    private func withControlSocket(
        mode: UInt32 = 0o600,
        _ body: @Sendable (String, ScriptedResponder) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("rayo.sock")
        let responder = ScriptedResponder()
        let (listening, signal) = AsyncStream.makeStream(of: Void.self)
        let socket = ControlSocket(
            settings: .init(path: path, mode: mode),
            responder: responder,
            logger: Logger(label: "test")
        ) { signal.yield() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await socket.run() }
            var iterator = listening.makeAsyncIterator()
            _ = await iterator.next()
            try await body(path, responder)
            group.cancelAll()
        }
        #expect(access(path, F_OK) != 0, "the socket file is removed at the end")
    }

    @Test("status, cmd, msg and presence go over the socket and their answers come back")
    func requestsAndAnswers() async throws {
        try await withControlSocket { path, responder in
            let status = try await consoleSend(.status, to: path)
            #expect(status == ConsoleResponse(lines: ["clients: 1", "  usera@rayo.example.com/app available", ""]))
            let reply = try await consoleSend(
                .command(to: "a@b", xml: "<answer xmlns='urn:xmpp:rayo:1'/>"),
                to: path
            )
            #expect(reply == ConsoleResponse(lines: ["<iq type='result'/>"]))
            let failed = try await consoleSend(.command(to: "a@b", xml: "<bad/>"), to: path)
            #expect(failed.failure == "the command failed")
            #expect(
                try await consoleSend(.message(to: "a@b/c", text: "hello\nthere"), to: path) == ConsoleResponse()
            )
            #expect(try await consoleSend(.presence(of: "a@b/c", online: false), to: path) == ConsoleResponse())
            #expect(
                responder.received.withLockedValue { $0 } == [
                    .status, .command(to: "a@b", xml: "<answer xmlns='urn:xmpp:rayo:1'/>"),
                    .command(to: "a@b", xml: "<bad/>"), .message(to: "a@b/c", text: "hello there"),
                    .presence(of: "a@b/c", online: false),
                ]
            )
        }
    }

    @Test("the socket file has the configured mode", arguments: [UInt32(0o600), 0o660])
    func mode(_ mode: UInt32) async throws {
        try await withControlSocket(mode: mode) { path, _ in
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(UInt32(info.st_mode) & 0o777 == mode)
            #expect((info.st_mode & S_IFMT) == S_IFSOCK)
        }
    }

    @Test("a malformed request gets -ERR and the connection still serves the next one")
    func malformedRequest() async throws {
        try await withControlSocket { path, _ in
            let answer = try await offCooperativePool { try rawExchange(path, "dance wildly\nstatus\n", finalLines: 2) }
            #expect(answer.first?.hasPrefix("-ERR unknown request") == true, "\(answer)")
            #expect(answer.last == "+OK", "\(answer)")
        }
    }

    @Test("a request longer than 64 KiB is refused")
    func oversizedRequest() async throws {
        try await withControlSocket { path, responder in
            let line = "msg a@b/c " + String(repeating: "x", count: 70_000) + "\nstatus\n"
            let answer = try await offCooperativePool { try rawExchange(path, line, finalLines: 2) }
            #expect(answer.first?.hasPrefix("-ERR the request is longer") == true, "\(answer.first ?? "")")
            #expect(answer.last == "+OK")
            #expect(responder.received.withLockedValue { $0 } == [.status])
        }
    }

    @Test("a second daemon does not take over a live console socket")
    func liveSocketIsNotStolen() async throws {
        try await withControlSocket { path, _ in
            let second = ControlSocket(
                settings: .init(path: path),
                responder: ScriptedResponder(),
                logger: Logger(label: "test")
            )
            await #expect(throws: DaemonError.self) { try await second.run() }
            let answer = try await consoleSend(.status, to: path)
            #expect(answer.failure == nil)
        }
    }

    @Test("connections accepted but not yet served when the socket stops are closed, not a crash")
    func unservedConnectionsAtStop() async throws {
        // NIO drops accepted connections still buffered when the accept loop ends; unfinished, their writers
        // trapped the process (swift-nio#2813). A burst of connections right before the stop leaves some buffered.
        for _ in 0..<5 {
            let descriptors = NIOLockedValueBox<[Int32]>([])
            try await withControlSocket { path, _ in
                for _ in 0..<64 {
                    let descriptor = try connectRaw(path)
                    descriptors.withLockedValue { $0.append(descriptor) }
                }
            }
            // Every connection is closed by the stopped socket: a read sees the end (or a reset, for one the
            // listener never took from the kernel's queue) within 10 s.
            for descriptor in descriptors.withLockedValue({ $0 }) {
                var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                #expect(poll(&waiting, 1, 10_000) == 1, "a connection left open after the stop")
                var byte: UInt8 = 0
                #expect(read(descriptor, &byte, 1) <= 0)
                close(descriptor)
            }
        }
    }

    @Test("the client names the socket when no daemon listens")
    func noDaemon() throws {
        #expect {
            _ = try RayoConsoleClient.send(.status, to: "/nonexistent/rayo.sock")
        } throws: { error in
            "\(error)".contains("/nonexistent/rayo.sock")
        }
    }

    /// The client's blocking exchange, off the cooperative pool (whose threads the responder needs).
    private func consoleSend(_ request: ConsoleRequest, to path: String) async throws -> ConsoleResponse {
        try await offCooperativePool { try RayoConsoleClient.send(request, to: path) }
    }

    /// A connected stream socket to `path`.
    private func connectRaw(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw SystemCallFailure(call: "connect", path: path)
        }
        return descriptor
    }

    /// Writes `text` to the socket and reads lines until `finalLines` lines starting with `+OK` or `-ERR` came.
    private func rawExchange(_ path: String, _ text: String, finalLines: Int) throws -> [String] {
        let descriptor = try connectRaw(path)
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            try #require(written > 0)
            offset += written
        }
        var lines: [String] = []
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while lines.filter({ $0.hasPrefix("+OK") || $0.hasPrefix("-ERR") }).count < finalLines {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            try #require(count > 0)
            pending += chunk[..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        return lines
    }
}

@Suite("Rayo console command line")
struct RayoConsoleInvocationTests {
    private let configuration: SwitchboardConfiguration = {
        var rayo = RayoServerConfiguration(domain: "rayo.example.com", users: [.init(name: "a", password: "1")])
        rayo.control = .init(path: "/run/rayo.sock")
        rayo.aliases = [
            .init(name: "answer", target: .call, xml: "<answer xmlns='urn:xmpp:rayo:1'/>"),
            .init(name: "ping", target: .server, xml: "<ping xmlns='urn:xmpp:ping'/>"),
            .init(name: "stop", target: .component, xml: "<stop xmlns='urn:xmpp:rayo:ext:1'/>"),
        ]
        return SwitchboardConfiguration(
            listeners: [.outbound(.init(name: "rayo", handler: "rayo"))],
            rayo: rayo
        )
    }()

    @Test("the verbs become requests")
    func verbs() throws {
        func request(_ words: [String]) throws -> ConsoleRequest {
            try RayoConsoleInvocation(words: words, configuration: configuration).request
        }
        #expect(try request(["status"]) == .status)
        #expect(
            try request(["cmd", "x@rayo.example.com", "<answer", "xmlns='urn:xmpp:rayo:1'/>"])
                == .command(to: "x@rayo.example.com", xml: "<answer xmlns='urn:xmpp:rayo:1'/>")
        )
        #expect(
            try request(["msg", "a@rayo.example.com/r", "hello", "there"])
                == .message(to: "a@rayo.example.com/r", text: "hello there")
        )
        #expect(
            try request(["presence", "a@rayo.example.com/r", "online"])
                == .presence(of: "a@rayo.example.com/r", online: true)
        )
        #expect(
            try RayoConsoleInvocation(words: ["status"], configuration: configuration).socketPath == "/run/rayo.sock"
        )
    }

    @Test("aliases expand from the configuration")
    func aliases() throws {
        func request(_ words: [String]) throws -> ConsoleRequest {
            try RayoConsoleInvocation(words: words, configuration: configuration).request
        }
        #expect(
            try request(["answer", "6f1d"])
                == .command(to: "6f1d@rayo.example.com", xml: "<answer xmlns='urn:xmpp:rayo:1'/>")
        )
        #expect(
            try request(["answer", "6f1d@other"])
                == .command(to: "6f1d@other", xml: "<answer xmlns='urn:xmpp:rayo:1'/>")
        )
        #expect(try request(["ping"]) == .command(to: "rayo.example.com", xml: "<ping xmlns='urn:xmpp:ping'/>"))
        #expect(
            try request(["stop", "c@rayo.example.com/1"])
                == .command(to: "c@rayo.example.com/1", xml: "<stop xmlns='urn:xmpp:rayo:ext:1'/>")
        )
    }

    @Test(
        "mistakes are explained",
        arguments: [
            ([String](), "usage"), (["status", "x"], "no arguments"), (["cmd", "x"], "cmd <jid> <xml>"),
            (["presence", "a@b/c", "away"], "online|offline"), (["dance", "x"], "aliases: answer, ping, stop"),
            (["answer"], "<call jid>"),
        ]
    )
    func mistakes(_ words: [String], _ expected: String) {
        #expect {
            _ = try RayoConsoleInvocation(words: words, configuration: configuration)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test("without rayo or control, the console says what is missing")
    func notConfigured() {
        var configuration = self.configuration
        configuration.rayo?.control = nil
        #expect(throws: RayoConsoleInvocation.Failure.self) {
            _ = try RayoConsoleInvocation(words: ["status"], configuration: configuration)
        }
        configuration.rayo = nil
        #expect(throws: RayoConsoleInvocation.Failure.self) {
            _ = try RayoConsoleInvocation(words: ["status"], configuration: configuration)
        }
    }
}
