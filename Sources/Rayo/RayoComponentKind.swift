import EventSocket
import XMPP

/// What a component kind asks the machine to do.
enum ComponentEffect: Sendable {
    /// Run a request on the event socket; a failed reply completes the component with `error`.
    case request(SwitchRequest)
    /// Send a presence from the component JID to its owner with this payload (`<start-of-input/>`).
    case progress(XMLElement)
    /// The component is done: send `<complete>` with this reason element, once. Effects after it are ignored.
    case complete(XMLElement)
}

/// What a component kind knows about where it runs.
struct ComponentContext: Sendable {
    /// The call's uuid.
    var callUUID: String
    /// The component JID, `<uuid>@domain/<id>`.
    var componentJID: String
    /// Whether the call is answered.
    var answered: Bool
}

/// One kind of Rayo component (output, input, record, …): how it starts, follows the call's events and obeys
/// commands. The machine owns ids, JIDs, the `<ref>`, routing, and guarantees exactly one `<complete>`: on the
/// kind's own `.complete`, on a failed request (`error`), when the call ends (`hangup`) and when the event socket is
/// lost (`error`).
protocol RayoComponentKind: Sendable {
    /// The prefix of the component ids (`output` gives `output-1`).
    var kindName: String { get }
    /// Starts the component.
    mutating func start(_ context: ComponentContext) -> [ComponentEffect]
    /// An event of the component's call.
    mutating func handle(event: EventSocketEvent, _ context: ComponentContext) -> [ComponentEffect]
    /// A command addressed to the component JID other than `<stop/>`: the IQ's answer (a result payload or an
    /// error) and effects.
    mutating func handle(
        command: XMLElement,
        _ context: ComponentContext
    ) -> (answer: Result<XMLElement?, StanzaError>, effects: [ComponentEffect])
    /// `<stop/>`: stop; complete now (with `stop`) or when the switch confirms.
    mutating func stop(_ context: ComponentContext) -> [ComponentEffect]
}

/// How a component is made from the element that starts it (`<output xmlns='urn:xmpp:rayo:output:1'>`).
struct ComponentFactory: Sendable {
    /// The namespace of the start element.
    var namespace: String
    /// The name of the start element.
    var name: String
    /// Parses the start element into a component; a parse error becomes bad-request.
    var make: @Sendable (XMLElement) throws(RayoParseError) -> any RayoComponentKind

    /// The kinds every machine offers clients. Part 2 adds output, input, prompt, record, CPA and fax here; until
    /// then their namespaces are answered feature-not-implemented.
    static let builtIn: [ComponentFactory] = []
}

/// The namespaces of the media components, answered feature-not-implemented until their kinds exist.
enum ComponentNamespaces {
    static let all: Set<String> = [
        RayoNamespace.output, RayoNamespace.input, RayoNamespace.prompt, RayoNamespace.record, RayoNamespace.cpa,
        RayoNamespace.fax,
    ]
}
