import Switchboard

/// A listener's `settings` object, decoded and checked for its handler when the configuration was loaded: the daemon
/// creates the handler from it (``HandlerRegistry/makeInbound(named:settings:)``).
public struct ListenerHandlerSettings: Sendable, Hashable {
    /// The settings, of the handler's own `Settings` type.
    public let decoded: DecodedHandlerSettings
    /// The object as the file gave it. Equality and hashing use it, since the decoded value is of a type only the
    /// handler knows.
    let source: JSONValue

    init(decoded: DecodedHandlerSettings, source: JSONValue) {
        self.decoded = decoded
        self.source = source
    }

    /// Settings for the same handler from the same JSON.
    public static func == (lhs: ListenerHandlerSettings, rhs: ListenerHandlerSettings) -> Bool {
        lhs.decoded.handler == rhs.decoded.handler && lhs.source == rhs.source
    }

    /// Hashes the handler's name and the JSON.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(decoded.handler)
        hasher.combine(source)
    }
}
