import EventSocket

/// Closures to run for events, by event name, by CUSTOM subclass, or for every event.
///
/// ```swift
/// var hooks = EventHooks()
/// hooks.on("CHANNEL_ANSWER") { event, connection in
///     connection.logger.info("answered \(event.uniqueID ?? "-")")
/// }
/// hooks.on(subclass: "sofia::register") { event, _ in print(event["from-user"] ?? "") }
/// ```
///
/// Hooks of one channel run in order; a hook may await commands on the connection.
public struct EventHooks: Sendable {
    /// A hook: the event and the connection it came on.
    public typealias Hook = @Sendable (EventSocketEvent, EventSocketConnection) async throws -> Void

    private var byName: [String: [Hook]] = [:]
    private var bySubclass: [String: [Hook]] = [:]
    private var forAll: [Hook] = []

    /// Creates an empty set of hooks.
    public init() {}

    /// Runs `hook` for every event named `eventName` (e.g. `CHANNEL_HANGUP_COMPLETE`).
    public mutating func on(_ eventName: String, _ hook: @escaping Hook) {
        byName[eventName, default: []].append(hook)
    }

    /// Runs `hook` for every CUSTOM event of this subclass (e.g. `sofia::register`).
    public mutating func on(subclass: String, _ hook: @escaping Hook) {
        bySubclass[subclass, default: []].append(hook)
    }

    /// Runs `hook` for every event.
    public mutating func onAnyEvent(_ hook: @escaping Hook) {
        forAll.append(hook)
    }

    /// Whether no hook is registered.
    public var isEmpty: Bool { byName.isEmpty && bySubclass.isEmpty && forAll.isEmpty }

    /// The hooks for an event, in registration order: by name, by subclass, then for all.
    /// Looks into the event only for what some hook is registered by: a header that an event lacks costs a look at
    /// every one of its lines, and only CUSTOM events carry a subclass.
    func hooks(for event: EventSocketEvent) -> [Hook] {
        if byName.isEmpty && bySubclass.isEmpty { return forAll }
        let name = event.name
        var hooks = byName[name] ?? []
        if !bySubclass.isEmpty, name == "CUSTOM", let subclass = event.subclass,
            let forSubclass = bySubclass[subclass]
        {
            hooks += forSubclass
        }
        return hooks + forAll
    }
}
