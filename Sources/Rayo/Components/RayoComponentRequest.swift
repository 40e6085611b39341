import XMPP

/// A request that starts a media component on a call or mixer: the payload of an `<iq type='set'>` answered with a
/// `<ref>` to the new component.
public enum RayoComponentRequest: Sendable, Hashable {
    /// The kinds of media component, named as in component ids (`output-1`, `input-2`) and in logs.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Output (`urn:xmpp:rayo:output:1`).
        case output
        /// Input (`urn:xmpp:rayo:input:1`).
        case input
        /// Prompt (`urn:xmpp:rayo:prompt:1`).
        case prompt
        /// Record (`urn:xmpp:rayo:record:1`).
        case record
        /// Call progress analysis (an input with `mode='cpa'`).
        case cpa
        /// Sendfax (`urn:xmpp:rayo:fax:1`).
        case sendFax = "sendfax"
        /// Receivefax (`urn:xmpp:rayo:fax:1`).
        case receiveFax = "receivefax"
    }

    /// `<output>`.
    case output(RayoOutputRequest)
    /// `<input>` other than CPA.
    case input(RayoInputRequest)
    /// `<prompt>`.
    case prompt(RayoPromptRequest)
    /// `<record>`.
    case record(RayoRecordRequest)
    /// `<input mode='cpa'>`.
    case cpa(RayoCPARequest)
    /// `<sendfax>`.
    case sendFax(RayoSendFaxRequest)
    /// `<receivefax>`.
    case receiveFax(RayoReceiveFaxRequest)

    /// Parses a component request; `nil` when the element is not one (not a component namespace, or a name the
    /// namespace does not start a component with). Throws when it is one but malformed.
    public static func parse(
        _ element: XMLElement,
        limits: RayoComponentLimits = .init()
    ) throws(RayoParseError) -> RayoComponentRequest? {
        switch (element.namespace, element.name) {
        case (RayoNamespace.output, "output"):
            return .output(try RayoOutputRequest(element: element, limits: limits))
        case (RayoNamespace.input, "input"):
            let input = try RayoInputRequest(element: element, limits: limits)
            return input.mode == .cpa ? .cpa(try RayoCPARequest(input: input)) : .input(input)
        case (RayoNamespace.prompt, "prompt"):
            return .prompt(try RayoPromptRequest(element: element, limits: limits))
        case (RayoNamespace.record, "record"):
            return .record(try RayoRecordRequest(element: element, limits: limits))
        case (RayoNamespace.fax, "sendfax"):
            return .sendFax(try RayoSendFaxRequest(element: element, limits: limits))
        case (RayoNamespace.fax, "receivefax"):
            return .receiveFax(try RayoReceiveFaxRequest(element: element, limits: limits))
        default:
            return nil
        }
    }

    /// The kind of component this request starts.
    public var kind: Kind {
        switch self {
        case .output: .output
        case .input: .input
        case .prompt: .prompt
        case .record: .record
        case .cpa: .cpa
        case .sendFax: .sendFax
        case .receiveFax: .receiveFax
        }
    }

    /// The request element.
    public var element: XMLElement {
        switch self {
        case .output(let output): output.element
        case .input(let input): input.element
        case .prompt(let prompt): prompt.element
        case .record(let record): record.element
        case .cpa(let cpa): cpa.element
        case .sendFax(let sendFax): sendFax.element
        case .receiveFax(let receiveFax): receiveFax.element
        }
    }
}
