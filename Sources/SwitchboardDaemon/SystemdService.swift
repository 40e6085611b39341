import Logging
import ServiceLifecycle
import Switchboard
import UnixSignals

/// Tells systemd how the daemon is doing: `READY=1` once every listener is up, `STATUS=` with live counts,
/// `WATCHDOG=1` at half the watchdog interval, `STOPPING=1` when shutdown begins.
struct SystemdService: Service {
    let notifier: SystemdNotifier
    let status: DaemonStatus
    let inboundNames: Set<String>
    let outboundNames: Set<String>
    let outboundSessions: @Sendable () -> Int
    /// The Rayo part of the STATUS line; `nil` when no Rayo server runs (readiness then does not wait for it).
    let rayoStatus: (@Sendable () -> String)?
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.announceReadinessAndStatus() }
                if let interval = notifier.watchdogInterval {
                    group.addTask { await self.keepWatchdogFed(every: interval / 2) }
                }
            }
        }
        notify { try notifier.stopping() }
        notify { try notifier.status("stopping: \(outboundSessions()) calls draining") }
    }

    private func announceReadinessAndStatus() async {
        while !status.isReady(inbound: inboundNames, outbound: outboundNames)
            || (rayoStatus != nil && !status.isRayoListening)
        {
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                return
            }
        }
        var last = ""
        notify { try notifier.ready() }
        let rayoNote = rayoStatus == nil ? "" : ", Rayo listening"
        logger.info(
            "ready: \(outboundNames.count) outbound and \(inboundNames.count) inbound listeners up\(rayoNote)"
        )
        while !Task.isCancelled {
            let line = status.statusLine(
                inbound: inboundNames,
                outboundListeners: outboundNames.count,
                outboundSessions: outboundSessions(),
                rayo: rayoStatus?()
            )
            if line != last {
                notify { try notifier.status(line) }
                last = line
            }
            do {
                try await Task.sleep(for: .seconds(1))
            } catch {
                return
            }
        }
    }

    private func keepWatchdogFed(every period: Duration) async {
        while !Task.isCancelled {
            notify { try notifier.watchdog() }
            do {
                try await Task.sleep(for: period)
            } catch {
                return
            }
        }
    }

    private func notify(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            logger.warning("systemd notification failed: \(OperatorText.reason(error))")
        }
    }
}

/// Reopens the log file by path on SIGHUP, for logrotate's `create` + `postrotate` HUP.
struct LogReopenService: Service {
    let logFile: LogFile
    let signals: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    try logFile.reopen()
                    logger.info("reopened the log file on SIGHUP")
                } catch {
                    logger.error("\(OperatorText.reason(error)) (on SIGHUP); logging goes on into the old file")
                }
            }
        }
    }
}
