import Foundation
import Logging
import Switchboard
import SwitchboardTesting
import Testing

@testable import SwitchboardDaemon

#if canImport(Glibc)
import Glibc
#endif

@Suite("The daemon's own words: status, socket activation, the log file")
struct DaemonWordsTests {
    @Test(
        "STATUS names only the kinds of listeners the daemon has",
        arguments: [
            (["events"], 1, 3, nil, "1/1 inbound connected, 3 outbound sessions"),
            ([], 1, 0, nil, "0 outbound sessions"),
            ([], 2, 1, nil, "1 outbound session"),
            (["events", "cdr"], 0, 0, nil, "1/2 inbound connected"),
            ([], 1, 2, "rayo: 1 client, 2 calls", "2 outbound sessions; rayo: 1 client, 2 calls"),
            ([], 0, 0, "rayo: 0 clients, 0 calls", "rayo: 0 clients, 0 calls"),
        ] as [([String], Int, Int, String?, String)]
    )
    func statusLine(inbound: [String], outbound: Int, sessions: Int, rayo: String?, expected: String) {
        let status = DaemonStatus()
        status.inbound("events", connected: true)
        let line = status.statusLine(
            inbound: Set(inbound),
            outboundListeners: outbound,
            outboundSessions: sessions,
            rayo: rayo
        )
        #expect(line == expected)
    }

    @Test("a socket systemd passed under a name no outbound listener has is named, with what was expected")
    func socketActivationMismatch() {
        #expect(SocketActivation.mismatches(inherited: ["ivr": 3], outboundListeners: ["ivr"]).isEmpty)
        #expect(SocketActivation.mismatches(inherited: [:], outboundListeners: ["ivr"]).isEmpty)
        #expect(
            SocketActivation.mismatches(inherited: ["calls": 3], outboundListeners: ["ivr", "rayo-calls"])
                == [
                    "socket activation: systemd passed a socket named 'calls' (descriptor 3), but no outbound listener "
                        + "has that name (outbound listeners: 'ivr', 'rayo-calls'); it is not used. Set "
                        + "FileDescriptorName= in the socket unit to the name of the listener that should serve it"
                ]
        )
        #expect(
            SocketActivation.mismatches(inherited: ["unknown": 4], outboundListeners: [])
                == [
                    "socket activation: systemd passed an unnamed socket (descriptor 4; the socket unit sets no "
                        + "FileDescriptorName=), but no outbound listener has that name (outbound listeners: none); it "
                        + "is not used. Set FileDescriptorName= in the socket unit to the name of the listener that "
                        + "should serve it"
                ]
        )
    }

    @Test("the log file handler keeps one entry on one line, whatever the message and metadata hold")
    func oneLinePerEntry() {
        let line = LogFileHandler.line(
            time: timespec(tv_sec: 0, tv_nsec: 0),
            level: .info,
            metadata: ["esl.notice": "The system is being shut down.\n", "call\nuuid": "a\rb"],
            message: "FreeSWITCH says\n2026-11-28T00:00:00.000Z critical forged\u{1B}[0m"
        )
        #expect(
            line
                == "1970-01-01T00:00:00.000Z info [call\\nuuid=a\\rb esl.notice=The system is being shut down.\\n] "
                + "FreeSWITCH says\\n2026-11-28T00:00:00.000Z critical forged\\u{1b}[0m"
        )
    }

    @Test("a log file that cannot be opened: the path and the reason in words")
    func logFileError() {
        #expect(
            LogFileError(.openFailed, path: "/var/log/switchboard/x.log", errno: EACCES).description
                == "cannot open log file /var/log/switchboard/x.log: permission denied"
        )
        #expect(
            LogFileError(.openFailed, path: "/var/log/missing/x.log", errno: ENOENT).description
                == "cannot open log file /var/log/missing/x.log: no such file or directory"
        )
    }

    @Test("a listener that cannot start: its own sentence, or the failure in words")
    func startFailure() {
        let busy = SwitchboardError(
            .listenFailed,
            "listener 'ivr' cannot listen on 127.0.0.1:8084: the address is already in use"
        )
        #expect(SupervisedListener.startFailure(busy, listener: "ivr") == busy.message)
        #expect(
            SupervisedListener.startFailure(SwitchboardError(.disconnected, "gone"), listener: "ivr")
                == "listener 'ivr' could not start: gone"
        )
    }
}

/// Reads the daemon's log file until a line matches or `timeout` passes; returns the lines.
private func waitForLogLine(
    _ path: String,
    timeout: Duration = .seconds(20),
    where matches: (String) -> Bool
) async throws -> [String] {
    let deadline = ContinuousClock.now + timeout
    while true {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        if lines.contains(where: matches) || ContinuousClock.now >= deadline { return lines }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// A line of the daemon's log without its timestamp: `warning [listener.name=events] …`.
private func withoutTime(_ line: String) -> String {
    String(line.drop { $0 != " " }.dropFirst())
}

@Suite(
    "What an operator reads from the switchboard binary",
    .serialized,
    .enabled(if: DaemonBinary.exists, "the switchboard binary is not built (run swift build first)")
)
struct DaemonErrorMessageTests {
    func inboundOnlyConfig(log: String, port: Int, password: String = "ClueCon", level: String = "info") -> String {
        """
        {
          "log": { "file": "\(log)", "level": "\(level)" },
          "listeners": [
            { "name": "events", "kind": "inbound", "handler": "event-logger",
              "host": "127.0.0.1", "port": \(port), "password": "\(password)",
              "reconnect": { "initialDelaySeconds": 0.5, "maxDelaySeconds": 4 } }
          ]
        }
        """
    }

    @Test("FreeSWITCH not running: a warning naming the listener, the address and the next attempt, once")
    func refused() async throws {
        let directory = try TemporaryDirectory()
        let down = try RefusingPort()
        let port = down.port
        let log = directory.file("switchboard.log")
        try inboundOnlyConfig(log: log, port: port, level: "debug").write(
            toFile: directory.file("c.json"),
            atomically: true,
            encoding: .utf8
        )
        let daemon = try DaemonProcess(arguments: ["run", "--config", directory.file("c.json")])
        let lines = try await waitForLogLine(log) { $0.contains("refused the connection") }
        // Let a few more attempts fail: they must not repeat the line.
        try await Task.sleep(for: .seconds(2))
        daemon.signal(SIGTERM)
        _ = await daemon.wait()
        withExtendedLifetime(down) {}
        let refused = lines.filter { $0.contains("refused") }.map(withoutTime)
        let all = try String(contentsOfFile: log, encoding: .utf8)
        #expect(
            refused.first?.wholeMatch(
                of: try Regex(
                    #"warning \[esl.peer=127\.0\.0\.1:\#(port) listener\.name=events\] listener 'events': FreeSWITCH at "#
                        + #"127\.0\.0\.1:\#(port) refused the connection; next attempt in (\d\d\d\d? ms|1 s)"#
                )
            ) != nil,
            "\(refused)"
        )
        // Every attempt has its line, the repeats at debug: a warning again only as a reminder (after a minute, on a
        // machine slow enough to take that long here) or after a failure in other words (a connect timing out).
        let failures = all.split(separator: "\n").map { withoutTime(String($0)) }.filter {
            $0.contains("listener 'events': ") && $0.contains("; next attempt in ")
        }
        #expect(failures.count >= 2, "\(all)")
        for (index, line) in failures.enumerated().dropFirst()
        where line.hasPrefix("warning") && line.contains("refused the connection") && !line.contains("(failing for ") {
            #expect(!failures[index - 1].contains("refused the connection"), "a repeated failure at warning: \(all)")
        }
        #expect(failures.dropFirst().contains { $0.hasPrefix("debug") && $0.contains("refused the connection") })
        #expect(!all.contains("SingleConnectionFailure") && !all.contains("errno") && !all.contains("[IPv4]"), "\(all)")
    }

    @Test("a wrong password: an error naming the listener, the switch and FreeSWITCH's reply; retried slowly")
    func wrongPassword() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        let log = directory.file("switchboard.log")
        try inboundOnlyConfig(log: log, port: fake.port, password: "wrong")
            .write(toFile: directory.file("c.json"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["run", "--config", directory.file("c.json")])
        let lines = try await waitForLogLine(log) { $0.contains("refused the password") }
        try await Task.sleep(for: .seconds(1))
        daemon.signal(SIGTERM)
        _ = await daemon.wait()
        let refused = try #require(lines.first { $0.contains("refused the password") })
        #expect(
            withoutTime(refused).wholeMatch(
                of: try Regex(
                    #"error \[esl.peer=127\.0\.0\.1:\#(fake.port) listener\.name=events\] listener 'events': FreeSWITCH "#
                        + #"at 127\.0\.0\.1:\#(fake.port) refused the password: -ERR invalid; next attempt in (3\.[2-9]|4) s"#
                )
            ) != nil,
            "\(refused)"
        )
        // The slow end of the backoff (the longest delay, 4 s, less up to 20 % jitter), not the 0.5 s of the others.
        await fake.stop()
    }

    @Test("a log file in a missing directory: the path and the reason, exit 1")
    func logFileMissingDirectory() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("missing/switchboard.log")
        try inboundOnlyConfig(log: log, port: try freePort())
            .write(toFile: directory.file("c.json"), atomically: true, encoding: .utf8)
        let (status, standardError) = await
            (try DaemonProcess(arguments: ["run", "--config", directory.file("c.json")]))
            .wait()
        #expect(status == 1)
        #expect(standardError == "switchboard: cannot open log file \(log): no such file or directory\n")
    }

    @Test("an outbound-only daemon's STATUS says nothing of inbound listeners")
    func statusWithoutInbound() async throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(in: directory)
        let config = """
            {
              "log": { "file": "\(directory.file("switchboard.log"))", "level": "info" },
              "listeners": [ { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": \(try freePort()) } ]
            }
            """
        try config.write(toFile: directory.file("c.json"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["run", "--config", directory.file("c.json")],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        let messages = await notify.collect(until: { $0.hasPrefix("STATUS=") }, timeout: .seconds(20))
        daemon.signal(SIGTERM)
        _ = await daemon.wait()
        #expect(messages.contains("STATUS=0 outbound sessions"), "\(messages)")
    }

    @Test(
        "socket activation under another name: the warning names both",
        .enabled(if: access("/usr/bin/systemd-socket-activate", X_OK) == 0, "systemd-socket-activate is not installed")
    )
    func socketActivationMismatch() async throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(in: directory)
        let log = directory.file("switchboard.log")
        let config = """
            {
              "log": { "file": "\(log)", "level": "info" },
              "listeners": [ { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": \(try freePort()) } ]
            }
            """
        try config.write(toFile: directory.file("c.json"), atomically: true, encoding: .utf8)
        let activationPort = try freePort()
        let activator = Process()
        activator.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        activator.arguments = [
            "-l", "127.0.0.1:\(activationPort)", "--fdname=calls", "-E", "NOTIFY_SOCKET=\(notify.path)",
            DaemonBinary.path, "run", "--config", directory.file("c.json"),
        ]
        activator.standardOutput = FileHandle.nullDevice
        activator.standardError = FileHandle.nullDevice
        try ChildProcesses.run(activator)
        defer { if activator.isRunning { kill(activator.processIdentifier, SIGKILL) } }
        // systemd-socket-activate starts the daemon on the first connection (once it listens itself).
        let deadline = ContinuousClock.now + .seconds(20)
        while access(log, F_OK) != 0 && ContinuousClock.now < deadline {
            _ = try? await CommandSocket.connect(
                port: activationPort,
                timeout: .seconds(1),
                logger: Logger(label: "probe")
            )
            try await Task.sleep(for: .milliseconds(100))
        }
        let lines = try await waitForLogLine(log) { $0.contains("socket activation") }
        kill(activator.processIdentifier, SIGTERM)
        _ = await finish(activator, within: .seconds(10))
        #expect(
            lines.map(withoutTime).contains(
                "warning socket activation: systemd passed a socket named 'calls' (descriptor 3), but no outbound "
                    + "listener has that name (outbound listeners: 'ivr'); it is not used. Set FileDescriptorName= in "
                    + "the socket unit to the name of the listener that should serve it"
            ),
            "\(lines)"
        )
    }
}

/// The binary run as user `nobody`, for the permission problems root never meets.
@Suite(
    "Permission problems, as an unprivileged user",
    .serialized,
    .enabled(if: DaemonBinary.exists, "the switchboard binary is not built (run swift build first)"),
    .enabled(
        if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0,
        "needs root and setpriv to run the binary as nobody"
    )
)
struct DaemonPermissionTests {
    /// Runs the binary as nobody (uid and gid 65534) with the config in a directory nobody can read.
    func runAsNobody(config: String) async throws -> (status: Int32, standardError: String) {
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        let path = directory.file("c.json")
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = [
            "--reuid=65534", "--regid=65534", "--clear-groups", DaemonBinary.path, "run", "--config", path,
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try ChildProcesses.run(process)
        let (status, text) = await finish(process, within: .seconds(20), output: errors)
        return (status, text)
    }

    @Test("a log file in a directory the daemon's user may not write: permission denied, with the path")
    func logFilePermissionDenied() async throws {
        let directory = try TemporaryDirectory()  // mode 0700, owned by root
        let log = directory.file("switchboard.log")
        let (status, standardError) = try await runAsNobody(
            config: """
                { "log": { "file": "\(log)" },
                  "listeners": [ { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": \(try freePort()) } ] }
                """
        )
        #expect(status == 1)
        #expect(standardError == "switchboard: cannot open log file \(log): permission denied\n")
    }

    @Test("a port below 1024 without the capability: permission denied, and what it takes")
    func privilegedPort() async throws {
        let (status, standardError) = try await runAsNobody(
            config: """
                { "listeners": [ { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": 84 } ] }
                """
        )
        #expect(status == 1)
        #expect(
            standardError.hasSuffix(
                "switchboard: listener 'ivr' cannot listen on 127.0.0.1:84: permission denied (ports below 1024 need "
                    + "root or the CAP_NET_BIND_SERVICE capability)\n"
            ),
            "\(standardError)"
        )
    }
}
