import EventSocket
import Logging
import Switchboard

/// The outbound handler `rayo`: each call the dialplan sends with `socket <host>:<port> async full` is handed to the
/// Rayo service (offered to clients, or to the users named in the channel variable `rayo_offer_to`) and its socket
/// held open until the service releases the call or the call hangs up.
///
/// The daemon creates it with ``init(service:)`` for an outbound listener whose handler is `rayo`.
public struct RayoCallHandler: OutboundHandler {
    /// The service calls are handed to.
    public let service: RayoService

    /// A handler that hands calls to `service`.
    public init(service: RayoService) { self.service = service }

    /// Hands the call over and holds it until released.
    public func run(_ session: OutboundSession) async throws {
        await service.hold(session)
    }

    /// Ends the hold when the channel hangs up.
    public func handle(_ event: EventSocketEvent, in session: OutboundSession) async throws {
        if event.name == "CHANNEL_HANGUP_COMPLETE" || event.name == "CHANNEL_HANGUP" {
            service.callHungUp(session.uniqueID)
        }
    }
}
