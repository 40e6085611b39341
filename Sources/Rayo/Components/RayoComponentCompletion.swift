import XMPP

/// A completion reason specific to a media component, the first child of `<complete xmlns='urn:xmpp:rayo:ext:1'>`.
/// The common reasons (`stop`, `hangup`, `error` in `urn:xmpp:rayo:ext:complete:1`) belong to the component
/// machinery and are not modelled here.
public enum RayoComponentCompletionReason: Sendable, Hashable {
    /// An output reason (`finish`, `max-time`).
    case output(RayoOutputCompletion)
    /// An input or prompt reason (`match`, `nomatch`, `noinput`).
    case input(RayoInputCompletion)
    /// A record reason (`max-duration`, `initial-timeout`, `final-timeout`).
    case record(RayoRecordCompletion)
    /// A CPA detector with `terminate` saw its signal.
    case signal(RayoCPASignal)
    /// A fax reason (`finish`).
    case fax(RayoFaxCompletion)

    /// Parses a component completion reason; `nil` when the element is in none of the component completion
    /// namespaces (the common reasons among them). Throws when it is in one but malformed or unknown there.
    public static func parse(
        _ element: XMLElement,
        limits: RayoComponentLimits = .init()
    ) throws(RayoParseError) -> RayoComponentCompletionReason? {
        switch element.namespace {
        case RayoNamespace.outputComplete: .output(try RayoOutputCompletion(element: element))
        case RayoNamespace.inputComplete: .input(try RayoInputCompletion(element: element))
        case RayoNamespace.recordComplete where element.name != "recording":
            .record(try RayoRecordCompletion(element: element))
        case RayoNamespace.cpa where element.name == "signal":
            .signal(try RayoCPASignal(element: element, limits: limits))
        case RayoNamespace.faxComplete where element.name != "fax" && element.name != "metadata":
            .fax(try RayoFaxCompletion(element: element))
        default: nil
        }
    }

    /// The reason element.
    public var element: XMLElement {
        switch self {
        case .output(let reason): reason.element
        case .input(let reason): reason.element
        case .record(let reason): reason.element
        case .signal(let signal): signal.element
        case .fax(let reason): reason.element
        }
    }
}

/// Data a component reports beside its completion reason inside `<complete>`, whatever the reason (a recording is
/// reported after `<stop/>` too).
public enum RayoComponentCompletionMetadata: Sendable, Hashable {
    /// `<recording uri duration size>` of a record component.
    case recording(RayoRecording)
    /// `<fax url resolution pages size>` of a receivefax component.
    case fax(RayoFax)
    /// `<metadata name value>` of a fax component.
    case faxMetadata(RayoFaxMetadata)

    /// Parses completion metadata; `nil` when the element is not one.
    public static func parse(
        _ element: XMLElement,
        limits: RayoComponentLimits = .init()
    ) throws(RayoParseError) -> RayoComponentCompletionMetadata? {
        switch (element.namespace, element.name) {
        case (RayoNamespace.recordComplete, "recording"):
            .recording(try RayoRecording(element: element, limits: limits))
        case (RayoNamespace.faxComplete, "fax"): .fax(try RayoFax(element: element, limits: limits))
        case (RayoNamespace.faxComplete, "metadata"):
            .faxMetadata(try RayoFaxMetadata(element: element, limits: limits))
        default: nil
        }
    }

    /// The metadata element.
    public var element: XMLElement {
        switch self {
        case .recording(let recording): recording.element
        case .fax(let fax): fax.element
        case .faxMetadata(let metadata): metadata.element
        }
    }
}
