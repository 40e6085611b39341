import CoreMetrics
import Foundation
import Logging
import NIOCore
import Switchboard
import SwitchboardDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A raw HTTP/1.1 exchange over a real socket: sends `request` as written and reads until the server closes or
/// stays silent for `quiet` (or sends nothing for 10 seconds).
func rawHTTP(port: Int, _ request: String, quiet: Duration = .milliseconds(500)) async throws -> String {
    try await offCooperativePool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
            // The server may close early (a refused request): what it answered is still to be read.
            guard count > 0 else { break }
            sent += count
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        // The first byte may take a while on a loaded machine; after it, `quiet` ends the response.
        var wait = Int32(10_000)
        while poll(&poller, 1, wait) > 0 {
            wait = Int32(quiet / .milliseconds(1))
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

/// The status lines of every response in `text`, in order.
func statusLines(_ text: String) -> [String] {
    text.split(separator: "\r\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("HTTP/1.") }.map(String.init)
}

/// A metrics server on a free loopback port, serving a fresh registry, for the body's duration.
func withMetricsServer<Result: Sendable>(
    metrics: PrometheusMetrics = PrometheusMetrics(),
    _ body: @Sendable (Int, PrometheusMetrics) async throws -> Result
) async throws -> Result {
    let ports = AsyncStream<Int>.makeStream()
    var logger = Logger(label: "metrics-server-tests")
    logger.logLevel = .warning
    let server = MetricsServer(settings: MetricsSettings(port: 0), metrics: metrics, logger: logger) { address in
        ports.continuation.yield(address.port ?? 0)
    }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the metrics server did not bind") }
        do {
            let result = try await body(port, metrics)
            group.cancelAll()
            try await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            try? await group.waitForAll()
            throw error
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `promtool` from Debian's `prometheus` package, when installed.
let promtool = Tool.path("promtool")

@Suite("The metrics endpoint over a real socket")
struct MetricsServerTests {
    @Test("GET /metrics: 200, Prometheus' content type, HELP and TYPE lines, the values recorded")
    func scrape() async throws {
        try await withMetricsServer { port, metrics in
            let counter = Counter(
                label: SwitchboardMetric.eventsReceived.name,
                dimensions: [("listener", "events")],
                factory: metrics.factory
            )
            counter.increment(by: 42)
            let response = try await rawHTTP(
                port: port,
                "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )
            #expect(statusLines(response) == ["HTTP/1.1 200 OK"])
            #expect(response.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
            #expect(response.contains("# HELP switchboard_events_received_total Events read from FreeSWITCH\n"))
            #expect(response.contains("# TYPE switchboard_events_received_total counter\n"))
            #expect(response.contains("switchboard_events_received_total{listener=\"events\"} 42\n"))
            let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined()
            #expect(response.contains("\r\nContent-Length: \(body.utf8.count)\r\n"))
        }
    }

    @Test("other paths are 404, other methods 405 with Allow, HEAD has headers only; a query string is ignored")
    func statusCodes() async throws {
        try await withMetricsServer { port, _ in
            let notFound = try await rawHTTP(port: port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(statusLines(notFound) == ["HTTP/1.1 404 Not Found"])
            let post = try await rawHTTP(
                port: port,
                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
            )
            #expect(statusLines(post) == ["HTTP/1.1 405 Method Not Allowed"])
            #expect(post.contains("\r\nAllow: GET, HEAD\r\n"))
            let head = try await rawHTTP(port: port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(statusLines(head) == ["HTTP/1.1 200 OK"])
            #expect(head.hasSuffix("\r\n\r\n"))
            let query = try await rawHTTP(
                port: port,
                "GET /metrics?name[]=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            #expect(statusLines(query) == ["HTTP/1.1 200 OK"])
        }
    }

    @Test("keep-alive: several scrapes on one connection, HTTP/1.0 closes after one")
    func keepAlive() async throws {
        try await withMetricsServer { port, _ in
            let get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            let three = try await rawHTTP(port: port, get + get + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(statusLines(three) == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"])
            #expect(three.components(separatedBy: "Connection: keep-alive").count == 4)
            let old = try await rawHTTP(port: port, "GET /metrics HTTP/1.0\r\n\r\n" + get)
            #expect(statusLines(old) == ["HTTP/1.0 200 OK"])
        }
    }

    @Test("bad requests: garbage is 400, oversized headers 400, a body over 1 KiB 413; the connection closes")
    func badRequests() async throws {
        try await withMetricsServer { port, _ in
            let garbage = try await rawHTTP(port: port, "HELLO THERE\r\n\r\n", quiet: .seconds(5))
            #expect(statusLines(garbage) == ["HTTP/1.1 400 Bad Request"])
            let huge = String(repeating: "a", count: 9_000)
            let oversized = try await rawHTTP(
                port: port,
                "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: \(huge)\r\n\r\n",
                quiet: .seconds(5)
            )
            #expect(statusLines(oversized) == ["HTTP/1.1 400 Bad Request"])
            let body = String(repeating: "b", count: 5_000)
            let tooLarge = try await rawHTTP(
                port: port,
                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)",
                quiet: .seconds(5)
            )
            #expect(statusLines(tooLarge) == ["HTTP/1.1 413 Payload Too Large"])
            #expect(tooLarge.contains("\r\nConnection: close\r\n"))
            // The server still answers afterwards.
            let after = try await rawHTTP(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(statusLines(after) == ["HTTP/1.1 200 OK"])
        }
    }

    @Test("a port in use: the error names the address and the reason")
    func busyPort() async throws {
        try await withMetricsServer { port, metrics in
            let second = MetricsServer(
                settings: MetricsSettings(bind: "127.0.0.1", port: port),
                metrics: metrics,
                logger: Logger(label: "metrics-server-tests")
            )
            let error = await #expect(throws: DaemonError.self) { try await second.run() }
            #expect(error?.code == .listenerFailed)
            #expect(
                error?.description == "metrics cannot listen on 127.0.0.1:\(port): the address is already in use"
            )
        }
    }

    @Test("histograms in seconds with Switchboard's buckets; other libraries' metrics still pass through")
    func histogramsAndOtherMetrics() async throws {
        let metrics = PrometheusMetrics()
        let timer = CoreMetrics.Timer(
            label: SwitchboardMetric.apiDuration.name,
            dimensions: [("listener", "events")],
            factory: metrics.factory
        )
        timer.recordMilliseconds(3)
        Counter(label: "other_library_requests_total", factory: metrics.factory).increment()
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(text.contains("# TYPE switchboard_api_duration_seconds histogram\n"))
        #expect(text.contains("switchboard_api_duration_seconds_bucket{listener=\"events\",le=\"0.0025\"} 0\n"))
        #expect(text.contains("switchboard_api_duration_seconds_bucket{listener=\"events\",le=\"0.005\"} 1\n"))
        #expect(text.contains("switchboard_api_duration_seconds_bucket{listener=\"events\",le=\"+Inf\"} 1\n"))
        #expect(text.contains("switchboard_api_duration_seconds_sum{listener=\"events\"} 0.003\n"))
        #expect(text.contains("switchboard_api_duration_seconds_count{listener=\"events\"} 1\n"))
        #expect(text.contains("other_library_requests_total 1\n"))
    }

    @Test("docs/OPERATING-metrics.md describes every metric; the alert rules use only metrics that exist")
    func documented() throws {
        let doc = try contents(of: Repository.path("docs/OPERATING-metrics.md"))
        for metric in Daemon.metricDescriptions {
            #expect(doc.contains("| `\(metric.name)` | \(metric.kind.rawValue) |"), "\(metric.name) is not documented")
        }
        let alerts = try contents(of: Repository.path("packaging/prometheus/alerts.yml"))
        let names = Set(Daemon.metricDescriptions.map(\.name))
        let used = alerts.matches(of: /switchboard_[a-z_]+/).map { String($0.output) }
        #expect(!used.isEmpty)
        for name in used { #expect(names.contains(name), "alerts.yml uses \(name), which no one records") }
    }

    @Test(
        "promtool accepts the shipped alert rules and scrape config",
        .enabled(if: promtool != nil, "promtool is not installed (apt-get install prometheus)")
    )
    func promtoolRules() async throws {
        let tool = try #require(promtool)
        let rules = try await Tool.run(tool, ["check", "rules", Repository.path("packaging/prometheus/alerts.yml")])
        #expect(rules.status == 0, "\(rules.output)")
        let config = try await Tool.run(tool, ["check", "config", Repository.path("packaging/prometheus/scrape.yml")])
        #expect(config.status == 0, "\(config.output)")
    }
}
