/// Whether a handler serves inbound connections (Switchboard connects to FreeSWITCH's event socket) or outbound
/// ones (FreeSWITCH's `socket` application hands a call to Switchboard).
public enum HandlerKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Runs on a connection to FreeSWITCH's event socket (port 8021): events, api, bgapi.
    case inbound
    /// Runs once per call handed over by the dialplan `socket` application (port 8084).
    case outbound

    public var description: String { rawValue }
}

/// A handler type the daemon can create by the name a config file gives.
public protocol NamedHandler: Sendable {
    /// The name a config file uses, e.g. `demo-ivr`. Lower case, words joined by `-`.
    static var name: String { get }
    /// One line that says what the handler does, for `switchboard handlers`.
    static var summary: String { get }
    /// Creates the handler; one instance serves a whole listener.
    init()
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

    private let inbound: [String: any InboundHandler.Type]
    private let outbound: [String: any OutboundHandler.Type]

    /// Registers handler types. Two handlers with one name is a programming error and traps at start-up.
    public init(inbound: [any InboundHandler.Type] = [], outbound: [any OutboundHandler.Type] = []) {
        var inboundByName: [String: any InboundHandler.Type] = [:]
        var outboundByName: [String: any OutboundHandler.Type] = [:]
        for type in inbound {
            precondition(inboundByName[type.name] == nil, "two inbound handlers are named '\(type.name)'")
            inboundByName[type.name] = type
        }
        for type in outbound {
            precondition(
                outboundByName[type.name] == nil && inboundByName[type.name] == nil,
                "two handlers are named '\(type.name)'"
            )
            outboundByName[type.name] = type
        }
        self.inbound = inboundByName
        self.outbound = outboundByName
    }

    /// Every registered handler, sorted by name.
    public var entries: [Entry] {
        let all =
            inbound.values.map { Entry(name: $0.name, kind: .inbound, summary: $0.summary) }
            + outbound.values.map { Entry(name: $0.name, kind: .outbound, summary: $0.summary) }
        return all.sorted { $0.name < $1.name }
    }

    /// The kind of the handler with this name, or `nil` when none is registered.
    public func kind(of name: String) -> HandlerKind? {
        if inbound[name] != nil { return .inbound }
        if outbound[name] != nil { return .outbound }
        return nil
    }

    /// A new inbound handler of the type registered under `name`.
    public func makeInbound(named name: String) -> (any InboundHandler)? { inbound[name]?.init() }

    /// A new outbound handler of the type registered under `name`.
    public func makeOutbound(named name: String) -> (any OutboundHandler)? { outbound[name]?.init() }
}
