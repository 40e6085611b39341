import EventSocket
import Logging
import Switchboard
import SwitchboardDiagnostics

/// Logs `event <Event-Name> <Unique-ID>` at info for every event an inbound listener receives, or for the events its
/// settings name.
///
/// The smallest useful inbound handler: a starting point for reporting, CDR shipping or dashboards.
public struct EventLogger: InboundHandler, RegisteredHandler {
    /// `event-logger`.
    public static let name = "event-logger"
    /// What it does.
    public static let summary =
        "Logs 'event <Event-Name> <Unique-ID>' at info for each event (or those in its settings)"

    /// The listener's `settings` object.
    ///
    /// ```json
    /// "settings": { "events": ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE", "sofia::register"] }
    /// ```
    public struct Settings: HandlerSettings, Hashable {
        /// `events`: the events to log, by `Event-Name` or, for CUSTOM events, by subclass (`sofia::register`).
        /// Default absent: every event the listener receives. The listener's own `events` key decides what
        /// FreeSWITCH sends (and what event hooks see); this one only what is logged.
        public var events: [String]?

        /// Every event is logged.
        public init() {}

        /// Only these events are logged.
        public init(events: [String]?) { self.events = events }

        /// Reads `events` when present.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            events = try container.decodeIfPresent([String].self, forKey: .events)
        }

        /// An empty list, and names that are empty or hold spaces.
        public func validate() -> [SettingsProblem] {
            guard let events else { return [] }
            if events.isEmpty {
                return [
                    SettingsProblem(key: "events", "must name at least one event; leave the key out to log every event")
                ]
            }
            return events.enumerated().compactMap { index, name in
                let isWord =
                    !name.isEmpty && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 }
                return isWord
                    ? nil
                    : SettingsProblem(
                        key: "events[\(index)]",
                        "must be one event name without spaces, found \"\(name)\""
                    )
            }
        }

        enum CodingKeys: String, CodingKey {
            case events
        }
    }

    /// Which events are logged.
    public let settings: Settings
    private let allowed: Set<String>?

    /// Creates the handler with `settings`.
    public init(settings: Settings) {
        self.settings = settings
        self.allowed = settings.events.map(Set.init)
    }

    /// Creates the handler that logs every event.
    public init() { self.init(settings: Settings()) }

    /// Logs the event's name and channel, when the settings let it through.
    public func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {
        if let allowed {
            let name = event.name
            guard allowed.contains(name) || (name == "CUSTOM" && event.subclass.map(allowed.contains) == true) else {
                return
            }
        }
        connection.logger.info("event \(event.name.loggable) \(event.uniqueID?.loggable ?? "-")")
    }
}
