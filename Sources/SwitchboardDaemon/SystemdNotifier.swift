import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tells systemd how the daemon is doing, through `sd_notify(3)` on the socket named by `NOTIFY_SOCKET`.
///
/// With `Type=notify`, systemd considers the service started only once ``ready()`` was sent, and with
/// `WatchdogSec=` restarts it when ``watchdog()`` stops arriving. Outside systemd (no `NOTIFY_SOCKET`) every call
/// does nothing, so the daemon runs the same from a terminal.
///
/// ```swift
/// let notifier = SystemdNotifier()
/// try notifier.ready()
/// if let interval = notifier.watchdogInterval {
///     while true {
///         try await Task.sleep(for: interval / 2)
///         try notifier.watchdog()
///     }
/// }
/// ```
public struct SystemdNotifier: Sendable {
    /// Creates a notifier. It reads `NOTIFY_SOCKET` at each call, not here.
    public init() {}

    /// Whether systemd (or anything else that set `NOTIFY_SOCKET`) is listening.
    public var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// The service's watchdog interval (`WatchdogSec=`, passed as `WATCHDOG_USEC`), or `nil` when the watchdog is
    /// off or meant for another process. Send ``watchdog()`` at least every half of it.
    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }

    /// `READY=1`: start-up finished (every listener bound). Also ends a reload begun with ``reloading()``.
    public func ready() throws(SystemdError) {
        try notify("READY=1")
    }

    /// `STATUS=…`: one line shown by `systemctl status`, e.g. `"2 inbound connected, 5 calls"`. Line breaks are
    /// replaced by spaces, since they would start new assignments.
    public func status(_ text: String) throws(SystemdError) {
        let line = String(text.map { $0.isNewline ? " " : $0 })
        try notify("STATUS=\(line)")
    }

    /// `WATCHDOG=1`: the daemon is alive. Send it at half of ``watchdogInterval``.
    public func watchdog() throws(SystemdError) {
        try notify("WATCHDOG=1")
    }

    /// `STOPPING=1`: shutdown has begun (listeners closing, calls draining).
    public func stopping() throws(SystemdError) {
        try notify("STOPPING=1")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC`: a reload (SIGHUP) has begun; send ``ready()`` when it is done.
    public func reloading() throws(SystemdError) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
        try notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)")
    }

    /// Sends newline-separated assignments as they are (see `sd_notify(3)`); does nothing without `NOTIFY_SOCKET`.
    public func notify(_ state: String) throws(SystemdError) {
        guard isEnabled else { return }
        let result = sd_notify(0, state)
        if result < 0 {
            throw SystemdError(
                .notificationFailed,
                "sd_notify(\(state.split(separator: "\n").first ?? "")) failed: \(SystemError.describe(-result))",
                errno: -result
            )
        }
    }
}
