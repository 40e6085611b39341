// switchboard-bench: loopback benchmarks of Switchboard. See docs/PERFORMANCE.md.
//
//   swift run -c release switchboard-bench [--only a,b,c,d,e,f] [--events N] [--sessions N] …
//   swift run -c release switchboard-bench load [--private] [--calls N] [--concurrency N] …   (real FreeSWITCH)
//
// Every benchmark is bounded in count and time and stops by itself; the table at the end says, per line, the
// measured value, the target and whether it passes. The exit status is 0 when every target passes.

import Foundation
import Logging
import NIOConcurrencyHelpers

if CommandLine.arguments.dropFirst().first == "load" {
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
    var loadLogger = Logger(label: "switchboard-bench.load")
    loadLogger.logLevel = .error
    exit(await LoadCommand.main(Array(CommandLine.arguments.dropFirst(2)), logger: loadLogger))
}

let options: BenchOptions
do {
    options = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    if let message = error.message { printError("switchboard-bench: \(message)") }
    printError(BenchOptions.usage)
    exit(error.message == nil ? 0 : 64)
}

LoggingSystem.bootstrap(StreamLogHandler.standardError)

// The main thread waits on a semaphore rather than in the concurrency runtime's main loop (`dispatch_main`, which
// parks the thread in `rt_sigsuspend`): valgrind, under which the bench is profiled, cannot follow that call.
let finished = DispatchSemaphore(value: 0)
let status = NIOLockedValueBox<Int32>(0)
Task.detached {
    let result = await runBenchmarks(options)
    status.withLockedValue { $0 = result }
    finished.signal()
}
finished.wait()
exit(status.withLockedValue { $0 })

/// Runs what the options ask for; returns the exit status.
func runBenchmarks(_ options: BenchOptions) async -> Int32 {
    var logger = Logger(label: "switchboard-bench")
    logger.logLevel = .error
    let timeout = Duration.seconds(options.timeoutSeconds)

    if let port = options.holdCallsPort {
        // The switch side of (d), started by the parent process.
        return await SwitchSide.holdCalls(port: port, calls: options.idleSessions, timeout: timeout)
    }
    if options.rayoSwitchSide {
        // The switch and client side of (f) iii, started by the parent process.
        return await RayoSwitchSide.run(timeout: timeout)
    }

    var report = Report()
    print(
        "switchboard-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores, benchmarks \(options.only.sorted())"
    )

    // (d) runs first, while this process's heap holds nothing from the other benchmarks: memory they freed would
    // otherwise be reused by the idle sessions and hide part of their cost.
    var memoryReport = Report()
    if options.only.contains("d") {
        do {
            print("(d) memory: \(Format.grouped(Double(options.idleSessions))) idle outbound sessions …")
            let result = try await MemoryBenchmark(sessions: options.idleSessions, timeout: timeout, logger: logger)
                .run()
            memoryReport.add(
                "(d) RSS per idle outbound session",
                Format.fixed(result.kibPerSession, places: 1) + " KiB",
                target: "≤ 64 KiB",
                passed: result.kibPerSession <= 64
            )
            memoryReport.add(
                "(d) VmRSS before → with sessions",
                "\(Format.grouped(Double(result.baselineKiB))) → \(Format.grouped(Double(result.loadedKiB))) KiB"
            )
        } catch {
            memoryReport.failed("(d) RSS per idle outbound session", "\(error)", target: "≤ 64 KiB")
        }
    }

    // (f) iii, for the same reason, before the other benchmarks (after (d) when both run).
    if options.only.contains("f") {
        do {
            print(
                "(f) Rayo memory: \(Format.grouped(Double(options.rayoMemoryClients))) clients, then "
                    + "\(Format.grouped(Double(options.rayoMemoryCalls))) controlled calls …"
            )
            let result = try await RayoMemoryBenchmark(
                clients: options.rayoMemoryClients,
                calls: options.rayoMemoryCalls,
                timeout: timeout,
                logger: logger
            ).run()
            memoryReport.add(
                "(f) RSS per connected Rayo client",
                Format.fixed(result.kibPerClient, places: 1) + " KiB",
                target: "≤ 64 KiB",
                passed: result.kibPerClient <= 64
            )
            memoryReport.add(
                "(f) RSS per controlled Rayo call",
                Format.fixed(result.kibPerCall, places: 1) + " KiB",
                target: "≤ 64 KiB",
                passed: result.kibPerCall <= 64
            )
            memoryReport.add(
                "(f) VmRSS before → clients → calls",
                "\(Format.grouped(Double(result.baselineKiB))) → \(Format.grouped(Double(result.withClientsKiB))) → "
                    + "\(Format.grouped(Double(result.withCallsKiB))) KiB"
            )
        } catch {
            memoryReport.failed("(f) RSS per connected Rayo client / controlled call", "\(error)", target: "≤ 64 KiB")
        }
    }

    if options.only.contains("a") {
        do {
            let corpus = try EventCorpus.load(fixtures: options.fixtures)
            print("(a) inbound: \(Format.grouped(Double(options.events))) events from \(corpus.source) …")
            let result = try await InboundBenchmark(
                corpus: corpus,
                events: options.events,
                timeout: timeout,
                logger: logger
            ).run()
            let ratio = result.bytesPerSecond / result.rawBytesPerSecond
            if let problem = result.problem {
                report.failed("(a) events/s to a no-op handler", problem, target: "≥ 100,000/s")
                report.add("(a) events handled before that", Format.grouped(Double(result.events)))
            } else {
                report.add(
                    "(a) events/s to a no-op handler",
                    Format.grouped(result.eventsPerSecond) + "/s",
                    target: "≥ 100,000/s",
                    passed: result.eventsPerSecond >= 100_000
                )
                report.add("(a) bytes/s delivered", Format.megabytes(result.bytesPerSecond))
                report.add("(a) raw read, bytes only", Format.megabytes(result.rawBytesPerSecond))
                report.add(
                    "(a) delivered / raw (bytes/s)",
                    Format.fixed(ratio * 100, places: 1) + " %",
                    target: "≥ 25 %",
                    passed: ratio >= 0.25
                )
            }
            report.add("(a) codec only, 1 thread, no I/O", Format.grouped(result.codecEventsPerSecond) + "/s")
            print("    \(Format.fixed(result.seconds, places: 2)) s, mean frame \(corpus.meanFrameBytes) B")
        } catch {
            report.failed("(a) events/s to a no-op handler", "\(error)", target: "≥ 100,000/s")
        }
        // The worst case for per-channel ordering: every event of one channel, so one lane takes them all in turn.
        do {
            let corpus = try EventCorpus.load(fixtures: options.fixtures).singleChannel()
            print("(a) inbound, one channel: \(Format.grouped(Double(options.events))) events of one Unique-ID …")
            let result = try await InboundBenchmark(
                corpus: corpus,
                events: options.events,
                timeout: timeout,
                logger: logger
            ).runDeliveryOnly()
            if let problem = result.problem {
                report.failed("(a) one channel: events/s", problem, target: "≥ 100,000/s")
            } else {
                report.add(
                    "(a) one channel: events/s",
                    Format.grouped(result.eventsPerSecond) + "/s",
                    target: "≥ 100,000/s",
                    passed: result.eventsPerSecond >= 100_000
                )
            }
            print("    \(Format.fixed(result.seconds, places: 2)) s")
        } catch {
            report.failed("(a) one channel: events/s", "\(error)", target: "≥ 100,000/s")
        }
    }

    if options.only.contains("b") {
        let switchName = options.driver == "sim" ? "switch-sim" : "FakeFreeSWITCH"
        print(
            "(b) outbound: \(Format.grouped(Double(options.sessions))) sessions, \(options.concurrency) at once, "
                + "against \(switchName) …"
        )
        let listeners: [(OutboundBenchmark.Listener, String, String, Bool)] = [
            (.switchboard(handlesEvents: false, onEventLoop: true), "default", "(b) OutboundListener", true),
            (.switchboard(handlesEvents: true, onEventLoop: true), "events", "(b) … handler takes events", false),
            (.switchboard(handlesEvents: false, onEventLoop: false), "pool", "(b) … calls on the pool", false),
            (.switchboard(handlesEvents: true, onEventLoop: false), "before", "(b) … both (as before)", false),
            (.bare, "bare", "(b) ceiling: bare NIO listener", false),
            (.bareC, "c", "(b) floor: bare C listener", false),
        ]
        for (listener, key, label, hasTarget) in listeners {
            if let only = options.outboundListener, only != key { continue }
            // Ceilings and floors on request; the C listener's CPU is its own process's, set beside the simulator's.
            if options.outboundListener == nil, listener == .bare || listener == .bareC, !options.ceilings { continue }
            if listener == .bareC, options.driver != "sim" { continue }
            do {
                var benchmark = OutboundBenchmark(
                    sessions: options.sessions,
                    concurrency: options.concurrency,
                    driver: options.driver,
                    timeout: timeout,
                    logger: logger
                )
                benchmark.listener = listener
                let result = try await benchmark.run()
                let perSession = result.listenerMicrosecondsPerSession
                if hasTarget {
                    report.add(
                        "\(label): CPU per session",
                        Format.fixed(perSession, places: 0) + " µs",
                        target: "≤ 350 µs",
                        passed: perSession <= 350 && result.failures == 0
                    )
                } else {
                    report.add("\(label): CPU per session", Format.fixed(perSession, places: 0) + " µs")
                }
                report.add(
                    "\(label): \(switchName) CPU per session",
                    Format.fixed(result.switchMicrosecondsPerSession, places: 0) + " µs"
                )
                report.add("\(label): sessions/s", Format.grouped(result.sessionsPerSecond) + "/s")
                if result.failures > 0 {
                    report.notes.append(
                        "\(label): \(result.failures) sessions failed, first: \(result.firstFailure ?? "?")"
                    )
                }
                print("    \(label): \(Format.fixed(result.seconds, places: 2)) s")
            } catch {
                report.failed("\(label)", "\(error)", target: hasTarget ? "≤ 350 µs" : "")
            }
        }
    }

    if options.only.contains("c") {
        print("(c) api: \(Format.grouped(Double(options.apiCalls))) sequential 'api status' against switch-sim …")
        let clients: [(APIBenchmark.Client, String, Bool)] = [
            (.commandSocket, "(c) CommandSocket.api", false),
            (.commandSocketOnEventLoop, "(c) CommandSocket.api on its event loop", true),
            (.bare, "(c) ceiling: bare NIO client", false),
            (.blockingC, "(c) floor: blocking C client", false),
        ]
        let measuresLibrary: Set<APIBenchmark.Client> = [.commandSocket, .commandSocketOnEventLoop]
        for (client, label, hasTarget) in clients where measuresLibrary.contains(client) || options.ceilings {
            do {
                var benchmark = APIBenchmark(calls: options.apiCalls, timeout: timeout, logger: logger)
                benchmark.client = client
                let result = try await benchmark.run()
                if hasTarget {
                    report.add(
                        "\(label) p50",
                        Format.fixed(result.p50, places: 1) + " µs",
                        target: "≤ 50 µs",
                        passed: result.p50 <= 50
                    )
                } else {
                    report.add("\(label) p50", Format.fixed(result.p50, places: 1) + " µs")
                }
                report.add(
                    "\(label) p99 / max",
                    Format.fixed(result.p99, places: 1) + " / " + Format.fixed(result.max, places: 1) + " µs"
                )
                report.add(
                    "\(label) CPU/call client / switch",
                    Format.fixed(result.clientMicrosecondsPerCall, places: 1) + " / "
                        + Format.fixed(result.serverMicrosecondsPerCall, places: 1) + " µs"
                )
            } catch {
                report.failed("\(label) p50", "\(error)", target: hasTarget ? "≤ 50 µs" : "")
            }
        }
    }

    if options.only.contains("e") {
        do {
            print("(e) XMPP: \(Format.grouped(Double(options.stanzas))) Rayo stanzas through the stream parser …")
            let result = try StanzaParseBenchmark(stanzas: options.stanzas).run(fixtures: options.fixtures)
            report.add(
                "(e) Rayo stanzas parsed/s, 1 thread",
                Format.grouped(result.stanzasPerSecond) + "/s",
                target: "≥ 100,000/s",
                passed: result.stanzasPerSecond >= 100_000
            )
            print("    \(Format.fixed(result.seconds, places: 2)) s, mean stanza \(result.meanStanzaBytes) B")
        } catch {
            report.failed("(e) Rayo stanzas parsed/s", "\(error)", target: "≥ 100,000/s")
        }
    }

    if options.only.contains("f") {
        do {
            print(
                "(f) Rayo: \(Format.grouped(Double(options.rayoCalls))) calls offered to "
                    + "\(options.rayoClients) clients, then \(Format.grouped(Double(options.rayoAnswers))) <answer/> "
                    + "round trips …"
            )
            let result = try await RayoThroughputRun(
                clients: options.rayoClients,
                calls: options.rayoCalls,
                answers: options.rayoAnswers,
                timeout: timeout,
                logger: logger
            ).run()
            let offers = result.offers
            report.add(
                "(f) Rayo offers/s received, \(offers.clients) clients",
                Format.grouped(offers.offersPerSecond) + "/s",
                target: "≥ 1,000/s",
                passed: offers.offersPerSecond >= 1000 && offers.failures == 0
            )
            report.add("(f) Rayo calls offered/s (each to all)", Format.grouped(offers.callsPerSecond) + "/s")
            if offers.failures > 0 {
                report.notes.append("(f) \(offers.failures) calls failed, first: \(offers.firstFailure ?? "?")")
            }
            if offers.ends < offers.calls * offers.clients {
                report.notes.append(
                    "(f) only \(offers.ends) of \(offers.calls * offers.clients) <end> presences arrived"
                )
            }
            let answers = result.answers
            report.add(
                "(f) Rayo <answer/> IQ round trip p50",
                Format.fixed(answers.p50 / 1000, places: 3) + " ms",
                target: "≤ 1 ms",
                passed: answers.p50 <= 1000
            )
            report.add("(f) Rayo <answer/> IQ round trip p99", Format.fixed(answers.p99 / 1000, places: 3) + " ms")
            report.add("(f) Rayo <answer/> IQ round trip max", Format.fixed(answers.max / 1000, places: 3) + " ms")
            report.add(
                "(f) of it: fake builds CHANNEL_ANSWER",
                Format.fixed(answers.fakeEventMicroseconds, places: 0) + " µs"
            )
            print("    offers: \(Format.fixed(offers.seconds, places: 2)) s")
        } catch {
            report.failed("(f) Rayo offers/s and <answer/> round trip", "\(error)", target: "≥ 1,000/s; ≤ 1 ms")
        }
    }

    report.append(memoryReport)
    SwitchSimulator.cleanUp()
    print("")
    print(report.render(), terminator: "")
    return report.allPassed ? 0 : 1
}
