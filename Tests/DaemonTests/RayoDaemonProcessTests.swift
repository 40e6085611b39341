import Foundation
import SwitchboardTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the `switchboard` binary to completion with `input` on standard input; returns status, output and errors.
private func runSwitchboard(_ arguments: [String], input: String = "") async throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: DaemonBinary.path)
    process.arguments = arguments
    process.environment = ["PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"]
    let (output, errors, standardInput) = (Pipe(), Pipe(), Pipe())
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = standardInput
    try ChildProcesses.run(process)
    standardInput.fileHandleForWriting.write(Data(input.utf8))
    try standardInput.fileHandleForWriting.close()
    return try await offCooperativePool {
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, out, err)
    }
}

/// A config with one `rayo` outbound listener and the `rayo` object, pointed at a simulated switch.
private func rayoDaemonConfig(
    logFile: String,
    eventSocketPort: Int,
    xmppPort: Int,
    callPort: Int,
    controlSocket: String
) -> String {
    """
    {
      "log": { "file": "\(logFile)", "level": "info" },
      "listeners": [
        { "name": "rayo-calls", "kind": "outbound", "handler": "rayo", "bind": "127.0.0.1", "port": \(callPort) }
      ],
      "rayo": {
        "domain": "rayo.test",
        "listen": [ { "bind": "127.0.0.1", "port": \(xmppPort), "acl": ["127.0.0.0/8"] } ],
        "users": [ { "name": "usera", "password": "1" } ],
        "eventSocket": { "host": "127.0.0.1", "port": \(eventSocketPort), "password": "ClueCon" },
        "aliases": [ { "name": "answer", "target": "call", "xml": "<answer xmlns='urn:xmpp:rayo:1'/>" } ],
        "control": { "socket": "\(controlSocket)", "mode": "0660" },
        "drainSeconds": 2
      }
    }
    """
}

@Suite(
    "The switchboard binary with Rayo",
    .serialized,
    .enabled(if: DaemonBinary.exists, "the switchboard binary is not built (run swift build first)")
)
struct RayoDaemonProcessTests {
    @Test("the daemon runs Rayo: READY, STATUS with Rayo, the console, one TLS warning, a clean stop")
    func rayoDaemon() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "show", with: .output(#"{"row_count":0}"#))
        let notify = try NotifySocket(in: directory)
        let config = directory.file("switchboard.json")
        let log = directory.file("switchboard.log")
        let control = directory.file("rayo.sock")
        try rayoDaemonConfig(
            logFile: log,
            eventSocketPort: fake.port,
            xmppPort: try freePort(),
            callPort: try freePort(),
            controlSocket: control
        )
        .write(toFile: config, atomically: true, encoding: .utf8)

        let (checkStatus, checkOutput, _) = try await runSwitchboard(["check-config", "--config", config])
        #expect(checkStatus == 0)
        #expect(checkOutput.contains("Rayo on rayo.test"), "\(checkOutput)")

        let daemon = try DaemonProcess(
            arguments: ["run", "--config", config],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        let startup = await notify.collect(until: { $0.contains("READY=1") }, timeout: .seconds(20))
        #expect(startup.contains { $0.contains("READY=1") }, "no READY=1; got \(startup)")
        let statusLines = await notify.collect(until: { $0.contains("rayo:") }, timeout: .seconds(5))
        #expect(statusLines.contains { $0.hasPrefix("STATUS=") && $0.contains("rayo: 0 clients, 0 calls") })
        try await fake.waitForSubscribers()

        var info = stat()
        #expect(stat(control, &info) == 0)
        #expect(UInt32(info.st_mode) & 0o777 == 0o660)

        let deadline = ContinuousClock.now + .seconds(10)
        var consoleOutput = ""
        while ContinuousClock.now < deadline {
            let (status, output, _) = try await runSwitchboard(["rayo", "--config", config, "status"])
            consoleOutput = output
            if status == 0 && output.contains("event socket: connected") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(consoleOutput.contains("event socket: connected"), "\(consoleOutput)")
        #expect(consoleOutput.contains("clients: 0"), "\(consoleOutput)")
        #expect(consoleOutput.contains("calls: 0"), "\(consoleOutput)")

        let (aliasStatus, aliasOutput, aliasErrors) = try await runSwitchboard([
            "rayo", "--config", config, "answer", "00000000-0000-0000-0000-000000000000",
        ])
        #expect(aliasStatus == 1, "\(aliasOutput) \(aliasErrors)")
        #expect(aliasOutput.contains("item-not-found"), "\(aliasOutput)")

        daemon.signal(SIGTERM)
        let (status, standardError) = await daemon.wait()
        #expect(status == 0, "exit status \(status): \(standardError)")
        #expect(access(control, F_OK) != 0, "the control socket is removed at exit")
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(logText.components(separatedBy: "passwords and all call control travel in clear").count == 2)
        await fake.stop()
    }

    @Test("hash-password prints stored keys that check-config accepts", arguments: ["sha-256", "sha-1"])
    func hashPassword(_ hash: String) async throws {
        let (status, output, errors) = try await runSwitchboard(
            ["rayo", "hash-password", "--hash", hash, "--iterations", "4096"],
            input: "correct horse\n"
        )
        #expect(status == 0, "\(errors)")
        let line = output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix(hash == "sha-1" ? "SCRAM-SHA-1$i=4096$" : "SCRAM-SHA-256$i=4096$"), "\(line)")
        #expect(!errors.contains("Password:"), "no prompt when standard input is not a terminal")

        let directory = try TemporaryDirectory()
        let config = directory.file("switchboard.json")
        try """
        { "listeners": [ { "name": "r", "kind": "outbound", "handler": "rayo" } ],
          "rayo": { "domain": "rayo.test", "users": [ { "name": "u", "passwordHash": "\(line)" } ] } }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let (checkStatus, _, checkErrors) = try await runSwitchboard(["check-config", "--config", config])
        #expect(checkStatus == 0, "\(checkErrors)")
    }

    @Test("hash-password refuses bad options and an empty password")
    func hashPasswordMistakes() async throws {
        #expect(try await runSwitchboard(["rayo", "hash-password", "--hash", "md5"], input: "x\n").0 != 0)
        #expect(try await runSwitchboard(["rayo", "hash-password", "--iterations", "10"], input: "x\n").0 != 0)
        #expect(try await runSwitchboard(["rayo", "hash-password"], input: "\n").0 != 0)
    }
}
