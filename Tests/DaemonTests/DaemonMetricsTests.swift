import Foundation
import SwitchboardTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A scrape of a running daemon's metrics endpoint.
struct Scrape {
    var contentType: String?
    var text: String

    /// The value of one series, e.g. `switchboard_sessions_total{listener="ivr"}`; `nil` when absent.
    func value(_ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// Reads the metrics endpoint's port from the daemon's log (`serving metrics on http://127.0.0.1:PORT/metrics`).
func metricsPort(inLog path: String, timeout: Duration = .seconds(20)) async throws -> Int {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        if let match = text.firstMatch(of: /serving metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/),
            let port = Int(match.1)
        {
            return port
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("the daemon did not log where it serves metrics")
}

/// Scrapes `http://127.0.0.1:port/metrics` with URLSession, a real HTTP client.
func scrape(port: Int) async throws -> Scrape {
    let url = try #require(URL(string: "http://127.0.0.1:\(port)/metrics"))
    let (data, response) = try await URLSession.shared.data(from: url)
    let http = try #require(response as? HTTPURLResponse)
    #expect(http.statusCode == 200)
    return Scrape(
        contentType: http.value(forHTTPHeaderField: "Content-Type"),
        text: String(decoding: data, as: UTF8.self)
    )
}

/// Runs `promtool check metrics` on a scrape; `nil` when promtool is not installed.
func promtoolCheck(_ scrape: Scrape, in directory: TemporaryDirectory) async throws -> (status: Int32, output: String)?
{
    guard let promtool else { return nil }
    let file = directory.file("scrape.txt")
    try scrape.text.write(toFile: file, atomically: true, encoding: .utf8)
    return try await Tool.run("/bin/sh", ["-c", "\(promtool) check metrics < \(file)"])
}

@Suite(
    "The switchboard binary's metrics endpoint",
    .serialized,
    .enabled(if: DaemonBinary.exists, "the switchboard binary is not built (run swift build first)")
)
struct DaemonMetricsTests {
    @Test("a call through the simulated switch moves the session, command and event counters an HTTP client scrapes")
    func callMovesCounters() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        let notify = try NotifySocket(in: directory)
        let port = try freePort()
        let log = directory.file("switchboard.log")
        let base = daemonConfig(logFile: log, inboundPort: fake.port, outboundPort: port)
        let config = String(base.dropLast(2)) + ",\n  \"metrics\": { \"bind\": \"127.0.0.1\", \"port\": 0 }\n}\n"
        try config.write(toFile: directory.file("switchboard.json"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["run", "--config", directory.file("switchboard.json")],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        let startup = await notify.collect(until: { $0.contains("READY=1") }, timeout: .seconds(20))
        try #require(startup.contains { $0.contains("READY=1") })
        let metrics = try await metricsPort(inLog: log)

        let before = try await scrape(port: metrics)
        #expect(before.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(before.value(#"switchboard_listener_connected{listener="ivr"}"#) == 1)
        #expect(before.value(#"switchboard_sessions_total{listener="ivr"}"#) == 0)
        #expect(before.value(#"switchboard_sessions_active{listener="ivr"}"#) == 0)
        #expect(before.value(#"switchboard_commands_sent_total{listener="events",command="auth"}"#) == 1)
        try await fake.waitForSubscribers()

        let record = try await fake.placeCall(to: port, script: CallScript(digits: "42#"))
        #expect(record.variables["switchboard_result"] == "42")
        fake.emit(.channel("CHANNEL_ANSWER", uuid: record.uuid, extra: [("Caller-Context", "default")]))
        // The session ends (and is counted) just after the simulated switch saw the socket close.
        var after = try await scrape(port: metrics)
        let deadline = ContinuousClock.now + .seconds(10)
        while after.value(#"switchboard_events_handled_total{listener="events"}"#) != 1
            || after.value(#"switchboard_session_duration_seconds_count{listener="ivr"}"#) != 1,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(50))
            after = try await scrape(port: metrics)
        }
        #expect(after.value(#"switchboard_sessions_total{listener="ivr"}"#) == 1)
        #expect(after.value(#"switchboard_sessions_active{listener="ivr"}"#) == 0)
        #expect(after.value(#"switchboard_session_duration_seconds_count{listener="ivr"}"#) == 1)
        #expect(after.value(#"switchboard_commands_sent_total{listener="ivr",command="execute"}"#) == 5)
        #expect(after.value(#"switchboard_commands_failed_total{listener="ivr",command="execute"}"#) == 0)
        #expect(after.value(#"switchboard_events_received_total{listener="ivr"}"#).map { $0 > 0 } == true)
        #expect(after.value(#"switchboard_events_received_total{listener="events"}"#) == 1)
        #expect(after.value(#"switchboard_events_handled_total{listener="events"}"#) == 1)
        #expect(after.value(#"switchboard_event_backlog{listener="events"}"#) == 0)
        #expect(after.value(#"switchboard_handler_errors_total{listener="ivr",handler="demo-ivr"}"#) == 0)
        if let check = try await promtoolCheck(after, in: directory) {
            #expect(check.status == 0, "promtool check metrics: \(check.output)")
        }

        daemon.signal(SIGTERM)
        let (status, standardError) = await daemon.wait()
        #expect(status == 0, "\(standardError)")
        await fake.stop()
    }

    @Test("a metrics port in use: a clear error naming the address, and a non-zero exit")
    func busyMetricsPort() async throws {
        let directory = try TemporaryDirectory()
        let fake = try await FakeFreeSWITCH.start()
        let blocker = try ListeningSocket()
        let log = directory.file("switchboard.log")
        let base = daemonConfig(logFile: log, inboundPort: fake.port, outboundPort: try freePort())
        let config =
            String(base.dropLast(2)) + ",\n  \"metrics\": { \"bind\": \"127.0.0.1\", \"port\": \(blocker.port) }\n}\n"
        try config.write(toFile: directory.file("switchboard.json"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["run", "--config", directory.file("switchboard.json")])
        let (status, standardError) = await daemon.wait()
        #expect(status != 0)
        #expect(
            standardError.contains(
                "metrics cannot listen on 127.0.0.1:\(blocker.port): the address is already in use"
            ),
            "\(standardError)"
        )
        await fake.stop()
    }
}

/// A TCP socket listening on a free loopback port, closed on deinit.
final class ListeningSocket: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 1) == 0
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard result else {
            close(descriptor)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
