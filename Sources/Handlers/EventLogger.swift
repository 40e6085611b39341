import EventSocket
import Logging
import Switchboard

/// Logs `event <Event-Name> <Unique-ID>` at info for every event an inbound listener receives.
///
/// The smallest useful inbound handler: a starting point for reporting, CDR shipping or dashboards.
public struct EventLogger: InboundHandler, RegisteredHandler {
    /// `event-logger`.
    public static let name = "event-logger"
    /// What it does.
    public static let summary = "Logs 'event <Event-Name> <Unique-ID>' at info for each event"

    /// Creates the handler.
    public init() {}

    /// Logs the event's name and channel.
    public func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws {
        connection.logger.info("event \(event.name) \(event.uniqueID ?? "-")")
    }
}
