import EventSocket
import Foundation
import Logging
import NIOConcurrencyHelpers
import Switchboard
import SwitchboardTesting

/// `switchboard-bench load`: the daemon binary under real calls. FreeSWITCH originates loopback calls into the
/// daemon's outbound listener running demo-ivr; the caller sends DTMF when the prompt plays; a call counts as
/// completed when both legs hung up and the socket leg's `switchboard_result` holds the digits.
struct LoadRun {
    struct Result {
        var calls: Int
        var completed: Int
        var failures: Int
        var firstFailures: [String]
        var seconds: Double
        var setupP50: Duration
        var setupP99: Duration
        var warmUpFailures: Int
        var daemonCPUSeconds: Double
        var freeswitchCPUSeconds: Double?
        var rssAtStartKiB: Int
        var rssBeforeKiB: Int
        var rssPeakKiB: Int
        var rssAfterKiB: Int
        var anonymousBeforeKiB: Int
        var anonymousAfterKiB: Int
        var daemonSessionsLeft: Int?
        var freeswitchSessionsLeft: Int?
        var callsWithoutHangup: Int
        var daemonExitStatus: Int32
        var freeswitchPort: Int
        var loadBefore: String
        var loadAfter: String

        var callsPerSecond: Double { Double(completed) / seconds }
        var daemonMicrosecondsPerCall: Double { daemonCPUSeconds * 1e6 / Double(calls) }
        var freeswitchMicrosecondsPerCall: Double? { freeswitchCPUSeconds.map { $0 * 1e6 / Double(calls) } }
        var rssGrowth: Double { Double(rssAfterKiB - rssBeforeKiB) / Double(rssBeforeKiB) }
    }

    let options: LoadOptions
    let logger: Logger

    func run() async throws -> Result {
        let loadBefore = Self.loadAverage()
        var privateSwitch: PrivateFreeSWITCH?
        if options.privateSwitch {
            privateSwitch = try await PrivateFreeSWITCH.start(
                options: PrivateFreeSWITCH.Options(
                    maxSessions: max(1000, options.concurrency * 4 + 100),
                    sessionsPerSecond: max(1000, options.concurrency * 10)
                ),
                logger: logger
            )
        }
        defer { if let privateSwitch { Task { await privateSwitch.stop() } } }
        let host = privateSwitch == nil ? options.host : "127.0.0.1"
        let port = privateSwitch?.port ?? options.port
        let password = privateSwitch?.password ?? options.password
        let freeswitchPID = privateSwitch?.processID ?? options.freeswitchPID

        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outboundPort = try Self.freePort()
        let daemon = try await DaemonChild.start(
            binary: options.daemon ?? DaemonChild.siblingBinary,
            configuration: Self.daemonConfiguration(
                log: "\(directory)/switchboard.log",
                port: outboundPort,
                maxSessions: max(1000, options.concurrency * 2)
            ),
            directory: directory,
            timeout: .seconds(30)
        )
        var daemonStopped = false
        defer { if !daemonStopped { daemon.kill() } }
        let rssAtStart = try ProcessMemory.residentKiB(of: daemon.pid)

        let socket = try await CommandSocket.connect(
            host: host,
            port: port,
            authentication: .password(password),
            timeout: .seconds(20),
            logger: logger
        )
        let run = "sbload" + UUIDString.random().filter { $0 != "-" }.prefix(12)
        try await socket.connection.addFilter(header: "variable_\(CallPlacer.runVariable)", value: run)
        try await socket.connection.subscribe(to: ["CHANNEL_EXECUTE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"])
        let router = CallRouter()
        let reader = Task { for await event in socket.events { router.route(event) } }
        let placer = CallPlacer(
            socket: socket,
            router: router,
            run: run,
            outboundPort: outboundPort,
            digits: options.digits,
            callTimeout: .seconds(options.callTimeoutSeconds)
        )

        // Warm-up, then wait for the daemon to be idle again before the baseline.
        let warmUp = await placer.place(options.warmUpCalls, concurrency: options.concurrency)
        _ = await daemon.waitForNoSessions(timeout: .seconds(30))
        try await Task.sleep(for: .seconds(2))
        let rssBefore = try ProcessMemory.residentKiB(of: daemon.pid)
        let anonymousBefore = try ProcessMemory.anonymousKiB(of: daemon.pid)
        let daemonCPUBefore = ProcessCPU.processSeconds(of: daemon.pid) ?? 0
        let freeswitchCPUBefore = freeswitchPID.flatMap { ProcessCPU.processSeconds(of: $0) }

        let peak = PeakSampler(pid: daemon.pid)
        let started = ContinuousClock.now
        let measured = await placer.place(options.calls, concurrency: options.concurrency)
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        peak.stop()

        let daemonSessionsLeft = await daemon.waitForNoSessions(timeout: .seconds(30))
        let daemonCPUAfter = ProcessCPU.processSeconds(of: daemon.pid) ?? 0
        let freeswitchCPUAfter = freeswitchPID.flatMap { ProcessCPU.processSeconds(of: $0) }
        var freeswitchSessionsLeft: Int?
        if privateSwitch != nil {
            // A private switch holds only these calls: its own session count must come back to 0.
            let deadline = ContinuousClock.now + .seconds(30)
            repeat {
                freeswitchSessionsLeft = try? await Self.sessionCount(socket)
                if freeswitchSessionsLeft == 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline
        }
        try await Task.sleep(for: .seconds(2))
        let rssAfter = try ProcessMemory.residentKiB(of: daemon.pid)
        let anonymousAfter = try ProcessMemory.anonymousKiB(of: daemon.pid)
        await socket.close()
        _ = await reader.value
        let exitStatus = await daemon.stop(timeout: .seconds(30))
        daemonStopped = true

        let setups = measured.setups.sorted()
        return Result(
            calls: options.calls,
            completed: measured.completed,
            failures: measured.failures.count,
            firstFailures: Array(measured.failures.prefix(5)),
            seconds: seconds,
            setupP50: Self.percentile(setups, 0.50),
            setupP99: Self.percentile(setups, 0.99),
            warmUpFailures: warmUp.failures.count,
            daemonCPUSeconds: daemonCPUAfter - daemonCPUBefore,
            freeswitchCPUSeconds: freeswitchCPUBefore.flatMap { before in freeswitchCPUAfter.map { $0 - before } },
            rssAtStartKiB: rssAtStart,
            rssBeforeKiB: rssBefore,
            rssPeakKiB: max(peak.peakKiB, rssBefore),
            rssAfterKiB: rssAfter,
            anonymousBeforeKiB: anonymousBefore,
            anonymousAfterKiB: anonymousAfter,
            daemonSessionsLeft: daemonSessionsLeft,
            freeswitchSessionsLeft: freeswitchSessionsLeft,
            callsWithoutHangup: measured.withoutHangup,
            daemonExitStatus: exitStatus,
            freeswitchPort: port,
            loadBefore: loadBefore,
            loadAfter: Self.loadAverage()
        )
    }

    static func daemonConfiguration(log: String, port: Int, maxSessions: Int) -> String {
        """
        {
          "log": { "file": "\(log)", "level": "info" },
          "listeners": [
            { "name": "ivr", "kind": "outbound", "handler": "demo-ivr",
              "bind": "127.0.0.1", "port": \(port), "maxSessions": \(maxSessions), "drainSeconds": 10 }
          ]
        }
        """
    }

    /// FreeSWITCH's current session count, from `status`.
    static func sessionCount(_ socket: CommandSocket) async throws -> Int {
        let status = try await socket.api("status")
        guard let line = status.split(separator: "\n").first(where: { $0.contains("session(s) - peak") }),
            let count = Int(line.prefix { $0 != " " })
        else { throw BenchFailure("no session count in FreeSWITCH's status: \(status)") }
        return count
    }

    static func percentile(_ sorted: [Duration], _ fraction: Double) -> Duration {
        guard !sorted.isEmpty else { return .zero }
        let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.down)))
        return sorted[index]
    }

    /// The first three fields of `/proc/loadavg`.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/switchboard-load.XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchFailure("cannot create a temporary directory")
        }
        return String(cString: result)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw BenchFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Places calls at a fixed concurrency and follows each to its end.
struct CallPlacer: Sendable {
    /// The channel variable that marks this run's calls (both legs carry it), for the event filter.
    static let runVariable = "sbload_run"

    struct Outcomes: Sendable {
        var completed = 0
        var failures: [String] = []
        var setups: [Duration] = []
        var withoutHangup = 0
    }

    let socket: CommandSocket
    let router: CallRouter
    let run: String
    let outboundPort: Int
    let digits: String
    let callTimeout: Duration

    /// What demo-ivr stores: the digits without the `#` terminator.
    var expectedResult: String { String(digits.prefix { $0 != "#" }) }

    /// Places `count` calls, `concurrency` at a time.
    func place(_ count: Int, concurrency: Int) async -> Outcomes {
        let next = Counter()
        return await withTaskGroup(of: Outcomes.self) { workers in
            for _ in 0..<min(concurrency, max(count, 1)) {
                workers.addTask {
                    var mine = Outcomes()
                    while next.increment() <= count {
                        let outcome = await placeOne()
                        if let setup = outcome.setup { mine.setups.append(setup) }
                        if !outcome.bothLegsHungUp { mine.withoutHangup += 1 }
                        if let failure = outcome.failure {
                            mine.failures.append(failure)
                        } else {
                            mine.completed += 1
                        }
                    }
                    return mine
                }
            }
            var all = Outcomes()
            for await outcomes in workers {
                all.completed += outcomes.completed
                all.failures += outcomes.failures
                all.setups += outcomes.setups
                all.withoutHangup += outcomes.withoutHangup
            }
            return all
        }
    }

    private struct CallOutcome {
        var setup: Duration?
        var failure: String?
        var bothLegsHungUp = false
    }

    /// One call: originate, wait for demo-ivr's prompt, send the digits, wait for both hangups.
    private func placeOne() async -> CallOutcome {
        let legA = UUIDString.random()
        let events = router.register(legA)
        let started = ContinuousClock.now
        let (socket, router) = (self.socket, self.router)
        let arguments =
            "{origination_uuid=\(legA),\(Self.runVariable)=\(run)}loopback/outbound_\(outboundPort)/peertest &park()"
        let originate = Task {
            do {
                _ = try await socket.backgroundAPI("originate", arguments, timeout: callTimeout)
            } catch {
                router.finish(legA)
                throw error
            }
        }
        let timer = Task {
            try await Task.sleep(for: callTimeout)
            router.finish(legA)
        }
        var outcome = CallOutcome()
        var result: String?
        var legAHungUp = false
        var legBHungUp = false
        var sentDigits = false
        for await stamped in events {
            let event = stamped.event
            let legB = event.variable("loopback_leg") == "B"
            switch event.name {
            case "CHANNEL_ANSWER" where legB:
                outcome.setup = stamped.at - started
            case "CHANNEL_EXECUTE" where legB && !sentDigits && event["Application"] == "play_and_get_digits":
                sentDigits = true
                do {
                    _ = try await socket.api("uuid_send_dtmf", "\(legA) \(digits)")
                } catch {
                    outcome.failure = "uuid_send_dtmf failed: \(error)"
                }
            case "CHANNEL_HANGUP_COMPLETE":
                if legB {
                    legBHungUp = true
                    result = event.variable("switchboard_result")
                } else {
                    legAHungUp = true
                }
            default:
                break
            }
            if legAHungUp && legBHungUp { break }
        }
        timer.cancel()
        router.finish(legA)
        outcome.bothLegsHungUp = legAHungUp && legBHungUp
        if case .failure(let error) = await originate.result {
            outcome.failure = outcome.failure ?? "originate failed: \(error)"
        } else if !outcome.bothLegsHungUp {
            outcome.failure =
                outcome.failure
                ?? "no hangup of leg \(legBHungUp ? "A" : "B") within \(callTimeout) (\(legA), digits sent: \(sentDigits))"
        } else if result != expectedResult {
            outcome.failure = outcome.failure ?? "switchboard_result was \(result ?? "unset"), not \(expectedResult)"
        }
        return outcome
    }
}

/// Hands each event to the task of its call, by leg A's UUID (leg B's events name it in `other_loopback_leg_uuid`).
final class CallRouter: Sendable {
    /// An event with the time it was read.
    struct Stamped: Sendable {
        let event: EventSocketEvent
        let at: ContinuousClock.Instant
    }

    private let calls = NIOLockedValueBox<[String: AsyncStream<Stamped>.Continuation]>([:])

    /// Starts following a call; its events arrive on the returned stream until ``finish(_:)``.
    func register(_ legA: String) -> AsyncStream<Stamped> {
        let (stream, continuation) = AsyncStream<Stamped>.makeStream()
        calls.withLockedValue { $0[legA] = continuation }
        return stream
    }

    /// Stops following a call and ends its stream.
    func finish(_ legA: String) {
        calls.withLockedValue { $0.removeValue(forKey: legA) }?.finish()
    }

    func route(_ event: EventSocketEvent) {
        let now = ContinuousClock.now
        let legA = event.variable("loopback_leg") == "B" ? event.variable("other_loopback_leg_uuid") : event.uniqueID
        guard let legA, let continuation = calls.withLockedValue({ $0[legA] }) else { return }
        continuation.yield(Stamped(event: event, at: now))
    }
}

/// Samples a process's resident memory every 250 ms and keeps the highest value.
final class PeakSampler: Sendable {
    private let state = NIOLockedValueBox<(peak: Int, stopped: Bool)>((0, false))

    init(pid: Int32) {
        Thread { [self] in
            while !state.withLockedValue({ $0.stopped }) {
                if let resident = try? ProcessMemory.residentKiB(of: pid) {
                    state.withLockedValue { $0.peak = max($0.peak, resident) }
                }
                usleep(250_000)
            }
        }.start()
    }

    var peakKiB: Int { state.withLockedValue { $0.peak } }

    func stop() { state.withLockedValue { $0.stopped = true } }
}
