import CoreMetrics
import EventSocket
import NIOConcurrencyHelpers

/// The metrics of one listener (``SwitchboardMetric``), made once when the listener is created and shared by all its
/// connections, so that a call costs no metric look-ups.
///
/// Events are counted per read from the socket and per lane worker, never one metric call per event.
final class ListenerMetrics: Sendable {
    /// What an inbound or an outbound listener records beyond what both record.
    enum Role {
        /// Connected to FreeSWITCH's event socket: reconnects; the handler's errors (and the event hooks', named
        /// `hooks`).
        case inbound(handler: String)
        /// Accepting calls: sessions; the handler's errors.
        case outbound(handler: String)
        /// A connection of its own (``CommandSocket``): commands and events only.
        case standalone
    }

    /// The counters of one kind of command.
    final class CommandCounters: Sendable {
        private let sentCounter: Counter
        private let failedCounter: Counter
        private let timedOutCounter: Counter
        /// Whether the round trip goes into ``SwitchboardMetric/apiDuration`` (`api` commands).
        let timesRoundTrip: Bool

        init(kind: String, listener: String, factory: any MetricsFactory) {
            timesRoundTrip = kind == "api"
            let dimensions = [
                (SwitchboardMetric.listenerLabel, listener), (SwitchboardMetric.commandLabel, kind),
            ]
            sentCounter = Counter(label: SwitchboardMetric.commandsSent.name, dimensions: dimensions, factory: factory)
            failedCounter = Counter(
                label: SwitchboardMetric.commandsFailed.name,
                dimensions: dimensions,
                factory: factory
            )
            timedOutCounter = Counter(
                label: SwitchboardMetric.commandsTimedOut.name,
                dimensions: dimensions,
                factory: factory
            )
        }

        /// Counts a command written.
        func sent() { sentCounter.increment() }

        /// Counts an answer that says the command failed (`-ERR`, also in a `bgapi` job's output).
        func failed() { failedCounter.increment() }

        /// Counts how a command ended that did not get its reply or completion.
        func countFailure(_ error: any Error) {
            if let error = error as? SwitchboardError {
                switch error.code {
                case .commandTimedOut: timedOutCounter.increment()
                case .callHungUp: break  // The call ended: the command did not fail, its call did.
                default: failedCounter.increment()
                }
            } else if !(error is CancellationError) {
                failedCounter.increment()
            }
        }
    }

    let listener: String
    private let factory: any MetricsFactory
    private let connected: Gauge
    private let reconnects: Counter?
    private let eventsReceived: Counter
    private let eventsHandled: Counter
    private let eventsDropped: Counter
    private let eventBacklog: Meter
    private let apiDuration: Timer
    private let sessionsActive: Meter?
    private let sessionsTotal: Counter?
    private let sessionsRefused: Counter?
    private let sessionDuration: Timer?
    private let handlerErrors: Counter?
    private let commands = NIOLockedValueBox<[String: CommandCounters]>([:])

    /// A listener's metrics; `options.factory` or else `MetricsSystem.factory`.
    convenience init(_ options: MetricsOptions, role: Role) {
        self.init(listener: options.listener, factory: options.factory ?? MetricsSystem.factory, role: role)
    }

    init(listener: String, factory: any MetricsFactory, role: Role) {
        self.listener = listener
        self.factory = factory
        let dimensions = [(SwitchboardMetric.listenerLabel, listener)]
        func counter(_ metric: SwitchboardMetric) -> Counter {
            Counter(label: metric.name, dimensions: dimensions, factory: factory)
        }
        func meter(_ metric: SwitchboardMetric) -> Meter {
            Meter(label: metric.name, dimensions: dimensions, factory: factory)
        }
        func timer(_ metric: SwitchboardMetric) -> Timer {
            Timer(label: metric.name, dimensions: dimensions, factory: factory)
        }
        connected = Gauge(label: SwitchboardMetric.listenerConnected.name, dimensions: dimensions, factory: factory)
        eventsReceived = counter(.eventsReceived)
        eventsHandled = counter(.eventsHandled)
        eventsDropped = counter(.eventsDropped)
        eventBacklog = meter(.eventBacklog)
        apiDuration = timer(.apiDuration)
        var handler: String?
        switch role {
        case .inbound(let name):
            handler = name
            reconnects = counter(.listenerReconnects)
        case .outbound, .standalone:
            reconnects = nil
        }
        if case .outbound(let name) = role {
            handler = name
            sessionsActive = meter(.sessionsActive)
            sessionsTotal = counter(.sessionsTotal)
            sessionsRefused = counter(.sessionsRefused)
            sessionDuration = timer(.sessionDuration)
        } else {
            sessionsActive = nil
            sessionsTotal = nil
            sessionsRefused = nil
            sessionDuration = nil
        }
        handlerErrors = handler.map { Self.handlerErrorCounter(listener: listener, handler: $0, factory: factory) }
        setConnected(false)
    }

    /// Metrics that go nowhere, for connections that record none.
    static let disabled = ListenerMetrics(listener: "", factory: NOOPMetricsHandler.instance, role: .standalone)

    // MARK: Connections and sessions

    /// Records whether the listener is connected (inbound) or accepting calls (outbound).
    func setConnected(_ isConnected: Bool) { connected.record(isConnected ? 1 : 0) }

    /// Counts a login after a lost connection.
    func reconnected() { reconnects?.increment() }

    /// Counts a call accepted.
    func sessionStarted() {
        sessionsTotal?.increment()
        sessionsActive?.increment()
    }

    /// Counts the end of an accepted call and how long it lasted.
    func sessionEnded(after nanoseconds: UInt64) {
        sessionsActive?.decrement()
        sessionDuration?.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// Counts a call refused at `maxSessions`.
    func sessionRefused() { sessionsRefused?.increment() }

    // MARK: Commands

    /// Records the round trip of an `api` command that got its answer.
    func apiAnswered(after nanoseconds: UInt64) { apiDuration.recordNanoseconds(Int64(clamping: nanoseconds)) }

    /// The counters of a command's kind, made on first use.
    func commands(for command: EventSocketCommand) -> CommandCounters {
        let kind = Self.kind(of: command)
        return commands.withLockedValue { counters in
            if let existing = counters[kind] { return existing }
            let made = CommandCounters(kind: kind, listener: listener, factory: factory)
            counters[kind] = made
            return made
        }
    }

    /// The `command` label: the command's first word (a `sendmsg` that runs an application: `execute`), or `other`
    /// for a word Switchboard does not send itself, so that the label's values stay few.
    static func kind(of command: EventSocketCommand) -> String {
        let verb = command.line.utf8.prefix { $0 != UInt8(ascii: " ") }
        if verb.elementsEqual("sendmsg".utf8) {
            return command.headers["call-command"] == "execute" ? "execute" : "sendmsg"
        }
        return knownVerbs.first { $0.utf8.elementsEqual(verb) } ?? "other"
    }

    private static let knownVerbs = [
        "api", "bgapi", "connect", "auth", "userauth", "event", "nixevent", "noevents", "myevents", "divert_events",
        "filter", "sendevent", "log", "nolog", "linger", "nolinger", "getvar", "exit", "resume",
    ]

    // MARK: Handlers

    /// Counts an error thrown by the listener's handler.
    func handlerFailed() { handlerErrors?.increment() }

    /// Counts an error thrown by an event hook (`handler="hooks"`); hooks are rare, so the counter is looked up then.
    func hookFailed() {
        Self.handlerErrorCounter(listener: listener, handler: "hooks", factory: factory).increment()
    }

    private static func handlerErrorCounter(listener: String, handler: String, factory: any MetricsFactory) -> Counter {
        Counter(
            label: SwitchboardMetric.handlerErrors.name,
            dimensions: [(SwitchboardMetric.listenerLabel, listener), (SwitchboardMetric.handlerLabel, handler)],
            factory: factory
        )
    }

    // MARK: Events

    // The backlog gauge moves first: whoever sees an event counted as handled or dropped also sees it gone from the
    // backlog. (The metrics cannot change together; this order keeps a scrape from seeing an event in both.)

    /// Counts the events of one socket read: `queued` go to the handler, `dropped` never will.
    /// `inline`: events a connection without a read task took on its event loop (received, never queued).
    func eventsArrived(queued: Int, dropped: Int, inline: Int = 0) {
        if queued > 0 { eventBacklog.increment(by: Double(queued)) }
        if dropped > 0 { eventsDropped.increment(by: dropped) }
        eventsReceived.increment(by: queued + dropped + inline)
    }

    /// Counts events that a lane worker handled.
    func eventsHandled(_ count: Int) {
        guard count > 0 else { return }
        eventBacklog.decrement(by: Double(count))
        eventsHandled.increment(by: count)
    }

    /// Counts events that were received but will never be handled (their body did not parse).
    func eventsUnreadable(_ count: Int) {
        guard count > 0 else { return }
        eventBacklog.decrement(by: Double(count))
        eventsDropped.increment(by: count)
    }
}
