/// Whether a handler serves inbound connections (Switchboard connects to FreeSWITCH's event socket) or outbound
/// ones (FreeSWITCH's `socket` application hands a call to Switchboard).
public enum HandlerKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Runs on a connection to FreeSWITCH's event socket (port 8021): events, api, bgapi.
    case inbound
    /// Runs once per call handed over by the dialplan `socket` application (port 8084).
    case outbound

    public var description: String { rawValue }
}

/// A handler type that a ``HandlerRegistry`` lists, so that a program such as the `switchboard` daemon creates it
/// by the name a config file gives, with the settings that file gives.
///
/// A handler without settings adds a name and a summary to a plain handler:
/// ```swift
/// struct HangupReporter: InboundHandler, RegisteredHandler {
///     static let name = "hangup-reporter"
///     static let summary = "Logs the cause of every hangup"
///     func handle(_ event: EventSocketEvent, on connection: EventSocketConnection) async throws { … }
/// }
/// ```
/// A handler with settings names its ``Settings`` type (see ``HandlerSettings``) and is created from it with
/// ``init(settings:)``; a listener without a `settings` object gets the defaults, ``init()``.
public protocol RegisteredHandler: Sendable {
    /// What a listener's `settings` object decodes into. Defaults to ``NoSettings``: the handler takes none, and a
    /// `settings` object with any key in it is a configuration error.
    ///
    /// Conform it to ``HandlerSettings`` (defaults for every key, a range check): then ``init()`` comes for free.
    associatedtype Settings: Decodable & Sendable = NoSettings

    /// The name a config file uses, e.g. `demo-ivr`. Lower case, words joined by `-`.
    static var name: String { get }
    /// One line that says what the handler does, for `switchboard handlers`.
    static var summary: String { get }

    /// Creates the handler with the settings a listener's `settings` object gave; one instance serves the whole
    /// listener. An error thrown here stops the program from starting, with the listener named.
    init(settings: Settings) throws

    /// Creates the handler with its default settings (a listener without a `settings` object).
    ///
    /// A handler without settings writes this one (or has it implicitly); a handler whose settings conform to
    /// ``HandlerSettings`` gets it from ``init(settings:)``.
    init() throws
}

extension RegisteredHandler where Settings == NoSettings {
    /// Creates the handler with ``init()``: it has no settings.
    public init(settings: NoSettings) throws { try self.init() }
}

extension RegisteredHandler where Settings: HandlerSettings {
    /// Creates the handler with ``HandlerSettings/init()``, every setting at its default.
    public init() throws { try self.init(settings: Settings()) }
}

/// The settings of a ``RegisteredHandler``, decoded from a listener's `settings` object.
///
/// Every key has a default, so a listener may leave out any of them (or the whole object). Decode each key with
/// `decodeIfPresent(_:forKey:) ?? default` and check ranges in ``validate()``:
/// ```swift
/// struct Settings: HandlerSettings {
///     var context = "default"
///     var maxDigits = 4
///
///     init() {}
///
///     init(from decoder: any Decoder) throws {
///         let container = try decoder.container(keyedBy: CodingKeys.self)
///         context = try container.decodeIfPresent(String.self, forKey: .context) ?? context
///         maxDigits = try container.decodeIfPresent(Int.self, forKey: .maxDigits) ?? maxDigits
///     }
///
///     func validate() -> [SettingsProblem] {
///         maxDigits >= 1 ? [] : [SettingsProblem(key: "maxDigits", "must be at least 1, found \(maxDigits)")]
///     }
///
///     enum CodingKeys: String, CodingKey { case context, maxDigits }
/// }
/// ```
/// The daemon reports a wrong type, an unknown key and every problem ``validate()`` returns with the key path and
/// line of the value (`listeners[1].settings.maxDigits (line 9, column 58): must be at least 1, found 0`).
public protocol HandlerSettings: Decodable, Sendable {
    /// Every setting at its default: what a listener without a `settings` object gets.
    init()

    /// What is wrong with values that decoded but are not allowed (a range, a combination); empty when nothing is.
    /// Report every problem, not only the first.
    func validate() -> [SettingsProblem]
}

extension HandlerSettings {
    /// No problems: every value that decodes is allowed.
    public func validate() -> [SettingsProblem] { [] }
}

/// The ``RegisteredHandler/Settings`` of a handler that takes none: decodes from an empty object only.
public struct NoSettings: Decodable, Sendable, Hashable {
    /// No settings.
    public init() {}

    /// Requires an object; a reader that reports unknown keys (as the daemon's does) refuses every key in it.
    public init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: NoKeys.self)
    }

    private struct NoKeys: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// A value in a handler's settings that decoded but is not allowed, from ``HandlerSettings/validate()``.
public struct SettingsProblem: Sendable, Hashable, CustomStringConvertible {
    /// The key, relative to the settings object: `maxDigits`, `prompts.invalid`, `events[2]`; `""` for the object
    /// as a whole. The daemon prefixes the listener's path (`listeners[1].settings.maxDigits`).
    public var key: String
    /// What is wrong, in words an operator can act on: `must be at least 1, found 0`.
    public var message: String

    /// Creates a problem.
    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    /// `maxDigits: must be at least 1, found 0`.
    public var description: String { key.isEmpty ? message : "\(key): \(message)" }
}

/// A handler's settings as a listener's `settings` object gave them: decoded and checked, ready to create the
/// handler with ``HandlerRegistry/makeInbound(named:settings:)`` or ``HandlerRegistry/makeOutbound(named:settings:)``.
public struct DecodedHandlerSettings: Sendable {
    /// The handler the settings are for.
    public let handler: String
    /// What ``HandlerSettings/validate()`` found; the handler should not be created unless this is empty.
    public let problems: [SettingsProblem]
    /// The decoded value, of the handler's `Settings` type.
    let value: any Sendable

    /// The decoded value as the handler's `Settings` type; `nil` when it is of another type.
    public func value<Settings>(as type: Settings.Type) -> Settings? { value as? Settings }
}

/// The handlers compiled into a program, known by name.
///
/// Swift cannot discover types at run time, so a program lists its handlers once, explicitly:
/// ```swift
/// let registry = HandlerRegistry(inbound: [EventLogger.self], outbound: [DemoIVR.self])
/// ```
public struct HandlerRegistry: Sendable {
    /// One registered handler.
    public struct Entry: Sendable, Hashable {
        /// The name a config file uses.
        public var name: String
        /// Inbound or outbound.
        public var kind: HandlerKind
        /// What it does, in one line.
        public var summary: String
    }

    /// What the registry knows how to do with one handler type.
    private struct Registration: Sendable {
        var entry: Entry
        var decodeSettings: @Sendable (any Decoder) throws -> DecodedHandlerSettings
        var makeInbound: (@Sendable (DecodedHandlerSettings?) throws -> any InboundHandler)?
        var makeOutbound: (@Sendable (DecodedHandlerSettings?) throws -> any OutboundHandler)?
    }

    private let registrations: [String: Registration]

    /// Registers handler types. Two handlers with one name is a programming error and traps at start-up.
    public init(
        inbound: [any (InboundHandler & RegisteredHandler).Type] = [],
        outbound: [any (OutboundHandler & RegisteredHandler).Type] = []
    ) {
        var byName: [String: Registration] = [:]
        for registration in inbound.map({ Self.inbound($0) }) + outbound.map({ Self.outbound($0) }) {
            precondition(byName[registration.entry.name] == nil, "two handlers are named '\(registration.entry.name)'")
            byName[registration.entry.name] = registration
        }
        registrations = byName
    }

    /// Every registered handler, sorted by name.
    public var entries: [Entry] { registrations.values.map(\.entry).sorted { $0.name < $1.name } }

    /// The kind of the handler with this name, or `nil` when none is registered.
    public func kind(of name: String) -> HandlerKind? { registrations[name]?.entry.kind }

    /// Decodes settings for the handler named `name` from `decoder` and checks them (``HandlerSettings/validate()``).
    ///
    /// - Returns: The settings with the problems found, or `nil` when no handler has that name.
    /// - Throws: What the settings type's `init(from:)` throws, usually a `DecodingError`.
    public func decodeSettings(forHandler name: String, from decoder: any Decoder) throws -> DecodedHandlerSettings? {
        try registrations[name]?.decodeSettings(decoder)
    }

    /// A new inbound handler of the type registered under `name`, created from `settings` (decoded for that name by
    /// ``decodeSettings(forHandler:from:)``) or with its defaults; `nil` when no inbound handler has that name.
    ///
    /// - Throws: What the handler's initializer throws.
    public func makeInbound(named name: String, settings: DecodedHandlerSettings? = nil) throws -> (any InboundHandler)?
    {
        try registrations[name]?.makeInbound?(settings)
    }

    /// A new outbound handler of the type registered under `name`, created from `settings` (decoded for that name by
    /// ``decodeSettings(forHandler:from:)``) or with its defaults; `nil` when no outbound handler has that name.
    ///
    /// - Throws: What the handler's initializer throws.
    public func makeOutbound(
        named name: String,
        settings: DecodedHandlerSettings? = nil
    ) throws -> (any OutboundHandler)? {
        try registrations[name]?.makeOutbound?(settings)
    }

    private static func inbound<Handler: InboundHandler & RegisteredHandler>(_ type: Handler.Type) -> Registration {
        Registration(
            entry: Entry(name: Handler.name, kind: .inbound, summary: Handler.summary),
            decodeSettings: { try decode(Handler.self, from: $0) },
            makeInbound: { try make(Handler.self, settings: $0) }
        )
    }

    private static func outbound<Handler: OutboundHandler & RegisteredHandler>(_ type: Handler.Type) -> Registration {
        Registration(
            entry: Entry(name: Handler.name, kind: .outbound, summary: Handler.summary),
            decodeSettings: { try decode(Handler.self, from: $0) },
            makeOutbound: { try make(Handler.self, settings: $0) }
        )
    }

    private static func decode<Handler: RegisteredHandler>(
        _ type: Handler.Type,
        from decoder: any Decoder
    ) throws -> DecodedHandlerSettings {
        let settings = try Handler.Settings(from: decoder)
        let problems = (settings as? any HandlerSettings)?.validate() ?? []
        return DecodedHandlerSettings(handler: Handler.name, problems: problems, value: settings)
    }

    private static func make<Handler: RegisteredHandler>(
        _ type: Handler.Type,
        settings: DecodedHandlerSettings?
    ) throws -> Handler {
        guard let settings else { return try Handler() }
        guard let value = settings.value as? Handler.Settings, settings.handler == Handler.name else {
            preconditionFailure("settings decoded for '\(settings.handler)' used to create '\(Handler.name)'")
        }
        return try Handler(settings: value)
    }
}

/// How log lines and metrics name a handler: its registered name (`demo-ivr`) when it has one, else its type's name.
func handlerName(of handler: any Sendable) -> String {
    if let registered = handler as? any RegisteredHandler { return type(of: registered).name }
    return String(describing: type(of: handler))
}
