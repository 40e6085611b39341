import EventSocket
import XMPP

/// One thing that happened, fed to ``RayoMachine/handle(_:now:)``.
public enum RayoInput: Sendable {
    /// Something a client did (online, presence, a stanza, offline), from the XMPP transport.
    case client(ClientEvent)
    /// A call handed over by FreeSWITCH's `socket` app to the outbound listener running handler `rayo`.
    /// `channelData` is the connect reply's headers; `offerTo` restricts the offer to these bare JIDs or user
    /// names (channel variable `rayo_offer_to`, comma separated), `nil` = anyone.
    case callArrived(uuid: String, channelData: EventSocketEvent, offerTo: [String]?)
    /// An event of the inbound event socket connection (CHANNEL_*, BACKGROUND_JOB, CUSTOM conference::maintenance).
    case switchEvent(EventSocketEvent)
    /// The answer to an ``RayoAction/execute(_:_:)`` action.
    case switchReply(RequestID, SwitchReply)
    /// A timer armed by ``RayoAction/startTimer(_:_:)`` fired.
    case timerFired(TimerID)
    /// The inbound event socket connection dropped (commands in flight got `.disconnected` replies first).
    case eventSocketLost
    /// The connection is back; `liveCalls` are the uuids FreeSWITCH still has.
    case eventSocketRestored(liveCalls: Set<String>)
    /// SIGTERM: stop offering, tell clients the service goes unavailable, let calls finish.
    case drain
}
