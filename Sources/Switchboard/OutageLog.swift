/// Decides which failed attempts of a reconnect loop reach the log, so that a long outage is neither silent nor
/// hundreds of identical lines: the first failure, then reminders at a slowing pace (after 1 min, then 2, 4 and 8,
/// then every 10 min), and at once any failure whose sentence differs from the last one. On success it says how
/// long the outage lasted and how many attempts it took.
///
/// A pure value: the listener feeds it the time, tests feed it any time they like.
struct OutageLog: Sendable {
    /// What to do with one failed attempt.
    enum Decision: Equatable, Sendable {
        /// Log it: the first failure of the outage, or one that differs from the last.
        case first
        /// Log it as a reminder: still failing after `downtime`, `attempts` attempts so far.
        case reminder(downtime: Duration, attempts: Int)
        /// Log it at debug level only.
        case quiet
    }

    /// The gap before the first reminder; each later gap doubles, up to ``longestReminderGap``.
    static let firstReminderGap: Duration = .seconds(60)
    /// The longest gap between two reminders.
    static let longestReminderGap: Duration = .seconds(600)

    private var start: ContinuousClock.Instant?
    private var failedAttempts = 0
    private var lastSentence: String?
    private var lastLogged: ContinuousClock.Instant?
    private var reminderGap = Self.firstReminderGap

    /// Whether an outage is going on (a failure or a loss since the last success).
    var isOngoing: Bool { start != nil }

    /// An established connection was lost at `now`: the outage starts (the loss itself is logged by the caller).
    mutating func lost(at now: ContinuousClock.Instant) {
        self = OutageLog()
        start = now
    }

    /// An attempt failed at `now` with `sentence` (the words it is logged with, minus the retry delay).
    mutating func failed(_ sentence: String, at now: ContinuousClock.Instant) -> Decision {
        if start == nil { start = now }
        failedAttempts += 1
        if sentence != lastSentence {
            lastSentence = sentence
            lastLogged = now
            reminderGap = Self.firstReminderGap
            return .first
        }
        guard let lastLogged, now - lastLogged >= reminderGap, let start else { return .quiet }
        self.lastLogged = now
        reminderGap = min(reminderGap * 2, Self.longestReminderGap)
        return .reminder(downtime: now - start, attempts: failedAttempts)
    }

    /// An attempt succeeded at `now`: how long the outage lasted and how many attempts it took (this one included),
    /// or `nil` when there was no outage. The log starts afresh.
    mutating func connected(at now: ContinuousClock.Instant) -> (downtime: Duration, attempts: Int)? {
        defer { self = OutageLog() }
        guard let start else { return nil }
        return (now - start, failedAttempts + 1)
    }
}
