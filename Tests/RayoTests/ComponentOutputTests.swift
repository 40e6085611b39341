import Rayo
import Testing
import XMPP

/// A bad attribute value and the exact error it must give.
struct BadComponentAttribute: Sendable, CustomTestStringConvertible {
    let attribute: String
    let value: String
    let message: String

    init(_ attribute: String, _ value: String, _ message: String) {
        self.attribute = attribute
        self.value = value
        self.message = message
    }

    var testDescription: String { "\(attribute)='\(value)'" }
}

@Suite("Output component (urn:xmpp:rayo:output:1)")
struct ComponentOutputTests {
    static let minimal = XMLElement(
        "output",
        namespace: RayoNamespace.output,
        children: [.element(XMLElement("document", ["url": "http://example.com/hello.wav"]))]
    )

    @Test("defaults are those of XEP-0327")
    func defaults() throws {
        let output = try RayoOutputRequest(element: Self.minimal)
        #expect(output.documents == [.url("http://example.com/hello.wav")])
        #expect(output.interruptOn == nil)
        #expect(output.startOffset == .zero)
        #expect(output.startPaused == false)
        #expect(output.repeatInterval == .zero)
        #expect(output.repeatTimes == 1)
        #expect(output.maxTime == nil)
        #expect(output.renderer == nil)
        #expect(output.voice == nil)
        #expect(output.element.resolved() == Self.minimal.resolved())
    }

    @Test("every attribute parses")
    func everyAttribute() throws {
        var element = Self.minimal
        element.attributes = [
            XMLAttribute("interrupt-on", "dtmf"), XMLAttribute("start-offset", "1500"),
            XMLAttribute("start-paused", "1"), XMLAttribute("repeat-interval", " 250 "),
            XMLAttribute("repeat-times", "0"), XMLAttribute("max-time", "60000"),
            XMLAttribute("renderer", "flite"), XMLAttribute("voice", "kal"),
        ]
        let output = try RayoOutputRequest(element: element)
        #expect(
            output
                == RayoOutputRequest(
                    documents: [.url("http://example.com/hello.wav")],
                    interruptOn: .dtmf,
                    startOffset: .milliseconds(1500),
                    startPaused: true,
                    repeatInterval: .milliseconds(250),
                    repeatTimes: 0,
                    maxTime: .seconds(60),
                    renderer: "flite",
                    voice: "kal"
                )
        )
        #expect(output.element[attribute: "start-paused"] == "true")
        #expect(output.element[attribute: "repeat-interval"] == "250")
        #expect(try RayoOutputRequest(element: settingAttribute("max-time", "-1", in: element)).maxTime == nil)
        #expect(
            try RayoOutputRequest(element: settingAttribute("start-paused", "false", in: element)).startPaused == false
        )
        #expect(try RayoOutputRequest(element: settingAttribute("start-paused", "0", in: element)).startPaused == false)
    }

    static let badAttributes: [BadComponentAttribute] = [
        BadComponentAttribute(
            "interrupt-on",
            "sometimes",
            "output interrupt-on must be one of any, dtmf, voice, none; got 'sometimes'"
        ),
        BadComponentAttribute(
            "start-offset",
            "-5",
            "output start-offset must be a non-negative integer of milliseconds, got '-5'"
        ),
        BadComponentAttribute(
            "start-offset",
            "soon",
            "output start-offset must be a non-negative integer of milliseconds, got 'soon'"
        ),
        BadComponentAttribute(
            "start-offset",
            "90000000",
            "output start-offset must be at most 86400000 milliseconds, got '90000000'"
        ),
        BadComponentAttribute("start-paused", "yes", "output start-paused must be true or false, got 'yes'"),
        BadComponentAttribute("start-paused", "TRUE", "output start-paused must be true or false, got 'TRUE'"),
        BadComponentAttribute(
            "repeat-interval",
            "1.5",
            "output repeat-interval must be a non-negative integer of milliseconds, got '1.5'"
        ),
        BadComponentAttribute("repeat-times", "x", "output repeat-times must be a non-negative integer, got 'x'"),
        BadComponentAttribute("repeat-times", "-1", "output repeat-times must be a non-negative integer, got '-1'"),
        BadComponentAttribute("repeat-times", "1001", "output repeat-times must be at most 1000, got '1001'"),
        BadComponentAttribute(
            "repeat-times",
            "99999999999999999999999",
            "output repeat-times must be at most 1000, got '99999999999999999999999'"
        ),
        BadComponentAttribute(
            "max-time",
            "-2",
            "output max-time must be -1 or a non-negative integer of milliseconds, got '-2'"
        ),
        BadComponentAttribute(
            "max-time",
            "",
            "output max-time must be -1 or a non-negative integer of milliseconds, got ''"
        ),
        BadComponentAttribute(
            "max-time",
            "1e3",
            "output max-time must be -1 or a non-negative integer of milliseconds, got '1e3'"
        ),
        BadComponentAttribute(
            "max-time",
            "86400001",
            "output max-time must be at most 86400000 milliseconds, got '86400001'"
        ),
        BadComponentAttribute("renderer", "", "output renderer must not be empty"),
        BadComponentAttribute("voice", " ", "output voice must not be empty"),
    ]

    @Test("a bad attribute value gives an error naming the element and attribute", arguments: badAttributes)
    func badAttribute(_ bad: BadComponentAttribute) {
        expectComponentParseError(bad.message, element: "output") {
            _ = try RayoOutputRequest(element: settingAttribute(bad.attribute, bad.value, in: Self.minimal))
        }
        expectComponentParseError(bad.message) {
            _ = try RayoComponentRequest.parse(settingAttribute(bad.attribute, bad.value, in: Self.minimal))
        }
    }

    @Test("documents: several, inline or by URL, and the errors when neither or both")
    func documents() throws {
        let element = XMLElement(
            "output",
            namespace: RayoNamespace.output,
            children: [
                .element(XMLElement("document", ["content-type": "text/plain"], children: [.text("Hello")])),
                .element(XMLElement("document", ["content-type": "audio/wav", "url": "http://example.com/a.wav"])),
                .element(XMLElement("document", children: [.text("<speak/>")])),
            ]
        )
        let output = try RayoOutputRequest(element: element)
        #expect(
            output.documents == [
                .inline(contentType: "text/plain", body: "Hello"),
                .url("http://example.com/a.wav", contentType: "audio/wav"),
                .inline(contentType: "application/ssml+xml", body: "<speak/>"),
            ]
        )
        #expect(try RayoOutputRequest(element: output.element) == output)

        let none = XMLElement("output", namespace: RayoNamespace.output)
        expectComponentParseError("output must contain at least one document", element: "output") {
            _ = try RayoOutputRequest(element: none)
        }
        let empty = XMLElement("output", namespace: RayoNamespace.output, children: [.element(XMLElement("document"))])
        expectComponentParseError("output document needs a url attribute or inline content", element: "document") {
            _ = try RayoOutputRequest(element: empty)
        }
        let blank = XMLElement(
            "output",
            namespace: RayoNamespace.output,
            children: [.element(XMLElement("document", ["content-type": "text/plain"], children: [.text("  \n ")]))]
        )
        expectComponentParseError("output document needs a url attribute or inline content") {
            _ = try RayoOutputRequest(element: blank)
        }
        let both = XMLElement(
            "output",
            namespace: RayoNamespace.output,
            children: [.element(XMLElement("document", ["url": "http://x/a.wav"], children: [.text("Hi")]))]
        )
        expectComponentParseError("output document must have either a url or inline content, not both") {
            _ = try RayoOutputRequest(element: both)
        }
        let emptyType = XMLElement(
            "output",
            namespace: RayoNamespace.output,
            children: [.element(XMLElement("document", ["content-type": ""], children: [.text("Hi")]))]
        )
        expectComponentParseError("output document content-type must not be empty") {
            _ = try RayoOutputRequest(element: emptyType)
        }
        let tooMany = XMLElement(
            "output",
            namespace: RayoNamespace.output,
            children: Array(repeating: .element(XMLElement("document", ["url": "http://x/a.wav"])), count: 3)
        )
        expectComponentParseError("output has 3 document elements, more than the limit of 2") {
            _ = try RayoOutputRequest(element: tooMany, limits: RayoComponentLimits(maxChildren: 2))
        }
    }

    @Test("inline SSML markup embedded without CDATA is kept as markup text")
    func embeddedMarkup() throws {
        let speak = XMLElement(
            "speak",
            namespace: "http://www.w3.org/2001/10/synthesis",
            children: [.text("Hello & welcome")]
        )
        let element = XMLElement(
            "output",
            namespace: RayoNamespace.output,
            children: [
                .element(
                    XMLElement(
                        "document",
                        namespace: RayoNamespace.output,
                        attributes: [XMLAttribute("content-type", "application/ssml+xml")],
                        children: [.element(speak)]
                    )
                )
            ]
        )
        let output = try RayoOutputRequest(element: element)
        #expect(
            output.documents == [
                .inline(
                    contentType: "application/ssml+xml",
                    body: "<speak xmlns='http://www.w3.org/2001/10/synthesis'>Hello &amp; welcome</speak>"
                )
            ]
        )
    }

    @Test("a wrong element is refused with what was expected")
    func wrongElement() {
        expectComponentParseError(
            "expected <output xmlns='urn:xmpp:rayo:output:1'>, got <output xmlns='urn:xmpp:rayo:input:1'>",
            element: "output"
        ) {
            _ = try RayoOutputRequest(element: XMLElement("output", namespace: RayoNamespace.input))
        }
    }

    @Test("round trip of a fully specified output")
    func roundTrip() throws {
        let output = RayoOutputRequest(
            documents: [
                .inline(contentType: "application/ssml+xml", body: "<speak>Hi</speak>"),
                .url("http://example.com/b.mp3"),
            ],
            interruptOn: .any,
            startOffset: .milliseconds(10),
            startPaused: true,
            repeatInterval: .seconds(1),
            repeatTimes: 3,
            maxTime: .zero,
            renderer: "unimrcp",
            voice: "en-US-Wavenet"
        )
        #expect(try RayoOutputRequest(element: output.element) == output)
        #expect(try RayoComponentRequest.parse(output.element) == .output(output))
        #expect(RayoComponentRequest.output(output).element == output.element)
    }

    @Test("commands: pause, resume, seek, speed and volume round-trip")
    func commands() throws {
        let commands: [RayoOutputCommand] = [
            .pause, .resume, .speedUp, .speedDown, .volumeUp, .volumeDown,
            .seek(direction: .forward, amount: .milliseconds(500)), .seek(direction: .back, amount: .zero),
        ]
        for command in commands {
            #expect(try RayoOutputCommand.parse(command.element) == command)
            #expect(try RayoComponentCommand.parse(command.element) == .output(command))
            #expect(RayoComponentCommand.output(command).acceptingKinds == [.output, .prompt])
        }
        #expect(RayoOutputCommand.speedUp.element.serialized() == "<speed-up xmlns='urn:xmpp:rayo:output:1'/>")
        #expect(
            RayoOutputCommand.seek(direction: .back, amount: .seconds(2)).element.serialized()
                == "<seek xmlns='urn:xmpp:rayo:output:1' direction='back' amount='2000'/>"
        )
        #expect(try RayoOutputCommand.parse(XMLElement("rewind", namespace: RayoNamespace.output)) == nil)
        #expect(try RayoComponentCommand.parse(XMLElement("rewind", namespace: RayoNamespace.output)) == nil)
        #expect(try RayoOutputCommand.parse(XMLElement("pause", namespace: RayoNamespace.record)) == nil)
    }

    static let badSeeks: [BadComponentAttribute] = [
        BadComponentAttribute("direction", "sideways", "seek direction must be one of forward, back; got 'sideways'"),
        BadComponentAttribute("amount", "-1", "seek amount must be a non-negative integer of milliseconds, got '-1'"),
        BadComponentAttribute(
            "amount",
            "lots",
            "seek amount must be a non-negative integer of milliseconds, got 'lots'"
        ),
        BadComponentAttribute(
            "amount",
            "86400001",
            "seek amount must be at most 86400000 milliseconds, got '86400001'"
        ),
    ]

    @Test("a bad seek is refused with the attribute at fault", arguments: badSeeks)
    func badSeek(_ bad: BadComponentAttribute) {
        let seek = XMLElement("seek", namespace: RayoNamespace.output, ["direction": "forward", "amount": "100"])
        expectComponentParseError(bad.message, element: "seek") {
            _ = try RayoComponentCommand.parse(settingAttribute(bad.attribute, bad.value, in: seek))
        }
    }

    @Test("a seek without direction or amount is refused")
    func seekMissingAttributes() {
        expectComponentParseError("missing seek direction attribute") {
            _ = try RayoOutputCommand.parse(XMLElement("seek", namespace: RayoNamespace.output, ["amount": "1"]))
        }
        expectComponentParseError("missing seek amount attribute") {
            _ = try RayoOutputCommand.parse(XMLElement("seek", namespace: RayoNamespace.output, ["direction": "back"]))
        }
    }

    @Test("completion reasons finish and max-time")
    func completions() throws {
        for reason in RayoOutputCompletion.allCases {
            #expect(try RayoOutputCompletion(element: reason.element) == reason)
            #expect(try RayoComponentCompletionReason.parse(reason.element) == .output(reason))
        }
        #expect(
            RayoOutputCompletion.maxTime.element.serialized() == "<max-time xmlns='urn:xmpp:rayo:output:complete:1'/>"
        )
        expectComponentParseError(
            "expected a completion reason of output (finish, max-time) in urn:xmpp:rayo:output:complete:1, "
                + "got <done xmlns='urn:xmpp:rayo:output:complete:1'>"
        ) {
            _ = try RayoComponentCompletionReason.parse(XMLElement("done", namespace: RayoNamespace.outputComplete))
        }
    }
}
