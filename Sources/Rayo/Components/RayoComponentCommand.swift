import XMPP

/// A command to a running media component, other than the common `<stop xmlns='urn:xmpp:rayo:ext:1'/>` that the
/// component machinery handles for every kind.
public enum RayoComponentCommand: Sendable, Hashable {
    /// An output command (pause, resume, seek, speed and volume).
    case output(RayoOutputCommand)
    /// A record command (pause, resume).
    case record(RayoRecordCommand)
    /// An input command (mod_rayo's start-timers).
    case input(RayoInputCommand)

    /// Parses a component command; `nil` when the element is not one (another namespace, or a name unknown in its
    /// namespace, which deserves `feature-not-implemented`). Throws when it is one but malformed (a bad seek).
    public static func parse(
        _ element: XMLElement,
        limits: RayoComponentLimits = .init()
    ) throws(RayoParseError) -> RayoComponentCommand? {
        switch element.namespace {
        case RayoNamespace.output: try RayoOutputCommand.parse(element, limits: limits).map { .output($0) }
        case RayoNamespace.record: RayoRecordCommand.parse(element).map { .record($0) }
        case RayoNamespace.input: RayoInputCommand.parse(element).map { .input($0) }
        default: nil
        }
    }

    /// The component kinds that accept this command: output commands go to outputs and prompts, record commands to
    /// records, input commands to inputs and prompts.
    public var acceptingKinds: Set<RayoComponentRequest.Kind> {
        switch self {
        case .output: [.output, .prompt]
        case .record: [.record]
        case .input: [.input, .prompt]
        }
    }

    /// The command element.
    public var element: XMLElement {
        switch self {
        case .output(let command): command.element
        case .record(let command): command.element
        case .input(let command): command.element
        }
    }
}

/// An event a running media component sends in a presence from its JID, before it completes.
public enum RayoComponentEvent: Sendable, Hashable {
    /// `<start-of-input xmlns='urn:xmpp:rayo:input:1'/>`: the caller began speaking or pressed the first digit.
    case startOfInput
    /// `<input-timers-started xmlns='urn:xmpp:rayo:prompt:1'/>`: a prompt's output ended and its input timers run.
    case inputTimersStarted
    /// `<signal xmlns='urn:xmpp:rayo:cpa:1'>`: a CPA detector without `terminate` saw a signal.
    case signal(RayoCPASignal)

    /// Parses a component event; `nil` when the element is not one.
    public static func parse(
        _ element: XMLElement,
        limits: RayoComponentLimits = .init()
    ) throws(RayoParseError) -> RayoComponentEvent? {
        switch (element.namespace, element.name) {
        case (RayoNamespace.input, "start-of-input"): .startOfInput
        case (RayoNamespace.prompt, "input-timers-started"): .inputTimersStarted
        case (RayoNamespace.cpa, "signal"): .signal(try RayoCPASignal(element: element, limits: limits))
        default: nil
        }
    }

    /// The event element.
    public var element: XMLElement {
        switch self {
        case .startOfInput: XMLElement("start-of-input", namespace: RayoNamespace.input)
        case .inputTimersStarted: XMLElement("input-timers-started", namespace: RayoNamespace.prompt)
        case .signal(let signal): signal.element
        }
    }
}
