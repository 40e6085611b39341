import Logging

/// `switchboard-bench load …`: parses the options, runs ``LoadRun`` and prints its report. Returns the exit status:
/// 0 when every call completed, no session was left on either side and resident memory came back within 10 %.
enum LoadCommand {
    static func main(_ arguments: [String], logger: Logger) async -> Int32 {
        let options: LoadOptions
        do {
            options = try LoadOptions.parse(arguments)
        } catch {
            if let message = error.message { printError("switchboard-bench load: \(message)") }
            printError(LoadOptions.usage)
            return error.message == nil ? 0 : 64
        }
        let target = options.privateSwitch ? "a private FreeSWITCH" : "FreeSWITCH at \(options.host):\(options.port)"
        print(
            "switchboard-bench load: \(options.calls) calls (after \(options.warmUpCalls) warm-up), "
                + "\(options.concurrency) at once, through \(target) into the daemon running demo-ivr …"
        )
        let result: LoadRun.Result
        do {
            result = try await LoadRun(options: options, logger: logger).run()
        } catch {
            printError("switchboard-bench load: \(error)")
            return 1
        }
        var report = Report()
        report.add(
            "calls completed",
            "\(Format.grouped(Double(result.completed))) of \(Format.grouped(Double(result.calls)))",
            target: "all",
            passed: result.completed == result.calls
        )
        report.add("calls failed", Format.grouped(Double(result.failures)), target: "0", passed: result.failures == 0)
        report.add(
            "calls without both hangups",
            Format.grouped(Double(result.callsWithoutHangup)),
            target: "0",
            passed: result.callsWithoutHangup == 0
        )
        report.add("calls/s", Format.fixed(result.callsPerSecond, places: 1) + "/s")
        report.add(
            "call setup p50 / p99 (originate → socket leg answered)",
            Format.fixed(result.setupP50 / .milliseconds(1), places: 1) + " / "
                + Format.fixed(result.setupP99 / .milliseconds(1), places: 1) + " ms"
        )
        report.add("daemon CPU per call", Format.fixed(result.daemonMicrosecondsPerCall, places: 0) + " µs")
        report.add(
            "FreeSWITCH CPU per call",
            result.freeswitchMicrosecondsPerCall.map { Format.fixed($0, places: 0) + " µs" }
                ?? "unknown (--freeswitch-pid)"
        )
        report.add(
            "daemon RSS at start → before → peak → after",
            [result.rssAtStartKiB, result.rssBeforeKiB, result.rssPeakKiB, result.rssAfterKiB]
                .map { Format.grouped(Double($0)) }.joined(separator: " → ") + " KiB"
        )
        report.add(
            "of it anonymous (heap, stacks): before → after",
            Format.grouped(Double(result.anonymousBeforeKiB)) + " → "
                + Format.grouped(Double(result.anonymousAfterKiB)) + " KiB"
        )
        report.add(
            "daemon RSS after vs before the run",
            (result.rssGrowth >= 0 ? "+" : "") + Format.fixed(result.rssGrowth * 100, places: 1) + " %",
            target: "≤ +10 %",
            passed: result.rssGrowth <= 0.10
        )
        report.add(
            "outbound sessions left in the daemon (STATUS)",
            result.daemonSessionsLeft.map { "\($0)" } ?? "no STATUS",
            target: "0",
            passed: result.daemonSessionsLeft == 0
        )
        if let left = result.freeswitchSessionsLeft {
            report.add("sessions left in the private FreeSWITCH", "\(left)", target: "0", passed: left == 0)
        }
        report.add(
            "daemon exit status on SIGTERM",
            "\(result.daemonExitStatus)",
            target: "0",
            passed: result.daemonExitStatus == 0
        )
        if result.warmUpFailures > 0 { report.notes.append("\(result.warmUpFailures) warm-up calls failed") }
        for failure in result.firstFailures { report.notes.append(failure) }
        report.notes.append(
            "\(Format.fixed(result.seconds, places: 1)) s; load average \(result.loadBefore) before, "
                + "\(result.loadAfter) after"
        )
        print("")
        print(report.render(), terminator: "")
        return report.allPassed ? 0 : 1
    }
}
