/// One metric that Switchboard records through swift-metrics: its Prometheus name, type, labels and meaning.
///
/// The listeners record these with whatever `MetricsFactory` they are given (``MetricsOptions``), or the one
/// bootstrapped in `MetricsSystem`; with neither, swift-metrics' no-op backend costs next to nothing. ``all`` lists
/// every one, so that an exporter can give each its help text and histogram buckets.
public struct SwitchboardMetric: Sendable, Hashable {
    /// How Prometheus treats the values.
    public enum Kind: String, Sendable, Hashable {
        /// Only ever goes up (`_total`); recorded as a swift-metrics `Counter`.
        case counter
        /// Goes up and down; recorded as a swift-metrics `Gauge` or `Meter`.
        case gauge
        /// A distribution in seconds; recorded as a swift-metrics `Timer`.
        case histogram
    }

    /// The metric's name, e.g. `switchboard_events_received_total`.
    public let name: String
    /// Counter, gauge or histogram.
    public let kind: Kind
    /// The label names every series of this metric carries, e.g. `["listener", "command"]`.
    public let labels: [String]
    /// What the metric means, for Prometheus' `# HELP` line.
    public let help: String
    /// A histogram's bucket upper bounds in seconds; empty for counters and gauges.
    public let buckets: [Double]

    /// Describes a metric; the programs built on Switchboard describe their own metrics this way too.
    public init(_ name: String, _ kind: Kind, labels: [String] = ["listener"], buckets: [Double] = [], help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
        self.buckets = buckets
    }
}

extension SwitchboardMetric {
    /// The label that names the listener (its name in the daemon's configuration).
    public static let listenerLabel = "listener"
    /// The label that names the kind of command (`api`, `bgapi`, `execute`, …).
    public static let commandLabel = "command"
    /// The label that names the handler.
    public static let handlerLabel = "handler"

    /// 1 while an inbound listener is logged in and subscribed, or an outbound listener accepts calls; 0 otherwise.
    public static let listenerConnected = SwitchboardMetric(
        "switchboard_listener_connected",
        .gauge,
        help: "1 while the inbound listener is logged in to FreeSWITCH or the outbound listener accepts calls, else 0"
    )
    /// Times an inbound listener logged in again after its connection had dropped.
    public static let listenerReconnects = SwitchboardMetric(
        "switchboard_listener_reconnects_total",
        .counter,
        help: "Times the inbound listener logged in again after its connection to FreeSWITCH had dropped"
    )
    /// Events read from FreeSWITCH.
    public static let eventsReceived = SwitchboardMetric(
        "switchboard_events_received_total",
        .counter,
        help: "Events read from FreeSWITCH"
    )
    /// Events whose hooks and handler have finished.
    public static let eventsHandled = SwitchboardMetric(
        "switchboard_events_handled_total",
        .counter,
        help: "Events whose hooks and handler have run"
    )
    /// Events that never reached a handler.
    public static let eventsDropped = SwitchboardMetric(
        "switchboard_events_dropped_total",
        .counter,
        help: "Events that reached no handler: over the backlog limit (the connection then closes) or unreadable"
    )
    /// Events received but not handled yet.
    public static let eventBacklog = SwitchboardMetric(
        "switchboard_event_backlog",
        .gauge,
        help: "Events received and not handled yet"
    )
    /// Commands written to FreeSWITCH.
    public static let commandsSent = SwitchboardMetric(
        "switchboard_commands_sent_total",
        .counter,
        labels: ["listener", "command"],
        help: "Commands sent to FreeSWITCH"
    )
    /// Commands that FreeSWITCH refused or whose connection closed before they were answered.
    public static let commandsFailed = SwitchboardMetric(
        "switchboard_commands_failed_total",
        .counter,
        labels: ["listener", "command"],
        help: "Commands that FreeSWITCH answered with an error, or whose connection closed before the answer"
    )
    /// Commands with no answer within their timeout.
    public static let commandsTimedOut = SwitchboardMetric(
        "switchboard_commands_timed_out_total",
        .counter,
        labels: ["listener", "command"],
        help: "Commands with no reply (bgapi, execute: no completion) within their timeout"
    )
    /// The round trip of `api` commands.
    public static let apiDuration = SwitchboardMetric(
        "switchboard_api_duration_seconds",
        .histogram,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        help: "Time from sending an api command to its response"
    )
    /// Calls an outbound listener is running now.
    public static let sessionsActive = SwitchboardMetric(
        "switchboard_sessions_active",
        .gauge,
        help: "Calls the outbound listener is running now"
    )
    /// Calls an outbound listener accepted.
    public static let sessionsTotal = SwitchboardMetric(
        "switchboard_sessions_total",
        .counter,
        help: "Calls the outbound listener accepted"
    )
    /// Calls refused because `maxSessions` were running.
    public static let sessionsRefused = SwitchboardMetric(
        "switchboard_sessions_refused_total",
        .counter,
        help: "Calls the outbound listener refused because maxSessions calls were running"
    )
    /// How long outbound sessions lasted.
    public static let sessionDuration = SwitchboardMetric(
        "switchboard_session_duration_seconds",
        .histogram,
        buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200],
        help: "Time from accepting a call's connection to closing it"
    )
    /// Errors thrown by handlers and event hooks.
    public static let handlerErrors = SwitchboardMetric(
        "switchboard_handler_errors_total",
        .counter,
        labels: ["listener", "handler"],
        help: "Errors thrown by a handler (or, handler=\"hooks\", by an event hook); a caller hanging up is none"
    )

    /// Every metric the listeners record.
    public static let all: [SwitchboardMetric] = [
        listenerConnected, listenerReconnects, eventsReceived, eventsHandled, eventsDropped, eventBacklog,
        commandsSent, commandsFailed, commandsTimedOut, apiDuration, sessionsActive, sessionsTotal, sessionsRefused,
        sessionDuration, handlerErrors,
    ]
}
