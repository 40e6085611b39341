import Switchboard

/// One entry of the `listeners` array: an inbound or an outbound listener, chosen by its `kind` key.
public enum ListenerSettings: Sendable, Hashable {
    /// `"kind": "inbound"`: connect to FreeSWITCH's event socket.
    case inbound(InboundListenerSettings)
    /// `"kind": "outbound"`: accept calls that FreeSWITCH's `socket` application hands over.
    case outbound(OutboundListenerSettings)

    /// The listener's `name`: unique in the file, used in logs (`listener.name`) and to match a socket-activated
    /// descriptor (`FileDescriptorName=`).
    public var name: String {
        switch self {
        case .inbound(let settings): settings.name
        case .outbound(let settings): settings.name
        }
    }

    /// The registered name of the handler the listener runs.
    public var handler: String {
        switch self {
        case .inbound(let settings): settings.handler
        case .outbound(let settings): settings.handler
        }
    }

    /// Inbound or outbound; a listener's handler must be of the same kind.
    public var kind: HandlerKind {
        switch self {
        case .inbound: .inbound
        case .outbound: .outbound
        }
    }
}
