import Rayo
import Testing
import XMPP

@Suite("Input component (urn:xmpp:rayo:input:1)")
struct ComponentInputTests {
    static let minimal = XMLElement(
        "input",
        namespace: RayoNamespace.input,
        children: [
            .element(XMLElement("grammar", ["content-type": "application/srgs+xml"], children: [.text("<grammar/>")]))
        ]
    )

    @Test("defaults are those of XEP-0327 (mode any, as its table and mod_rayo say)")
    func defaults() throws {
        let input = try RayoInputRequest(element: Self.minimal)
        #expect(input.grammars == [.inline(contentType: "application/srgs+xml", body: "<grammar/>")])
        #expect(input.mode == .any)
        #expect(input.terminator == nil)
        #expect(input.recognizer == nil)
        #expect(input.language == "en-US")
        #expect(input.initialTimeout == nil)
        #expect(input.interDigitTimeout == nil)
        #expect(input.recognitionTimeout == nil)
        #expect(input.maxSilence == nil)
        #expect(input.sensitivity == 0.5)
        #expect(input.minConfidence == 0)
        #expect(input.matchContentType == "application/nlsml+xml")
        #expect(input.element.resolved() == Self.minimal.resolved())
    }

    @Test("every attribute parses")
    func everyAttribute() throws {
        var element = Self.minimal
        element.attributes = [
            XMLAttribute("mode", "voice"), XMLAttribute("terminator", "#"), XMLAttribute("recognizer", "unimrcp"),
            XMLAttribute("language", "fr-FR"), XMLAttribute("initial-timeout", "3000"),
            XMLAttribute("inter-digit-timeout", "-1"), XMLAttribute("recognition-timeout", "0"),
            XMLAttribute("max-silence", "1500"), XMLAttribute("sensitivity", "0.25"),
            XMLAttribute("min-confidence", "1"), XMLAttribute("match-content-type", "application/emma+xml"),
        ]
        let input = try RayoInputRequest(element: element)
        #expect(
            input
                == RayoInputRequest(
                    grammars: [.inline(contentType: "application/srgs+xml", body: "<grammar/>")],
                    mode: .voice,
                    terminator: "#",
                    recognizer: "unimrcp",
                    language: "fr-FR",
                    initialTimeout: .seconds(3),
                    interDigitTimeout: nil,
                    recognitionTimeout: .zero,
                    maxSilence: .milliseconds(1500),
                    sensitivity: 0.25,
                    minConfidence: 1,
                    matchContentType: "application/emma+xml"
                )
        )
        #expect(input.element[attribute: "sensitivity"] == "0.25")
        #expect(input.element[attribute: "min-confidence"] == "1")
        #expect(input.element[attribute: "inter-digit-timeout"] == nil)
        #expect(try RayoInputRequest(element: input.element) == input)
        for digit in ["0", "9", "A", "d", "*", "#"] {
            #expect(
                try RayoInputRequest(element: settingAttribute("terminator", digit, in: Self.minimal)).terminator
                    == Character(digit)
            )
        }
    }

    static let badAttributes: [BadComponentAttribute] = [
        BadComponentAttribute("mode", "telepathy", "input mode must be one of any, dtmf, voice, cpa; got 'telepathy'"),
        BadComponentAttribute("mode", "DTMF", "input mode must be one of any, dtmf, voice, cpa; got 'DTMF'"),
        BadComponentAttribute(
            "terminator",
            "##",
            "input terminator must be one DTMF digit (0-9, A-D, * or #), got '##'"
        ),
        BadComponentAttribute("terminator", "x", "input terminator must be one DTMF digit (0-9, A-D, * or #), got 'x'"),
        BadComponentAttribute("terminator", "", "input terminator must be one DTMF digit (0-9, A-D, * or #), got ''"),
        BadComponentAttribute("recognizer", "", "input recognizer must not be empty"),
        BadComponentAttribute("language", "", "input language must not be empty"),
        BadComponentAttribute(
            "initial-timeout",
            "-3",
            "input initial-timeout must be -1 or a non-negative integer of milliseconds, got '-3'"
        ),
        BadComponentAttribute(
            "initial-timeout",
            "ten",
            "input initial-timeout must be -1 or a non-negative integer of milliseconds, got 'ten'"
        ),
        BadComponentAttribute(
            "inter-digit-timeout",
            "5000ms",
            "input inter-digit-timeout must be -1 or a non-negative integer of milliseconds, got '5000ms'"
        ),
        BadComponentAttribute(
            "recognition-timeout",
            "1e3",
            "input recognition-timeout must be -1 or a non-negative integer of milliseconds, got '1e3'"
        ),
        BadComponentAttribute(
            "max-silence",
            "90000000",
            "input max-silence must be at most 86400000 milliseconds, got '90000000'"
        ),
        BadComponentAttribute("sensitivity", "1.5", "input sensitivity must be a decimal between 0 and 1, got '1.5'"),
        BadComponentAttribute("sensitivity", "nan", "input sensitivity must be a decimal between 0 and 1, got 'nan'"),
        BadComponentAttribute(
            "sensitivity",
            "0x1p-1",
            "input sensitivity must be a decimal between 0 and 1, got '0x1p-1'"
        ),
        BadComponentAttribute("sensitivity", ".", "input sensitivity must be a decimal between 0 and 1, got '.'"),
        BadComponentAttribute(
            "min-confidence",
            "-0.1",
            "input min-confidence must be a decimal between 0 and 1, got '-0.1'"
        ),
        BadComponentAttribute(
            "min-confidence",
            "1e-1",
            "input min-confidence must be a decimal between 0 and 1, got '1e-1'"
        ),
        BadComponentAttribute("match-content-type", "", "input match-content-type must not be empty"),
    ]

    @Test("a bad attribute value gives an error naming the element and attribute", arguments: badAttributes)
    func badAttribute(_ bad: BadComponentAttribute) {
        expectComponentParseError(bad.message, element: "input") {
            _ = try RayoInputRequest(element: settingAttribute(bad.attribute, bad.value, in: Self.minimal))
        }
        expectComponentParseError(bad.message) {
            _ = try RayoComponentRequest.parse(settingAttribute(bad.attribute, bad.value, in: Self.minimal))
        }
    }

    @Test("decimals as XML Schema writes them")
    func decimals() throws {
        #expect(
            try RayoInputRequest(element: settingAttribute("sensitivity", ".5", in: Self.minimal)).sensitivity == 0.5
        )
        #expect(
            try RayoInputRequest(element: settingAttribute("sensitivity", "1.000", in: Self.minimal)).sensitivity == 1
        )
        #expect(
            try RayoInputRequest(element: settingAttribute("min-confidence", "+0.75", in: Self.minimal)).minConfidence
                == 0.75
        )
        #expect(
            try RayoInputRequest(element: settingAttribute("min-confidence", " 0 ", in: Self.minimal)).minConfidence
                == 0
        )
    }

    @Test("grammars: several, inline or by URL, content type defaulting to SRGS, errors when neither or both")
    func grammars() throws {
        let element = XMLElement(
            "input",
            namespace: RayoNamespace.input,
            children: [
                .element(XMLElement("grammar", children: [.text("<grammar mode='dtmf'/>")])),
                .element(XMLElement("grammar", ["url": "http://example.com/yesno.grxml"])),
            ]
        )
        let input = try RayoInputRequest(element: element)
        #expect(
            input.grammars == [
                .inline(contentType: "application/srgs+xml", body: "<grammar mode='dtmf'/>"),
                .url("http://example.com/yesno.grxml"),
            ]
        )
        #expect(try RayoInputRequest(element: input.element) == input)
        expectComponentParseError("input must contain at least one grammar", element: "input") {
            _ = try RayoInputRequest(element: XMLElement("input", namespace: RayoNamespace.input))
        }
        let empty = XMLElement("input", namespace: RayoNamespace.input, children: [.element(XMLElement("grammar"))])
        expectComponentParseError("input grammar needs a url attribute or inline content", element: "grammar") {
            _ = try RayoInputRequest(element: empty)
        }
        let both = XMLElement(
            "input",
            namespace: RayoNamespace.input,
            children: [.element(XMLElement("grammar", ["url": "http://x/g.grxml"], children: [.text("<grammar/>")]))]
        )
        expectComponentParseError("input grammar must have either a url or inline content, not both") {
            _ = try RayoInputRequest(element: both)
        }
        let emptyURL = XMLElement(
            "input",
            namespace: RayoNamespace.input,
            children: [.element(XMLElement("grammar", ["url": ""]))]
        )
        expectComponentParseError("input grammar url must not be empty") { _ = try RayoInputRequest(element: emptyURL) }
    }

    @Test("a grammar in another namespace is not one of the input's")
    func foreignGrammar() {
        let element = XMLElement(
            "input",
            namespace: RayoNamespace.input,
            children: [
                .element(XMLElement("grammar", namespace: "http://www.w3.org/2001/06/grammar", children: [.text("x")]))
            ]
        )
        expectComponentParseError("input must contain at least one grammar") {
            _ = try RayoInputRequest(element: element)
        }
    }

    @Test("start-timers command")
    func startTimers() throws {
        let element = XMLElement("start-timers", namespace: RayoNamespace.input)
        #expect(RayoInputCommand.parse(element) == .startTimers)
        #expect(try RayoComponentCommand.parse(element) == .input(.startTimers))
        #expect(RayoInputCommand.startTimers.element == element)
        #expect(RayoComponentCommand.input(.startTimers).acceptingKinds == [.input, .prompt])
        #expect(RayoInputCommand.parse(XMLElement("start-timers", namespace: RayoNamespace.output)) == nil)
    }

    @Test("completion reasons match, nomatch, noinput round-trip")
    func completions() throws {
        let reasons: [RayoInputCompletion] = [
            .match(RayoInputMatch(content: "<result/>")),
            .match(RayoInputMatch(contentType: "application/emma+xml", content: "<emma:emma/>")),
            .nomatch, .noinput,
        ]
        for reason in reasons {
            #expect(try RayoInputCompletion(element: reason.element) == reason)
            #expect(try RayoComponentCompletionReason.parse(reason.element) == .input(reason))
        }
        #expect(RayoInputCompletion.nomatch.element.serialized() == "<nomatch xmlns='urn:xmpp:rayo:input:complete:1'/>")
    }

    @Test("a match without content-type is NLSML; one carrying the result as markup keeps it as text")
    func matchVariants() throws {
        let bare = XMLElement("match", namespace: RayoNamespace.inputComplete, children: [.text("<result/>")])
        #expect(try RayoInputCompletion(element: bare) == .match(RayoInputMatch(content: "<result/>")))
        let result = XMLElement("result", namespace: "http://www.ietf.org/xml/ns/mrcpv2")
        let markup = XMLElement("match", namespace: RayoNamespace.inputComplete, children: [.element(result)])
        #expect(
            try RayoInputCompletion(element: markup)
                == .match(RayoInputMatch(content: "<result xmlns='http://www.ietf.org/xml/ns/mrcpv2'/>"))
        )
        expectComponentParseError("match content-type must not be empty", element: "match") {
            _ = try RayoInputCompletion(element: settingAttribute("content-type", "", in: bare))
        }
        expectComponentParseError(
            "expected a completion reason of input (match, nomatch, noinput) in urn:xmpp:rayo:input:complete:1, "
                + "got <timeout xmlns='urn:xmpp:rayo:input:complete:1'>"
        ) {
            _ = try RayoComponentCompletionReason.parse(XMLElement("timeout", namespace: RayoNamespace.inputComplete))
        }
    }
}

@Suite("Prompt component (urn:xmpp:rayo:prompt:1)")
struct ComponentPromptTests {
    static var prompt: XMLElement {
        XMLElement(
            "prompt",
            namespace: RayoNamespace.prompt,
            children: [.element(RayoCallFixture.outputRequest), .element(RayoCallFixture.inputRequest)]
        )
    }

    @Test("a prompt of the fixture's output and input, barge-in defaulting to true")
    func parse() throws {
        let prompt = try RayoPromptRequest(element: Self.prompt)
        #expect(prompt.bargeIn)
        #expect(try RayoOutputRequest(element: RayoCallFixture.outputRequest) == prompt.output)
        #expect(try RayoInputRequest(element: RayoCallFixture.inputRequest) == prompt.input)
        #expect(prompt.element.resolved() == Self.prompt.resolved())
        #expect(try RayoComponentRequest.parse(Self.prompt) == .prompt(prompt))
        #expect(try RayoPromptRequest(element: settingAttribute("barge-in", "false", in: Self.prompt)).bargeIn == false)
        #expect(
            try RayoPromptRequest(element: settingAttribute("barge-in", "0", in: Self.prompt)).element[
                attribute: "barge-in"
            ]
                == "false"
        )
    }

    @Test("round trip")
    func roundTrip() throws {
        let prompt = RayoPromptRequest(
            output: RayoOutputRequest(documents: [.url("http://x/menu.wav")], repeatTimes: 2),
            input: RayoInputRequest(grammars: [.url("http://x/menu.grxml")], mode: .dtmf, terminator: "*"),
            bargeIn: false
        )
        #expect(try RayoPromptRequest(element: prompt.element) == prompt)
        #expect(RayoComponentRequest.prompt(prompt).kind == .prompt)
    }

    @Test("errors: bad barge-in, a missing or doubled child, a bad nested attribute")
    func errors() {
        expectComponentParseError("prompt barge-in must be true or false, got 'maybe'", element: "prompt") {
            _ = try RayoPromptRequest(element: settingAttribute("barge-in", "maybe", in: Self.prompt))
        }
        var noOutput = Self.prompt
        noOutput.children.removeFirst()
        expectComponentParseError("prompt must contain exactly one output (xmlns 'urn:xmpp:rayo:output:1'), found 0") {
            _ = try RayoPromptRequest(element: noOutput)
        }
        var twoInputs = Self.prompt
        twoInputs.append(RayoCallFixture.inputRequest)
        expectComponentParseError("prompt must contain exactly one input (xmlns 'urn:xmpp:rayo:input:1'), found 2") {
            _ = try RayoPromptRequest(element: twoInputs)
        }
        var badOutput = Self.prompt
        badOutput.children[0] = .element(settingAttribute("repeat-times", "x", in: RayoCallFixture.outputRequest))
        expectComponentParseError("output repeat-times must be a non-negative integer, got 'x'", element: "output") {
            _ = try RayoComponentRequest.parse(badOutput)
        }
    }

    @Test("input-timers-started event")
    func inputTimersStarted() throws {
        let element = XMLElement("input-timers-started", namespace: RayoNamespace.prompt)
        #expect(try RayoComponentEvent.parse(element) == .inputTimersStarted)
        #expect(RayoComponentEvent.inputTimersStarted.element == element)
    }
}

@Suite("Input decimals serialize as XML Schema decimals")
struct ComponentInputDecimalTests {
    @Test(
        "tiny and ordinary fractions round-trip without an exponent",
        arguments: [0.0000001, 0.000015, 0.25, 0.999, 1, 0]
    )
    func fractions(_ value: Double) throws {
        let input = RayoInputRequest(grammars: [.url("http://x/g.grxml")], sensitivity: value, minConfidence: value)
        let element = input.element
        #expect(element[attribute: "min-confidence"].map { !$0.contains("e") } ?? true)
        #expect(try RayoInputRequest(element: element) == input)
    }
}
