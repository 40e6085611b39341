import XMPP

/// The signal types of call progress analysis (XEP-0341), named by URN.
public enum RayoCPASignalType: String, Sendable, Hashable, CaseIterable {
    /// An answering machine's beep.
    case beep = "urn:xmpp:rayo:cpa:beep:1"
    /// DTMF tones.
    case dtmf = "urn:xmpp:rayo:cpa:dtmf:1"
    /// Voice activity.
    case vad = "urn:xmpp:rayo:cpa:vad:1"
    /// Speech, classified as human or machine.
    case speech = "urn:xmpp:rayo:cpa:speech:1"
    /// A fax CED (answering) tone.
    case faxCED = "urn:xmpp:rayo:cpa:fax-ced:1"
    /// A fax CNG (calling) tone.
    case faxCNG = "urn:xmpp:rayo:cpa:fax-cng:1"
    /// A ringing tone.
    case ring = "urn:xmpp:rayo:cpa:ring:1"
    /// A busy tone.
    case busy = "urn:xmpp:rayo:cpa:busy:1"
    /// A congestion tone.
    case congestion = "urn:xmpp:rayo:cpa:congestion:1"
    /// A Special Information Tone.
    case sit = "urn:xmpp:rayo:cpa:sit:1"
    /// A modem tone.
    case modem = "urn:xmpp:rayo:cpa:modem:1"
    /// An off-hook tone.
    case offhook = "urn:xmpp:rayo:cpa:offhook:1"
}

/// A call progress analysis request (XEP-0341): an `<input xmlns='urn:xmpp:rayo:input:1' mode='cpa'>` whose grammars
/// name the detectors by URL, `urn:xmpp:rayo:cpa:<type>:1?name=value;…;terminate=true`.
///
/// The detection parameters are implementation specific and kept as given (`;` or `&` separated); `terminate` is
/// the one every server must understand: when true, the first such signal completes the component, otherwise each
/// signal is reported as an event until the component is stopped. Other `<input>` attributes do not apply to CPA and
/// are ignored.
public struct RayoCPARequest: Sendable, Hashable {
    /// One requested detector.
    public struct Detector: Sendable, Hashable {
        /// A detection parameter from the grammar URL's query.
        public struct Parameter: Sendable, Hashable {
            /// The parameter's name, e.g. `maxTime`.
            public var name: String
            /// The parameter's value as written, e.g. `4000`.
            public var value: String

            /// Creates a parameter.
            public init(name: String, value: String) {
                self.name = name
                self.value = value
            }
        }

        /// The signal to detect.
        public var type: RayoCPASignalType
        /// Whether the first detected signal completes the component (`terminate`). Default `false`.
        public var terminate: Bool
        /// The other parameters, in order.
        public var parameters: [Parameter]

        /// Creates a detector.
        public init(type: RayoCPASignalType, terminate: Bool = false, parameters: [Parameter] = []) {
            self.type = type
            self.terminate = terminate
            self.parameters = parameters
        }

        /// The grammar URL naming this detector.
        public var url: String {
            var query = parameters.map { "\($0.name)=\($0.value)" }
            if terminate { query.append("terminate=true") }
            return query.isEmpty ? type.rawValue : type.rawValue + "?" + query.joined(separator: ";")
        }

        /// Parses a grammar URL such as `urn:xmpp:rayo:cpa:speech:1?maxTime=4000;terminate=true`.
        public init(url: String) throws(RayoParseError) {
            let (base, query): (Substring, Substring?) =
                if let mark = url.firstIndex(of: "?") {
                    (url[..<mark], url[url.index(after: mark)...])
                } else {
                    (url[...], nil)
                }
            guard let type = RayoCPASignalType(rawValue: String(base)) else {
                let known = RayoCPASignalType.allCases.map(\.rawValue).joined(separator: ", ")
                throw RayoParseError(
                    element: "grammar",
                    message: "input grammar url must name a CPA signal type (\(known)), got '\(url)'"
                )
            }
            var terminate = false
            var parameters: [Parameter] = []
            for pair in (query ?? "").split(whereSeparator: { $0 == ";" || $0 == "&" }) {
                let name: Substring
                let value: Substring
                if let equals = pair.firstIndex(of: "=") {
                    name = pair[..<equals]
                    value = pair[pair.index(after: equals)...]
                } else {
                    name = pair
                    value = ""
                }
                guard !name.isEmpty else {
                    throw RayoParseError(
                        element: "grammar",
                        message: "input grammar url has a parameter without a name: '\(url)'"
                    )
                }
                if name == "terminate" {
                    switch value {
                    case "true", "1": terminate = true
                    case "false", "0": terminate = false
                    default:
                        throw RayoParseError(
                            element: "grammar",
                            message: "input grammar url parameter terminate must be true or false, got '\(value)'"
                        )
                    }
                } else {
                    parameters.append(Parameter(name: String(name), value: String(value)))
                }
            }
            self.init(type: type, terminate: terminate, parameters: parameters)
        }
    }

    /// The detectors, one per signal type; at least one.
    public var detectors: [Detector]

    /// Creates a CPA request.
    public init(detectors: [Detector]) {
        self.detectors = detectors
    }

    /// Parses and validates an `<input mode='cpa'>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        try self.init(input: RayoInputRequest(element: element, limits: limits))
    }

    /// Reads the detectors of a parsed input whose mode is ``RayoInputRequest/Mode/cpa``.
    public init(input: RayoInputRequest) throws(RayoParseError) {
        guard input.mode == .cpa else {
            throw RayoParseError(
                element: "input",
                message: "input mode must be cpa for call progress analysis, got '\(input.mode.rawValue)'"
            )
        }
        var detectors: [Detector] = []
        for grammar in input.grammars {
            guard case .url(let url, _) = grammar else {
                throw RayoParseError(element: "grammar", message: "input grammar for cpa needs a url attribute")
            }
            let detector = try Detector(url: url)
            guard !detectors.contains(where: { $0.type == detector.type }) else {
                throw RayoParseError(
                    element: "grammar",
                    message: "input grammar for cpa names \(detector.type.rawValue) more than once"
                )
            }
            detectors.append(detector)
        }
        self.detectors = detectors
    }

    /// The `<input xmlns='urn:xmpp:rayo:input:1' mode='cpa'>` element.
    public var element: XMLElement {
        RayoInputRequest(grammars: detectors.map { .url($0.url) }, mode: .cpa).element
    }
}

/// A detected signal (XEP-0341): `<signal xmlns='urn:xmpp:rayo:cpa:1' type duration value>`, sent as an event or as
/// the completion reason when the detector's `terminate` is true.
public struct RayoCPASignal: Sendable, Hashable {
    /// The signal type detected.
    public var type: RayoCPASignalType
    /// How long the signal lasted (`duration`, milliseconds), when known.
    public var duration: Duration?
    /// The signal's value when it has one: the digit for DTMF, `human`, `machine` or `notsure` for speech, the
    /// frequency in Hz for a beep.
    public var value: String?

    /// Creates a signal.
    public init(type: RayoCPASignalType, duration: Duration? = nil, value: String? = nil) {
        self.type = type
        self.duration = duration
        self.value = value
    }

    /// Parses a `<signal>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(element, name: "signal", namespace: RayoNamespace.cpa, limits: limits)
        type = try reader.requiredChoice("type", raw: try reader.required("type"))
        duration = reader.string("duration") == nil ? nil : try reader.duration("duration", default: .zero)
        value = reader.string("value").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The `<signal xmlns='urn:xmpp:rayo:cpa:1'>` element.
    public var element: XMLElement {
        XMLElement(
            "signal",
            namespace: RayoNamespace.cpa,
            [
                "type": type.rawValue,
                "duration": duration.map(ComponentAttribute.milliseconds),
                "value": value,
            ]
        )
    }
}
