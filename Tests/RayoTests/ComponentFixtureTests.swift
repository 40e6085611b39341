import Foundation
import Rayo
import Testing
import XMPP

/// The mod_rayo 1.10.12 capture `xmpp/rayo-c2s-call`, as the stream parser hands its stanzas' payloads over:
/// namespaces resolved on every element, CDATA as text.
enum RayoCallFixture {
    static let ssml =
        "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'>"
        + "<audio src='tone_stream://%(300,100,440);loops=2'/></speak>"

    static let srgs =
        "<grammar xmlns='http://www.w3.org/2001/06/grammar' version='1.0' mode='dtmf' root='pin'>"
        + "<rule id='pin' scope='public'><item repeat='4'><one-of><item>0</item><item>1</item><item>2</item>"
        + "<item>3</item><item>4</item><item>5</item><item>6</item><item>7</item><item>8</item><item>9</item>"
        + "</one-of></item><item>#</item></rule></grammar>"

    static let nlsml =
        "<result xmlns='http://www.ietf.org/xml/ns/mrcpv2' xmlns:xf='http://www.w3.org/2000/xforms'>"
        + "<interpretation><input mode='dtmf' confidence='100'>1 2 3 4 #</input>"
        + "<instance>1 2 3 4 #</instance></interpretation></result>"

    /// `<output xmlns='urn:xmpp:rayo:output:1'><document content-type='application/ssml+xml'><![CDATA[…]]>…`
    static var outputRequest: XMLElement {
        XMLElement(
            "output",
            namespace: RayoNamespace.output,
            children: [
                .element(
                    XMLElement(
                        "document",
                        namespace: RayoNamespace.output,
                        attributes: [XMLAttribute("content-type", "application/ssml+xml")],
                        children: [.text(ssml)]
                    )
                )
            ]
        )
    }

    /// `<input xmlns='urn:xmpp:rayo:input:1' mode='dtmf' initial-timeout='10000' inter-digit-timeout='5000'>…`
    static var inputRequest: XMLElement {
        XMLElement(
            "input",
            namespace: RayoNamespace.input,
            attributes: [
                XMLAttribute("mode", "dtmf"), XMLAttribute("initial-timeout", "10000"),
                XMLAttribute("inter-digit-timeout", "5000"),
            ],
            children: [
                .element(
                    XMLElement(
                        "grammar",
                        namespace: RayoNamespace.input,
                        attributes: [XMLAttribute("content-type", "application/srgs+xml")],
                        children: [.text(srgs)]
                    )
                )
            ]
        )
    }

    /// `<complete xmlns='urn:xmpp:rayo:ext:1'><match xmlns='urn:xmpp:rayo:input:complete:1' content-type=…>…`
    static var matchCompletion: XMLElement {
        XMLElement(
            "complete",
            namespace: RayoNamespace.ext,
            children: [
                .element(
                    XMLElement(
                        "match",
                        namespace: RayoNamespace.inputComplete,
                        attributes: [XMLAttribute("content-type", "application/nlsml+xml")],
                        children: [.text(nlsml)]
                    )
                )
            ]
        )
    }

    /// `<finish xmlns='urn:xmpp:rayo:output:complete:1'/>` and `<noinput xmlns='urn:xmpp:rayo:input:complete:1'/>`.
    static let finish = XMLElement("finish", namespace: RayoNamespace.outputComplete)
    static let noinput = XMLElement("noinput", namespace: RayoNamespace.inputComplete)
    static let startOfInput = XMLElement("start-of-input", namespace: RayoNamespace.input)
}

/// Expects `body` to throw a ``RayoParseError`` with exactly `message`, about `element` when given.
func expectComponentParseError(
    _ message: String,
    element: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected the error \"\(message)\", parsed without one", sourceLocation: sourceLocation)
    } catch let error as RayoParseError {
        #expect(error.message == message, sourceLocation: sourceLocation)
        if let element {
            #expect(error.element == element, sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a RayoParseError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// A copy of `element` with `attribute` set to `value`.
func settingAttribute(_ attribute: String, _ value: String?, in element: XMLElement) -> XMLElement {
    var copy = element
    copy[attribute: attribute] = value
    return copy
}

/// The verbatim bytes of the capture `xmpp/rayo-c2s-call` (mod_rayo 1.10.12 over a SIP call), cut into the
/// elements the tests need and parsed with the stream parser's rules.
enum RayoCallCapture {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/xmpp/rayo-c2s-call")

    /// The client's bytes (`to-freeswitch.bin`) or the server's (`from-freeswitch.bin`) as text.
    static func bytes(_ file: String) throws -> String {
        String(decoding: try Data(contentsOf: folder.appendingPathComponent(file)), as: UTF8.self)
    }

    /// The element of `text` that begins with `start` and ends with the first `end` after it, parsed.
    static func element(from start: String, to end: String, in text: String) throws -> XMLElement {
        let begin = try #require(text.range(of: start), "no '\(start)' in the capture")
        let finish = try #require(text.range(of: end, range: begin.upperBound..<text.endIndex))
        return try XMLElement.parse(String(text[begin.lowerBound..<finish.upperBound]))
    }

    /// The payload of the client's `<iq>` with this id.
    static func requestPayload(id: String) throws -> XMLElement {
        let iq = try element(from: "<iq type='set' id='\(id)'", to: "</iq>", in: try bytes("to-freeswitch.bin"))
        return try #require(iq.elements.first)
    }
}

@Suite("Component fixtures: mod_rayo's own stanzas")
struct ComponentFixtureTests {
    @Test("the capture's bytes parse to the elements the other tests build by hand")
    func captureMatchesHandBuiltElements() throws {
        #expect(
            try RayoCallCapture.requestPayload(id: "output1").resolved() == RayoCallFixture.outputRequest.resolved()
        )
        #expect(try RayoCallCapture.requestPayload(id: "input1").resolved() == RayoCallFixture.inputRequest.resolved())
        let complete = try RayoCallCapture.element(
            from: "<complete xmlns='urn:xmpp:rayo:ext:1'><match",
            to: "</complete>",
            in: try RayoCallCapture.bytes("from-freeswitch.bin")
        )
        #expect(complete.resolved() == RayoCallFixture.matchCompletion.resolved())
    }

    @Test("the captured requests and completions parse and serialize back to equivalent XML")
    func captureRoundTrips() throws {
        for id in ["output1", "input1"] {
            let payload = try RayoCallCapture.requestPayload(id: id)
            let request = try #require(try RayoComponentRequest.parse(payload))
            #expect(request.element.resolved() == payload.resolved())
            #expect(try XMLElement.parse(request.element.serialized()).resolved() == payload.resolved())
        }
        let server = try RayoCallCapture.bytes("from-freeswitch.bin")
        let reasons = [
            "<finish xmlns='urn:xmpp:rayo:output:complete:1'/>",
            "<start-of-input xmlns='urn:xmpp:rayo:input:1'/>",
        ]
        for reason in reasons {
            #expect(server.contains(reason))
            let element = try XMLElement.parse(reason)
            let parsed =
                try RayoComponentCompletionReason.parse(element)?.element ?? RayoComponentEvent.parse(element)?.element
            #expect(parsed?.resolved() == element.resolved())
        }
        let match = try RayoCallCapture.element(
            from: "<match xmlns='urn:xmpp:rayo:input:complete:1'",
            to: "</match>",
            in: server
        )
        let reason = try #require(try RayoComponentCompletionReason.parse(match))
        #expect(reason == .input(.match(RayoInputMatch(content: RayoCallFixture.nlsml))))
        #expect(try XMLElement.parse(reason.element.serialized()).resolved() == match.resolved())
    }

    @Test("the fixture's output request parses to the expected value and serializes back")
    func outputRequest() throws {
        let output = try RayoOutputRequest(element: RayoCallFixture.outputRequest)
        #expect(
            output
                == RayoOutputRequest(documents: [
                    .inline(contentType: "application/ssml+xml", body: RayoCallFixture.ssml)
                ])
        )
        #expect(output.element.resolved() == RayoCallFixture.outputRequest.resolved())
        #expect(
            output.element.serialized()
                == "<output xmlns='urn:xmpp:rayo:output:1'><document content-type='application/ssml+xml'>"
                + "&lt;speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'&gt;"
                + "&lt;audio src='tone_stream://%(300,100,440);loops=2'/&gt;&lt;/speak&gt;</document></output>"
        )
        #expect(try RayoComponentRequest.parse(RayoCallFixture.outputRequest) == .output(output))
    }

    @Test("the fixture's input request parses to the expected value and serializes back")
    func inputRequest() throws {
        let input = try RayoInputRequest(element: RayoCallFixture.inputRequest)
        #expect(
            input
                == RayoInputRequest(
                    grammars: [.inline(contentType: "application/srgs+xml", body: RayoCallFixture.srgs)],
                    mode: .dtmf,
                    initialTimeout: .seconds(10),
                    interDigitTimeout: .seconds(5)
                )
        )
        #expect(input.element.resolved() == RayoCallFixture.inputRequest.resolved())
        let request = try #require(try RayoComponentRequest.parse(RayoCallFixture.inputRequest))
        #expect(request == .input(input))
        #expect(request.kind == .input)
    }

    @Test("the fixture's match completion parses to the NLSML result and serializes back")
    func matchCompletion() throws {
        let complete = RayoCallFixture.matchCompletion
        let reasonElement = try #require(complete.elements.first)
        let reason = try #require(try RayoComponentCompletionReason.parse(reasonElement))
        #expect(reason == .input(.match(RayoInputMatch(content: RayoCallFixture.nlsml))))
        #expect(
            XMLElement("complete", namespace: RayoNamespace.ext, children: [.element(reason.element)]).resolved()
                == complete.resolved()
        )
        #expect(
            reason.element.serialized(inScopeNamespace: RayoNamespace.ext)
                == "<match xmlns='urn:xmpp:rayo:input:complete:1' content-type='application/nlsml+xml'>"
                + "&lt;result xmlns='http://www.ietf.org/xml/ns/mrcpv2' xmlns:xf='http://www.w3.org/2000/xforms'&gt;"
                + "&lt;interpretation&gt;&lt;input mode='dtmf' confidence='100'&gt;1 2 3 4 #&lt;/input&gt;"
                + "&lt;instance&gt;1 2 3 4 #&lt;/instance&gt;&lt;/interpretation&gt;&lt;/result&gt;</match>"
        )
    }

    @Test("the fixture's finish, noinput and start-of-input parse and serialize back")
    func otherFixtureEvents() throws {
        #expect(try RayoComponentCompletionReason.parse(RayoCallFixture.finish) == .output(.finish))
        #expect(RayoOutputCompletion.finish.element == RayoCallFixture.finish)
        #expect(try RayoComponentCompletionReason.parse(RayoCallFixture.noinput) == .input(.noinput))
        #expect(RayoInputCompletion.noinput.element == RayoCallFixture.noinput)
        #expect(try RayoComponentEvent.parse(RayoCallFixture.startOfInput) == .startOfInput)
        #expect(RayoComponentEvent.startOfInput.element == RayoCallFixture.startOfInput)
    }

    @Test("the common completion reasons and other namespaces are left to the core")
    func notComponentElements() throws {
        let stop = XMLElement("stop", namespace: RayoNamespace.extComplete)
        #expect(try RayoComponentCompletionReason.parse(stop) == nil)
        #expect(try RayoComponentCompletionMetadata.parse(stop) == nil)
        #expect(try RayoComponentRequest.parse(XMLElement("answer", namespace: RayoNamespace.core)) == nil)
        #expect(try RayoComponentRequest.parse(XMLElement("pause", namespace: RayoNamespace.output)) == nil)
        #expect(try RayoComponentCommand.parse(XMLElement("stop", namespace: RayoNamespace.ext)) == nil)
        #expect(try RayoComponentEvent.parse(XMLElement("answered", namespace: RayoNamespace.core)) == nil)
    }
}
