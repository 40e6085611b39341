import Rayo
import Testing
import XMPP

@Suite("Call progress analysis (XEP-0341, urn:xmpp:rayo:cpa:1)")
struct ComponentCPATests {
    /// XEP-0341's example: speech detection with parameters, and DTMF.
    static let request = XMLElement(
        "input",
        namespace: RayoNamespace.input,
        attributes: [XMLAttribute("mode", "cpa")],
        children: [
            .element(
                XMLElement(
                    "grammar",
                    [
                        "url":
                            "urn:xmpp:rayo:cpa:speech:1?maxTime=4000;minSpeechDuration=4000;minVolume=10;"
                            + "finalSilence=2000;terminate=true"
                    ]
                )
            ),
            .element(XMLElement("grammar", ["url": "urn:xmpp:rayo:cpa:dtmf:1"])),
        ]
    )

    @Test("XEP-0341's example request parses to detectors")
    func parse() throws {
        let cpa = try RayoCPARequest(element: Self.request)
        #expect(
            cpa.detectors == [
                RayoCPARequest.Detector(
                    type: .speech,
                    terminate: true,
                    parameters: [
                        .init(name: "maxTime", value: "4000"), .init(name: "minSpeechDuration", value: "4000"),
                        .init(name: "minVolume", value: "10"), .init(name: "finalSilence", value: "2000"),
                    ]
                ),
                RayoCPARequest.Detector(type: .dtmf),
            ]
        )
        let request = try #require(try RayoComponentRequest.parse(Self.request))
        #expect(request == .cpa(cpa))
        #expect(request.kind == .cpa)
        #expect(cpa.element.resolved() == Self.request.resolved())
        #expect(try RayoCPARequest(element: cpa.element) == cpa)
    }

    @Test("every signal type's URN round-trips, with & separators and terminate=false accepted")
    func signalTypes() throws {
        for type in RayoCPASignalType.allCases {
            let detector = try RayoCPARequest.Detector(url: type.rawValue + "?terminate=false&sensitivity=high")
            #expect(
                detector == RayoCPARequest.Detector(type: type, parameters: [.init(name: "sensitivity", value: "high")])
            )
            #expect(try RayoCPARequest.Detector(url: detector.url) == detector)
        }
        #expect(RayoCPASignalType.faxCED.rawValue == "urn:xmpp:rayo:cpa:fax-ced:1")
    }

    @Test("bad grammars are refused: unknown type, duplicate, bad terminate, inline, unnamed parameter")
    func badGrammars() {
        func input(_ grammars: [XMLElement]) -> XMLElement {
            XMLElement(
                "input",
                namespace: RayoNamespace.input,
                attributes: [XMLAttribute("mode", "cpa")],
                children: grammars.map { .element($0) }
            )
        }
        let known = RayoCPASignalType.allCases.map(\.rawValue).joined(separator: ", ")
        expectComponentParseError(
            "input grammar url must name a CPA signal type (\(known)), got 'urn:xmpp:rayo:cpa:laugh:1'",
            element: "grammar"
        ) {
            _ = try RayoComponentRequest.parse(input([XMLElement("grammar", ["url": "urn:xmpp:rayo:cpa:laugh:1"])]))
        }
        expectComponentParseError("input grammar for cpa names urn:xmpp:rayo:cpa:beep:1 more than once") {
            _ = try RayoCPARequest(
                element: input([
                    XMLElement("grammar", ["url": "urn:xmpp:rayo:cpa:beep:1"]),
                    XMLElement("grammar", ["url": "urn:xmpp:rayo:cpa:beep:1?terminate=true"]),
                ])
            )
        }
        expectComponentParseError("input grammar url parameter terminate must be true or false, got 'maybe'") {
            _ = try RayoCPARequest(
                element: input([XMLElement("grammar", ["url": "urn:xmpp:rayo:cpa:beep:1?terminate=maybe"])])
            )
        }
        expectComponentParseError("input grammar for cpa needs a url attribute") {
            _ = try RayoCPARequest(element: input([XMLElement("grammar", children: [.text("<grammar/>")])]))
        }
        expectComponentParseError("input grammar url has a parameter without a name: 'urn:xmpp:rayo:cpa:vad:1?=5'") {
            _ = try RayoCPARequest(element: input([XMLElement("grammar", ["url": "urn:xmpp:rayo:cpa:vad:1?=5"])]))
        }
        expectComponentParseError("input mode must be cpa for call progress analysis, got 'dtmf'") {
            _ = try RayoCPARequest(element: RayoCallFixture.inputRequest)
        }
    }

    @Test("signal events and completions round-trip")
    func signals() throws {
        let signals = [
            RayoCPASignal(type: .dtmf, duration: .milliseconds(4690), value: "1"),
            RayoCPASignal(type: .speech, duration: .milliseconds(4690), value: "machine"),
            RayoCPASignal(type: .faxCNG),
        ]
        for signal in signals {
            #expect(try RayoCPASignal(element: signal.element) == signal)
            #expect(try RayoComponentEvent.parse(signal.element) == .signal(signal))
            #expect(try RayoComponentCompletionReason.parse(signal.element) == .signal(signal))
        }
        #expect(
            signals[0].element.serialized()
                == "<signal xmlns='urn:xmpp:rayo:cpa:1' type='urn:xmpp:rayo:cpa:dtmf:1' duration='4690' value='1'/>"
        )
    }

    @Test("a malformed signal is refused")
    func badSignals() {
        let good = RayoCPASignal(type: .beep, duration: .seconds(1), value: "1400").element
        let known = RayoCPASignalType.allCases.map(\.rawValue).joined(separator: ", ")
        expectComponentParseError("missing signal type attribute", element: "signal") {
            _ = try RayoCPASignal(element: settingAttribute("type", nil, in: good))
        }
        expectComponentParseError("signal type must be one of \(known); got 'beep'") {
            _ = try RayoComponentEvent.parse(settingAttribute("type", "beep", in: good))
        }
        expectComponentParseError("signal duration must be a non-negative integer of milliseconds, got '-4'") {
            _ = try RayoComponentCompletionReason.parse(settingAttribute("duration", "-4", in: good))
        }
    }
}
