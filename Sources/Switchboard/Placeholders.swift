// Temporary: replaced by the real connection types.
public final class EventSocketConnection: Sendable {}
public final class OutboundSession: Sendable {}
