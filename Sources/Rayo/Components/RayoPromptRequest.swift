import XMPP

/// A prompt component request (XEP-0327 §6.5.5): `<prompt xmlns='urn:xmpp:rayo:prompt:1'>` with exactly one output
/// and one input, whose lifecycles are linked so input may interrupt the output.
public struct RayoPromptRequest: Sendable, Hashable {
    /// Whether input may interrupt the output (`barge-in`). Default `true`.
    public var bargeIn: Bool
    /// The output to render.
    public var output: RayoOutputRequest
    /// The input to collect.
    public var input: RayoInputRequest

    /// Creates a prompt request.
    public init(output: RayoOutputRequest, input: RayoInputRequest, bargeIn: Bool = true) {
        self.output = output
        self.input = input
        self.bargeIn = bargeIn
    }

    /// Parses and validates a `<prompt>` element and its `<output>` and `<input>`.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(
            element,
            name: "prompt",
            namespace: RayoNamespace.prompt,
            limits: limits
        )
        bargeIn = try reader.bool("barge-in", default: true)
        let outputs = element.children("output", namespace: RayoNamespace.output)
        let inputs = element.children("input", namespace: RayoNamespace.input)
        guard outputs.count == 1 else {
            throw reader.error(
                "prompt must contain exactly one output (xmlns '\(RayoNamespace.output)'), found \(outputs.count)"
            )
        }
        guard inputs.count == 1 else {
            throw reader.error(
                "prompt must contain exactly one input (xmlns '\(RayoNamespace.input)'), found \(inputs.count)"
            )
        }
        output = try RayoOutputRequest(element: outputs[0], limits: limits)
        input = try RayoInputRequest(element: inputs[0], limits: limits)
    }

    /// The `<prompt xmlns='urn:xmpp:rayo:prompt:1'>` element.
    public var element: XMLElement {
        XMLElement(
            "prompt",
            namespace: RayoNamespace.prompt,
            ["barge-in": bargeIn ? nil : "false"],
            children: [.element(output.element), .element(input.element)]
        )
    }
}
