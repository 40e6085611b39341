import EventSocket
import Foundation
import Logging
import NIOConcurrencyHelpers
import Switchboard
import SwitchboardTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Rayo client script (slixmpp, a real XMPP client library) and the Python that runs it.
enum SlixmppClient {
    static let script = Repository.path("Tests/Clients/rayo_slixmpp.py")

    /// The `python3` on the PATH the tests run with, or the one a user's shell would find.
    static let python: String? = {
        for candidate in ["/root/.pyenv/shims/python3", "/usr/local/bin/python3", "/usr/bin/python3"]
        where access(candidate, X_OK) == 0 {
            if hasSlixmpp(candidate) { return candidate }
        }
        return nil
    }()

    static var isAvailable: Bool { python != nil }

    private static func hasSlixmpp(_ python: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import slixmpp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// A child process whose standard output is read line by line.
final class LineReadingProcess: @unchecked Sendable {
    let process = Process()
    private let outputPipe = Pipe()
    private let errorPipe = Pipe()
    private let lines = LineStore()

    /// The lines read so far, shared with the reading thread.
    private final class LineStore: Sendable {
        let lines = NIOLockedValueBox<[String]>([])
        func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
        var all: [String] { lines.withLockedValue { $0 } }
    }

    init(executable: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        process.standardInput = FileHandle.nullDevice
        try ChildProcesses.run(process)
        // read(2) with EINTR retried: FileHandle.availableData traps on an interrupted call.
        let descriptor = outputPipe.fileHandleForReading.fileDescriptor
        let lines = self.lines
        Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                pending += buffer[0..<count]
                while let newline = pending.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
            }
        }.start()
    }

    /// The lines printed so far.
    var output: [String] { lines.all }

    /// Waits until a printed line contains `text`; `false` after `timeout` or when the process exits first.
    func waitForLine(containing text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(where: { $0.contains(text) }) { return true }
            if !process.isRunning {
                try? await Task.sleep(for: .milliseconds(50))  // let the reader take the last lines
                return output.contains(where: { $0.contains(text) })
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits for the exit (killing the process after `timeout`); returns the status and standard error.
    func wait(timeout: Duration) async -> (status: Int32, standardError: String) {
        let (status, output) = await finish(process, within: timeout, output: errorPipe)
        return (status, output)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Makes a self-signed certificate and key for `domain` with the `openssl` command.
func makeCertificate(
    for domain: String,
    in directory: TemporaryDirectory
) async throws -> (
    certificate: String, privateKey: String
) {
    let certificate = directory.file("rayo.crt")
    let privateKey = directory.file("rayo.key")
    let openssl = try #require(Tool.path("openssl"), "openssl is not installed")
    let (status, output) = try await Tool.run(
        openssl,
        [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=\(domain)", "-addext", "subjectAltName=DNS:\(domain)",
            "-keyout", privateKey, "-out", certificate,
        ]
    )
    try #require(status == 0, "openssl failed: \(output)")
    return (certificate, privateKey)
}

@Suite(
    "Rayo end to end: the switchboard binary, the real FreeSWITCH and slixmpp",
    .serialized,
    .enabled(if: DaemonBinary.exists, "the switchboard binary is not built (run swift build first)"),
    .enabled(if: RealFreeSWITCH.isUp, RealFreeSWITCH.skipReason),
    .enabled(if: SlixmppClient.isAvailable, "slixmpp is not installed (pip install slixmpp)")
)
struct RayoEndToEndTests {
    @Test(
        "slixmpp logs in with SCRAM-SHA-256 over STARTTLS, takes an offered call, answers, dials, joins and hangs up"
    )
    func slixmppTakesACall() async throws {
        let directory = try TemporaryDirectory()
        let domain = "rayo.test"
        let (certificate, privateKey) = try await makeCertificate(for: domain, in: directory)
        let password = "e2e-\(UInt32.random(in: 0...UInt32.max))"

        // The stored keys come from the binary's own hash-password command, as an operator would make them.
        let hash = try await hashPassword(password)
        #expect(hash.hasPrefix("SCRAM-SHA-256"), "hash-password printed \(hash)")

        let notify = try NotifySocket(in: directory)
        let callsPort = try freePort()
        let xmppPort = try freePort()
        let log = directory.file("switchboard.log")
        let config = """
            {
              "log": { "file": "\(log)", "level": "debug" },
              "listeners": [
                { "name": "rayo-calls", "kind": "outbound", "handler": "rayo",
                  "bind": "\(TestSwitch.current.listenHost)", "port": \(callsPort) }
              ],
              "rayo": {
                "domain": "\(domain)",
                "listen": [ { "bind": "127.0.0.1", "port": \(xmppPort), "acl": ["127.0.0.0/8"] } ],
                "tls": { "certificate": "\(certificate)", "privateKey": "\(privateKey)" },
                "users": [ { "name": "usera", "passwordHash": "\(hash)" } ],
                "eventSocket": {
                  "host": "\(TestSwitch.current.host)", "port": \(TestSwitch.current.port),
                  "password": "\(TestSwitch.current.password)"
                },
                "offerTimeoutMs": 15000,
                "control": { "socket": "\(directory.file("control.sock"))" }
              }
            }
            """
        try config.write(toFile: directory.file("switchboard.json"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["run", "--config", directory.file("switchboard.json")],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        let startup = await notify.collect(until: { $0.contains("READY=1") }, timeout: .seconds(30))
        try #require(startup.contains { $0.contains("READY=1") }, "the daemon never became ready")

        let client = try LineReadingProcess(
            executable: try #require(SlixmppClient.python),
            arguments: [
                SlixmppClient.script, "--port", "\(xmppPort)", "--jid", "usera@\(domain)/e2e", "--password", password,
                "--cafile", certificate, "--mechanism", "SCRAM-SHA-256", "--dial-to",
                TestSwitch.current.destination("echo"),
                "--timeout", "20", "--offer-timeout", "40",
            ]
        )
        let ready = await client.waitForLine(containing: "\"READY\"", timeout: .seconds(30))
        if !ready {
            let (_, standardError) = await client.wait(timeout: .seconds(1))
            Issue.record("slixmpp never logged in: \(client.output) \(standardError.suffix(2000))")
        }
        try #require(ready)

        let legA = UUID().uuidString.lowercased()
        var logger = Logger(label: "rayo-e2e")
        logger.logLevel = .warning
        let socket = try await RealFreeSWITCH.commandSocket(logger: logger)
        _ = try await socket.backgroundAPI(
            "originate",
            "{origination_uuid=\(legA),sbtest_tag=rayo-e2e}"
                + TestSwitch.current.outboundDestination(port: callsPort) + " &park()",
            timeout: .seconds(20)
        )
        let (status, standardError) = await client.wait(timeout: .seconds(120))
        _ = try? await socket.api("uuid_kill", legA)
        await socket.close()

        let steps = client.output
        #expect(status == 0, "slixmpp: \(steps) \(standardError.suffix(3000))")
        for step in ["\"offer\"", "\"answered\"", "\"dialed\"", "\"joined\"", "\"end\"", "\"DONE\""] {
            #expect(steps.contains { $0.contains(step) }, "no \(step) step in \(steps)")
        }

        daemon.signal(SIGTERM)
        let (daemonStatus, daemonError) = await daemon.wait(timeout: .seconds(40))
        #expect(daemonStatus == 0, "\(daemonError.suffix(3000))")
    }

    /// Runs `switchboard rayo hash-password` with the password on standard input.
    private func hashPassword(_ password: String) async throws -> String {
        try await offCooperativePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: DaemonBinary.path)
            process.arguments = ["rayo", "hash-password"]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try ChildProcesses.run(process)
            input.fileHandleForWriting.write(Data((password + "\n").utf8))
            try input.fileHandleForWriting.close()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
