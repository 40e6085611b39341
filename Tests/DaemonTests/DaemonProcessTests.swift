import EventSocket
import Foundation
import Logging
import Switchboard
import SwitchboardTesting
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `switchboard` binary, next to this test bundle (`swift build --build-tests` builds both).
enum DaemonBinary {
    static let path: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // Inside an .xctest bundle on some layouts the binary is one level deeper.
        if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("switchboard").path
    }()

    static var exists: Bool { access(path, X_OK) == 0 }
}

/// A datagram socket standing in for systemd's `NOTIFY_SOCKET`.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let descriptor: Int32

    init(in directory: TemporaryDirectory) throws {
        path = directory.file("notify.sock")
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit { close(descriptor) }

    /// Waits up to `timeout` for the next datagram.
    func receive(timeout: Duration) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout / .milliseconds(1))
        guard poll(&poller, 1, milliseconds) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Collects datagrams until one satisfies `done` or `timeout` passes; returns all of them.
    ///
    /// The waiting happens on a thread of its own, not on one of the cooperative pool's few threads.
    func collect(until done: @escaping @Sendable (String) -> Bool, timeout: Duration) async -> [String] {
        (try? await offCooperativePool { self.collectBlocking(until: done, timeout: timeout) }) ?? []
    }

    private func collectBlocking(until done: (String) -> Bool, timeout: Duration) -> [String] {
        var messages: [String] = []
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let message = receive(timeout: deadline - ContinuousClock.now) else { break }
            messages.append(message)
            if done(message) { break }
        }
        return messages
    }
}

/// The daemon as a child process.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    private let errorPipe = Pipe()

    init(arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: DaemonBinary.path)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"].merging(environment) { $1 }
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        try ChildProcesses.run(process)
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit (killing it after `timeout`); returns its status and standard error.
    func wait(timeout: Duration = .seconds(20)) async -> (status: Int32, standardError: String) {
        let (status, output) = await finish(process, within: timeout, output: errorPipe)
        return (status, output)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A TCP port that was free a moment ago.
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            guard bind(descriptor, $0, length) == 0, getsockname(descriptor, $0, &length) == 0 else {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A config for the daemon: the example's two listeners, pointed at a simulated switch and a free port.
func daemonConfig(logFile: String, inboundPort: Int, outboundPort: Int, drainSeconds: Int = 30) -> String {
    """
    {
      "log": { "file": "\(logFile)", "level": "info" },
      "listeners": [
        { "name": "events", "kind": "inbound", "handler": "event-logger",
          "host": "127.0.0.1", "port": \(inboundPort), "password": "ClueCon",
          "events": ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"],
          "filters": { "Caller-Context": ["default"] }, "format": "plain",
          "reconnect": { "initialDelaySeconds": 0.05, "maxDelaySeconds": 0.5 } },
        { "name": "ivr", "kind": "outbound", "handler": "demo-ivr",
          "bind": "127.0.0.1", "port": \(outboundPort), "drainSeconds": \(drainSeconds) }
      ]
    }
    """
}

@Suite(
    "The switchboard binary as a process",
    .serialized,
    .enabled(if: DaemonBinary.exists, "the switchboard binary is not built (run swift build first)")
)
struct DaemonProcessTests {
    @Test(
        "READY=1 arrives once listeners are up, then STATUS= and a steady WATCHDOG=1; SIGTERM gives STOPPING=1, exit 0"
    )
    func readinessWatchdogAndStop() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        let notify = try NotifySocket(in: directory)
        let config = directory.file("switchboard.json")
        try daemonConfig(logFile: directory.file("switchboard.log"), inboundPort: fake.port, outboundPort: freePort())
            .write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["run", "--config", config],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"]
        )
        let startup = await notify.collect(until: { $0.contains("READY=1") }, timeout: .seconds(20))
        #expect(startup.contains { $0.contains("READY=1") }, "no READY=1; got \(startup)")
        // Readiness means the inbound listener already reached the switch.
        #expect(fake.connectionsAccepted >= 1)
        let running = await notify.collect(until: { _ in false }, timeout: .seconds(1.5))
        #expect(running.filter { $0 == "WATCHDOG=1" }.count >= 4, "watchdog pings: \(running)")
        #expect(running.contains { $0.hasPrefix("STATUS=") } || startup.contains { $0.hasPrefix("STATUS=") })

        daemon.signal(SIGTERM)
        let stopping = await notify.collect(until: { $0.contains("STOPPING=1") }, timeout: .seconds(10))
        #expect(stopping.contains { $0.contains("STOPPING=1") })
        let (status, standardError) = await daemon.wait()
        #expect(status == 0, "exit status \(status): \(standardError)")
        await fake.stop()
    }

    @Test("SIGHUP after logrotate renamed the file: a new file is created and no line is lost or duplicated")
    func logReopen() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        let notify = try NotifySocket(in: directory)
        let log = directory.file("switchboard.log")
        let config = directory.file("switchboard.json")
        try daemonConfig(logFile: log, inboundPort: fake.port, outboundPort: freePort())
            .write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["run", "--config", config],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        _ = await notify.collect(until: { $0.contains("READY=1") }, timeout: .seconds(20))
        try await fake.waitForSubscribers()

        let total = 600
        for index in 0..<total {
            fake.emit(.channel("CHANNEL_ANSWER", uuid: "line-\(index)", extra: [("Caller-Context", "default")]))
            if index == total / 2 {
                // What logrotate does: rename, then HUP the main process.
                try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
                daemon.signal(SIGHUP)
            }
            if index % 50 == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        let lines: @Sendable () -> [String] = {
            let rotated = (try? String(contentsOfFile: log + ".1", encoding: .utf8)) ?? ""
            let current = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return (rotated + current).split(separator: "\n").map(String.init).filter {
                $0.contains("event CHANNEL_ANSWER line-")
            }
        }
        let deadline = ContinuousClock.now + .seconds(15)
        while lines().count < total && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        daemon.signal(SIGTERM)
        let (status, _) = await daemon.wait()
        #expect(status == 0)

        #expect(FileManager.default.fileExists(atPath: log), "SIGHUP did not create a new log file")
        let current = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(current.contains("reopened the log file"))
        let seen = lines().compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(seen.count == total, "lines: \(seen.count) of \(total)")
        #expect(Set(seen) == Set((0..<total).map { "line-\($0)" }))
        await fake.stop()
    }

    @Test("SIGTERM during a live call: the call finishes, then STOPPING=1 and exit 0")
    func drainOnSIGTERM() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        let notify = try NotifySocket(in: directory)
        let port = try freePort()
        let config = directory.file("switchboard.json")
        try daemonConfig(logFile: directory.file("switchboard.log"), inboundPort: fake.port, outboundPort: port)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["run", "--config", config],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        _ = await notify.collect(until: { $0.contains("READY=1") }, timeout: .seconds(20))

        // Each of demo-ivr's five applications takes 300 ms: SIGTERM lands in the middle of the call.
        let call = Task {
            try await fake.placeCall(
                to: port,
                script: CallScript(digits: "42#", applicationDuration: .milliseconds(300))
            )
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while fake.applicationsStarted < 2 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        daemon.signal(SIGTERM)
        let record = try await call.value
        #expect(record.applications.map(\.name) == ["answer", "play_and_get_digits", "set", "playback", "hangup"])
        #expect(record.variables["switchboard_result"] == "42")
        let stopping = await notify.collect(until: { $0.contains("STOPPING=1") }, timeout: .seconds(10))
        #expect(stopping.contains { $0.contains("STOPPING=1") })
        let (status, standardError) = await daemon.wait()
        #expect(status == 0, "exit status \(status): \(standardError)")
        // New calls were refused once draining began.
        await #expect(throws: (any Error).self) { _ = try await fake.placeCall(to: port, timeout: .seconds(2)) }
        await fake.stop()
    }

    @Test(
        "socket activation: the outbound listener serves the socket systemd passed under its name",
        .enabled(if: access("/usr/bin/systemd-socket-activate", X_OK) == 0, "systemd-socket-activate is not installed")
    )
    func socketActivation() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        let notify = try NotifySocket(in: directory)
        let port = try freePort()
        // The config names a port nobody listens on: the call can only arrive through the inherited socket.
        let unusedPort = try freePort()
        let config = directory.file("switchboard.json")
        try daemonConfig(logFile: directory.file("switchboard.log"), inboundPort: fake.port, outboundPort: unusedPort)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let activator = Process()
        activator.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        activator.arguments = [
            "-l", "127.0.0.1:\(port)", "--fdname=ivr", "-E", "NOTIFY_SOCKET=\(notify.path)",
            DaemonBinary.path, "run", "--config", config,
        ]
        activator.standardOutput = FileHandle.nullDevice
        activator.standardError = FileHandle.nullDevice
        try ChildProcesses.run(activator)
        defer { if activator.isRunning { kill(activator.processIdentifier, SIGKILL) } }
        // systemd-socket-activate starts the daemon on the first connection: this call.
        var record: CallRecord?
        let deadline = ContinuousClock.now + .seconds(20)
        while record == nil && ContinuousClock.now < deadline {
            record = try? await fake.placeCall(to: port, script: CallScript(digits: "7#"), timeout: .seconds(15))
            if record == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let call = try #require(record)
        #expect(call.variables["switchboard_result"] == "7")
        let log = (try? String(contentsOfFile: directory.file("switchboard.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("using the socket systemd passed"))
        kill(activator.processIdentifier, SIGTERM)
        let (status, _) = await finish(activator, within: .seconds(10))
        #expect(status == 0, "systemd-socket-activate and the daemon did not stop on SIGTERM within 10 s")
        await fake.stop()
    }

    @Test(
        "a bad config exits non-zero before binding, naming the key",
        arguments: [
            (#"{"listeners": [{"name": "a", "kind": "outbound", "handler": "nope"}]}"#, "listeners[0].handler"),
            (#"{"listeners": [{"name": "a", "kind": "outbound", "handler": "event-logger"}]}"#, "listeners[0].handler"),
            (
                #"{"listeners": [{"name": "a", "kind": "inbound", "handler": "event-logger", "port": "x"}]}"#,
                "listeners[0].port"
            ),
            (#"{"listeners": [], "colour": 1}"#, "colour"),
            ("{\"listeners\": [\n  {\"name\": }\n]}", "line 2"),
        ]
    )
    func badConfig(json: String, expected: String) async throws {
        let directory = try TemporaryDirectory()
        let config = directory.file("bad.json")
        try json.write(toFile: config, atomically: true, encoding: .utf8)
        for command in ["run", "check-config"] {
            let daemon = try DaemonProcess(arguments: [command, "--config", config])
            let (status, standardError) = await daemon.wait()
            #expect(status != 0, "\(command) accepted a bad config")
            #expect(standardError.contains(expected), "\(command): \(standardError)")
        }
    }

    @Test("a bad demo-ivr setting: check-config and run print each problem with its key path and line, exit 2")
    func badHandlerSetting() async throws {
        let directory = try TemporaryDirectory()
        let config = directory.file("ivr.json")
        let json = """
            {
              "listeners": [
                { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": 8084,
                  "settings": { "maxDigits": 0, "timeoutSeconds": "5" } }
              ]
            }
            """
        try json.write(toFile: config, atomically: true, encoding: .utf8)
        for command in ["check-config", "run"] {
            let daemon = try DaemonProcess(arguments: [command, "--config", config])
            let (status, standardError) = await daemon.wait()
            #expect(status == 2, "\(command): \(standardError)")
            #expect(
                standardError == """
                    \(config): invalid configuration, 2 problems
                      listeners[0].settings.maxDigits (line 4, column 34): must be from 1 to 128, found 0
                      listeners[0].settings.timeoutSeconds (line 4, column 55): must be a number, found a string "5"

                    """,
                "\(command)"
            )
        }
    }

    @Test("`switchboard handlers` lists each handler's settings keys")
    func handlersListSettings() async throws {
        let (status, output) = try await Tool.run(DaemonBinary.path, ["handlers"])
        #expect(status == 0)
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            lines.contains(
                "settings: prompt, invalidPrompt, endPrompt, minDigits, maxDigits, tries, timeoutSeconds, terminators, "
                    + "resultVariable"
            ),
            "\(output)"
        )
        #expect(lines.contains("settings: events"), "\(output)")
    }

    @Test("an outbound port already in use is a clear error and a non-zero exit")
    func busyPort() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        // Hold a listening socket on the port the config names.
        let blocker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blocker) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(blocker, $0, length) + listen(blocker, 1) + getsockname(blocker, $0, &length)
            }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let config = directory.file("switchboard.json")
        try daemonConfig(logFile: directory.file("switchboard.log"), inboundPort: fake.port, outboundPort: port)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["run", "--config", config])
        let (status, standardError) = await daemon.wait()
        #expect(status == 1)
        #expect(
            standardError
                == "switchboard: listener 'ivr' cannot listen on 127.0.0.1:\(port): the address is already in use\n"
        )
        let log = try String(contentsOfFile: directory.file("switchboard.log"), encoding: .utf8)
        #expect(
            log.contains(
                " critical listener 'ivr' cannot listen on 127.0.0.1:\(port): the address is already in use\n"
            ),
            "\(log)"
        )
        await fake.stop()
    }
}

/// Whether the FreeSWITCH of ``SwitchboardTesting/TestSwitch`` answers (127.0.0.1:8021 unless the environment names
/// another), checked once per process.
enum RealFreeSWITCH {
    static let isUp = TestSwitch.isAvailable
    static let skipReason = Comment(rawValue: TestSwitch.skipReason)

    /// A logged-in command socket to the test switch.
    static func commandSocket(logger: Logger) async throws -> CommandSocket {
        let testSwitch = TestSwitch.current
        return try await CommandSocket.connect(
            host: testSwitch.host,
            port: testSwitch.port,
            authentication: testSwitch.authentication,
            logger: logger
        )
    }
}

@Suite(
    "The switchboard binary against the real FreeSWITCH",
    .enabled(if: DaemonBinary.exists, "the switchboard binary is not built (run swift build first)"),
    .enabled(if: RealFreeSWITCH.isUp, RealFreeSWITCH.skipReason)
)
struct DaemonFreeSWITCHTests {
    @Test(
        "a loopback call from context peertest reaches demo-ivr; DTMF 42# sets switchboard_result; events are logged; the metrics count the call"
    )
    func demoIVRAgainstFreeSWITCH() async throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(in: directory)
        let port = try freePort()
        let legA = UUID().uuidString.lowercased()
        let log = directory.file("switchboard.log")
        let config = """
            {
              "log": { "file": "\(log)", "level": "info" },
              "listeners": [
                { "name": "events", "kind": "inbound", "handler": "event-logger",
                  "host": "\(TestSwitch.current.host)", "port": \(TestSwitch.current.port),
                  "password": "\(TestSwitch.current.password)",
                  "events": ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"],
                  "filters": { "variable_other_loopback_leg_uuid": ["\(legA)"] } },
                { "name": "ivr", "kind": "outbound", "handler": "demo-ivr",
                  "bind": "\(TestSwitch.current.listenHost)", "port": \(port),
                  "settings": { "timeoutSeconds": \(5 * TestTime.scale) } }
              ],
              "metrics": { "port": 0 }
            }
            """
        try config.write(toFile: directory.file("switchboard.json"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["run", "--config", directory.file("switchboard.json")],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        let startup = await notify.collect(until: { $0.contains("READY=1") }, timeout: .seconds(20))
        try #require(startup.contains { $0.contains("READY=1") })
        let metricsPort = try await metricsPort(inLog: log)
        let before = try await scrape(port: metricsPort)
        #expect(before.value(#"switchboard_sessions_total{listener="ivr"}"#) == 0)

        var logger = Logger(label: "daemon-freeswitch-test")
        logger.logLevel = .warning
        let socket = try await RealFreeSWITCH.commandSocket(logger: logger)
        // Filter first, so that no other call's events slip in before the subscription is narrowed.
        try await socket.connection.addFilter(header: "variable_other_loopback_leg_uuid", value: legA)
        try await socket.connection.subscribe(to: ["CHANNEL_EXECUTE", "CHANNEL_HANGUP_COMPLETE"])
        defer { Task { _ = try? await socket.api("uuid_kill", legA) } }
        _ = try await socket.backgroundAPI(
            "originate",
            "{origination_uuid=\(legA),sbtest_tag=daemon-e2e}"
                + TestSwitch.current.outboundDestination(port: port) + " &park()",
            timeout: .seconds(20)
        )
        var hangup: EventSocketEvent?
        let deadline = ContinuousClock.now + .seconds(20)
        var iterator = socket.events.makeAsyncIterator()
        while hangup == nil, ContinuousClock.now < deadline {
            guard let event = await iterator.next() else { break }
            guard event.variable("other_loopback_leg_uuid") == legA else { continue }
            if event.name == "CHANNEL_EXECUTE", event["Application"] == "play_and_get_digits" {
                // The prompt is playing on the socket leg: the digits go to leg A, the far end of the loopback.
                _ = try await socket.api("uuid_send_dtmf", "\(legA) 42#")
            }
            if event.name == "CHANNEL_HANGUP_COMPLETE" { hangup = event }
        }
        let legB = try #require(hangup, "no CHANNEL_HANGUP_COMPLETE for the socket leg")
        #expect(legB.variable("switchboard_result") == "42")
        await socket.close()

        let uuid = legB.uniqueID ?? "?"
        let logDeadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < logDeadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.contains("event CHANNEL_HANGUP_COMPLETE \(uuid)") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        var after = try await scrape(port: metricsPort)
        while after.value(#"switchboard_session_duration_seconds_count{listener="ivr"}"#) != 1,
            ContinuousClock.now < logDeadline
        {
            try await Task.sleep(for: .milliseconds(50))
            after = try await scrape(port: metricsPort)
        }
        #expect(after.value(#"switchboard_listener_connected{listener="events"}"#) == 1)
        #expect(after.value(#"switchboard_sessions_total{listener="ivr"}"#) == 1)
        #expect(after.value(#"switchboard_session_duration_seconds_count{listener="ivr"}"#) == 1)
        #expect(after.value(#"switchboard_commands_sent_total{listener="ivr",command="execute"}"#) == 5)
        // CHANNEL_ANSWER and CHANNEL_HANGUP_COMPLETE of the socket leg passed the listener's filter.
        #expect(after.value(#"switchboard_events_handled_total{listener="events"}"#).map { $0 >= 2 } == true)
        if let check = try await promtoolCheck(after, in: directory) {
            #expect(check.status == 0, "promtool check metrics: \(check.output)")
        }
        daemon.signal(SIGTERM)
        let (status, standardError) = await daemon.wait()
        #expect(status == 0, "\(standardError)")
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        #expect(logged.contains("event CHANNEL_ANSWER \(uuid)"))
        #expect(logged.contains("event CHANNEL_HANGUP_COMPLETE \(uuid)"))
        #expect(logged.contains("caller entered 42"))
    }
}
