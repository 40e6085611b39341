import Testing
import XMPP

@Suite("XMLStreamParser")
struct XMLStreamParserTests {
    static let header =
        "<?xml version='1.0'?><stream:stream to='rayo.localhost' xmlns='jabber:client' "
        + "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

    /// Feeds `parts` (text or raw bytes) to a fresh parser and returns the first error, or `nil`.
    static func firstError(
        _ parts: [[UInt8]],
        limits: XMLStreamLimits = .init(),
        finish: Bool = false
    )
        -> XMLStreamError?
    {
        let parser = XMLStreamParser(limits: limits)
        do {
            for part in parts { _ = try parser.parse(part) }
            if finish { try parser.finish() }
            return nil
        } catch {
            return error
        }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: - Well-formed streams

    @Test func eventsOfASimpleStream() throws {
        let parser = XMLStreamParser()
        let events = try parser.parse(
            Self.bytes(
                Self.header
                    + "<iq type='get' id='a1'><query xmlns='urn:x' xml:lang='fr' n='&lt;&amp;&#x41;'>t<![CDATA[<c>]]>u"
                    + "</query></iq> <presence/></stream:stream>"
            )
        )
        #expect(events.count == 4)
        guard case .streamStart(let root) = events[0], case .stanza(let iq) = events[1],
            case .stanza(let presence) = events[2], case .streamEnd = events[3]
        else {
            Issue.record("unexpected events \(events)")
            return
        }
        #expect(root.name == "stream" && root.namespace == XMPPNamespace.stream && root.children.isEmpty)
        #expect(root[attribute: "to"] == "rayo.localhost" && root[attribute: "version"] == "1.0")
        #expect(parser.streamContentNamespace == XMPPNamespace.client)
        let expected = XMLElement(
            "iq",
            namespace: XMPPNamespace.client,
            ["type": "get", "id": "a1"],
            children: [
                .element(
                    XMLElement(
                        "query",
                        namespace: "urn:x",
                        ["xml:lang": "fr", "n": "<&A"],
                        children: [.text("t<c>u")]
                    )
                )
            ]
        )
        #expect(iq == expected)
        #expect(presence == XMLElement("presence", namespace: XMPPNamespace.client))
    }

    @Test func attributesInForeignNamespacesAreDropped() throws {
        let parser = XMLStreamParser()
        let events = try parser.parse(
            Self.bytes(Self.header + "<iq x:type='result' type='set' xmlns:x='urn:x' xml:lang='de' id='1'/>")
        )
        #expect(
            events.last
                == .stanza(
                    XMLElement("iq", namespace: XMPPNamespace.client, ["type": "set", "xml:lang": "de", "id": "1"])
                )
        )
    }

    @Test func namespacePrefixesResolve() throws {
        let parser = XMLStreamParser()
        let events = try parser.parse(
            Self.bytes(Self.header + "<r:iq xmlns:r='urn:r'><child/><r:x xmlns='urn:d'><y/></r:x></r:iq>")
        )
        let expected = XMLElement(
            "iq",
            namespace: "urn:r",
            children: [
                .element(XMLElement("child", namespace: XMPPNamespace.client)),
                .element(
                    XMLElement("x", namespace: "urn:r", children: [.element(XMLElement("y", namespace: "urn:d"))])
                ),
            ]
        )
        #expect(events.last == .stanza(expected))
    }

    @Test func multibyteTextSplitInsideEverySequence() throws {
        let text = "é€😀 ok"
        let parser = XMLStreamParser()
        var events: [XMLStreamEvent] = []
        for byte in Self.bytes(Self.header + "<message><body>\(text)</body></message>") {
            events += try parser.parse([byte])
        }
        guard case .stanza(let message)? = events.last else {
            Issue.record("no stanza")
            return
        }
        #expect(message.child("body")?.text == text)
    }

    @Test func resetStartsANewDocumentWithAnXMLDeclaration() throws {
        let parser = XMLStreamParser()
        _ = try parser.parse(Self.bytes(Self.header + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"))
        parser.reset()
        let events = try parser.parse(Self.bytes(Self.header + "<iq/>"))
        #expect(events.count == 2)
        #expect(events.last == .stanza(XMLElement("iq", namespace: XMPPNamespace.client)))
    }

    @Test func anXMLDeclarationInsideAStreamIsRefused() {
        let error = Self.firstError([Self.bytes(Self.header + "<iq/>" + "<?xml version='1.0'?>")])
        #expect(error?.code == .notWellFormed || error?.code == .restrictedXML)
    }

    @Test func errorsAreStickyUntilReset() throws {
        let parser = XMLStreamParser()
        #expect(throws: XMLStreamError.self) { try parser.parse(Self.bytes(Self.header + "<iq><!-- no --></iq>")) }
        let again = #expect(throws: XMLStreamError.self) { try parser.parse(Self.bytes("<iq/>")) }
        #expect(again?.code == .restrictedXML)
        parser.reset()
        #expect(try parser.parse(Self.bytes(Self.header + "<iq/>")).count == 2)
    }

    @Test func whitespaceKeepalivesBetweenStanzasAreIgnored() throws {
        let parser = XMLStreamParser()
        var events = try parser.parse(Self.bytes(Self.header))
        for _ in 0..<1000 { events += try parser.parse(Self.bytes(" \n")) }
        events += try parser.parse(Self.bytes("<iq/>"))
        #expect(events.count == 2)
    }

    // MARK: - Restricted XML

    @Test func aDoctypeIsRefused() {
        let error = Self.firstError([Self.bytes("<?xml version='1.0'?><!DOCTYPE stream:stream>" + Self.header)])
        #expect(error?.code == .restrictedXML)
        #expect(error?.streamErrorCondition == .restrictedXML)
        #expect(error?.message.contains("DOCTYPE") == true)
    }

    @Test func anInternalEntityDeclarationIsRefusedAndNeverExpanded() {
        let error = Self.firstError([
            Self.bytes("<?xml version='1.0'?><!DOCTYPE s [<!ENTITY x 'expanded'>]><s>&x;</s>")
        ])
        #expect(error?.code == .restrictedXML)
    }

    @Test func billionLaughsIsRefusedAtOnce() {
        var document = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
        var previous = "lol"
        for level in 1...9 {
            document += "<!ENTITY lol\(level) '" + String(repeating: "&\(previous);", count: 10) + "'>"
            previous = "lol\(level)"
        }
        document += "]><lolz>&lol9;</lolz>"
        let clock = ContinuousClock()
        let start = clock.now
        let error = Self.firstError([Self.bytes(document)])
        #expect(error?.code == .restrictedXML)
        #expect(clock.now - start < .seconds(1))
        #expect(throws: XMLStreamError.self) { try XMLElement.parse(document) }
    }

    @Test(arguments: ["&foo;", "&nbsp;", "&lt;&foo;"])
    func anUndefinedEntityReferenceIsRefused(reference: String) {
        let error = Self.firstError([Self.bytes(Self.header + "<message><body>\(reference)</body></message>")])
        #expect(error?.code == .restrictedXML)
        #expect(error?.streamErrorCondition == .restrictedXML)
    }

    @Test func anEntityReferenceInAnAttributeIsRefused() {
        let error = Self.firstError([Self.bytes(Self.header + "<message to='&foo;'/>")])
        #expect(error?.code == .restrictedXML)
    }

    @Test(arguments: ["<!-- hello -->", "<iq><!--x--></iq>", "<?php echo 1 ?>", "<iq><?pi?></iq>"])
    func commentsAndProcessingInstructionsAreRefused(markup: String) {
        let error = Self.firstError([Self.bytes(Self.header + markup)])
        #expect(error?.code == .restrictedXML)
    }

    @Test func aCommentBeforeTheStreamIsRefused() {
        #expect(Self.firstError([Self.bytes("<!-- x -->" + Self.header)])?.code == .restrictedXML)
    }

    @Test func anEncodingOtherThanUTF8IsRefused() {
        let error = Self.firstError([
            Self.bytes("<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream xmlns='jabber:client'>")
        ])
        #expect(error?.code == .unsupportedEncoding)
        #expect(error?.streamErrorCondition == .unsupportedEncoding)
    }

    // MARK: - Well-formedness

    @Test func aMismatchedEndTagIsNotWellFormed() {
        let error = Self.firstError([Self.bytes(Self.header + "<iq><query></iq>")])
        #expect(error?.code == .notWellFormed)
        #expect(error?.streamErrorCondition == .notWellFormed)
        #expect(error?.line == 1)
        #expect((error?.column ?? 0) > Self.header.utf8.count)
    }

    @Test func theStreamClosingInsideAStanzaIsNotWellFormed() {
        let error = Self.firstError([Self.bytes(Self.header + "<iq><query>"), Self.bytes("</stream:stream>")])
        #expect(error?.code == .notWellFormed)
    }

    @Test func inputEndingInsideAStanzaIsIncomplete() {
        let error = Self.firstError([Self.bytes(Self.header + "<iq><query>")], finish: true)
        #expect(error?.code == .incomplete)
        #expect(error?.message.contains("<query>") == true)
        let insideTag = Self.firstError([Self.bytes(Self.header + "<iq typ")], finish: true)
        #expect(insideTag?.code == .incomplete)
    }

    @Test func inputEndingBetweenStanzasIsNotAnError() {
        #expect(Self.firstError([Self.bytes(Self.header + "<iq/> ")], finish: true) == nil)
        #expect(Self.firstError([Self.bytes(Self.header + "<iq/></stream:stream>")], finish: true) == nil)
    }

    @Test func bytesAfterTheStreamEndAreRefused() {
        let error = Self.firstError([Self.bytes(Self.header + "</stream:stream><iq/>")])
        #expect(error?.code == .notWellFormed)
    }

    @Test func anUndeclaredPrefixIsRefused() {
        #expect(Self.firstError([Self.bytes(Self.header + "<foo:iq/>")])?.code == .notWellFormed)
    }

    @Test func aNULByteIsRefused() {
        let error = Self.firstError([Self.bytes(Self.header + "<message><body>a"), [0], Self.bytes("b</body>")])
        #expect(error?.code == .notWellFormed)
        #expect(error?.message.contains("NUL") == true)
    }

    @Test(
        arguments: [
            ("overlong slash", [0xC0, 0xAF] as [UInt8]),
            ("overlong three bytes", [0xE0, 0x80, 0xAF]),
            ("lone continuation", [0x80]),
            ("surrogate", [0xED, 0xA0, 0x80]),
            ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
            ("truncated before markup", [0xE2, 0x82]),
            ("invalid lead", [0xFF]),
        ]
    )
    func invalidUTF8IsRefusedWithItsPosition(name: String, sequence: [UInt8]) {
        let error = Self.firstError([Self.bytes(Self.header + "\n<message><body>x"), sequence, Self.bytes("</body>")])
        #expect(error?.code == .invalidUTF8, "\(name)")
        #expect(error?.streamErrorCondition == .notWellFormed)
        #expect(error?.line == 2, "\(name)")
    }

    @Test func invalidUTF8InAnAttributeIsRefused() {
        let error = Self.firstError([Self.bytes(Self.header + "<message to='a"), [0xC0, 0x80], Self.bytes("'/>")])
        #expect(error?.code == .invalidUTF8)
    }

    @Test func utf8TruncatedAtTheEndOfInputIsRefused() {
        let error = Self.firstError([Self.bytes(Self.header + "<message><body>x"), [0xE2, 0x82]], finish: true)
        #expect(error?.code == .invalidUTF8)
    }

    // MARK: - Limits

    @Test func aTenMegabyteStanzaFailsOnceTheLimitIsCrossed() throws {
        let limits = XMLStreamLimits()
        let parser = XMLStreamParser(limits: limits)
        _ = try parser.parse(Self.bytes(Self.header))
        _ = try parser.parse(Self.bytes("<message><body>"))
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 65_536)
        var fed = 0
        var failure: XMLStreamError?
        while fed < 10_000_000 {
            do {
                _ = try parser.parse(chunk)
                fed += chunk.count
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.code == .stanzaTooLarge)
        #expect(failure?.streamErrorCondition == .policyViolation)
        #expect(fed <= limits.maxStanzaBytes)
        #expect(failure?.message.contains("<message>") == true)
    }

    @Test func aLargeAttributeValueFailsWithoutTheTagCompleting() {
        let limits = XMLStreamLimits(maxStanzaBytes: 1000)
        let error = Self.firstError(
            [Self.bytes(Self.header + "<message to='"), Array(repeating: UInt8(ascii: "x"), count: 5000)],
            limits: limits
        )
        #expect(error?.code == .stanzaTooLarge)
    }

    @Test func theStanzaLimitIsExact() throws {
        let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
        let stanza = "<message><body>" + String(repeating: "x", count: 100) + "</body></message>"
        let size = stanza.utf8.count
        #expect(header.utf8.count < size)
        let fits = Self.firstError(
            [Self.bytes(header), Self.bytes(stanza + stanza)],
            limits: XMLStreamLimits(maxStanzaBytes: size)
        )
        #expect(fits == nil)
        let tooBig = Self.firstError(
            [Self.bytes(header), Self.bytes(stanza)],
            limits: XMLStreamLimits(maxStanzaBytes: size - 1)
        )
        #expect(tooBig?.code == .stanzaTooLarge)
    }

    @Test func manySmallStanzasDoNotAddUpToTheLimit() throws {
        let parser = XMLStreamParser(limits: XMLStreamLimits(maxStanzaBytes: 200))
        _ = try parser.parse(Self.bytes(Self.header))
        let batch = Self.bytes(String(repeating: "<presence type='available'/>", count: 100))
        var stanzas = 0
        for _ in 0..<10 { stanzas += try parser.parse(batch).count }
        #expect(stanzas == 1000)
    }

    @Test func theStreamHeaderIsBounded() {
        let error = Self.firstError(
            [Self.bytes("<stream:stream xmlns='jabber:client' to='" + String(repeating: "a", count: 300_000))]
        )
        #expect(error?.code == .stanzaTooLarge)
        #expect(error?.message.contains("stream header") == true)
    }

    @Test func tenThousandNestedElementsAreRefused() {
        let nested = String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000)
        let error = Self.firstError([Self.bytes(Self.header + nested)])
        #expect(error?.code == .tooDeep)
        #expect(error?.streamErrorCondition == .policyViolation)
        #expect(throws: XMLStreamError.self) { try XMLElement.parse(nested) }
    }

    @Test func theDepthLimitCountsStanzasFromOne() {
        let limits = XMLStreamLimits(maxDepth: 3)
        #expect(Self.firstError([Self.bytes(Self.header + "<a><b><c/></b></a>")], limits: limits) == nil)
        #expect(
            Self.firstError([Self.bytes(Self.header + "<a><b><c><d/></c></b></a>")], limits: limits)?.code
                == .tooDeep
        )
    }

    @Test func tenThousandAttributesAreRefused() {
        let attributes = (0..<10_000).map { "a\($0)='x'" }.joined(separator: " ")
        let error = Self.firstError([Self.bytes(Self.header + "<iq \(attributes)/>")])
        #expect(error?.code == .tooManyAttributes)
        #expect(error?.streamErrorCondition == .policyViolation)
    }

    @Test func theAttributeLimitIsExact() {
        let limits = XMLStreamLimits(maxAttributes: 3)
        #expect(Self.firstError([Self.bytes(Self.header + "<iq a='1' b='2' c='3'/>")], limits: limits) == nil)
        #expect(
            Self.firstError([Self.bytes(Self.header + "<iq a='1' b='2' c='3' d='4'/>")], limits: limits)?.code
                == .tooManyAttributes
        )
    }

    @Test func aSlowReaderGetsTheSameStanzas() throws {
        let text = Self.header + "<iq type='set' id='x'><dial xmlns='urn:xmpp:rayo:1' to='sip:a@b'/></iq>"
        let whole = try XMLStreamParser().parse(Self.bytes(text))
        let parser = XMLStreamParser()
        var slow: [XMLStreamEvent] = []
        for byte in Self.bytes(text) { slow += try parser.parse([byte]) }
        #expect(slow == whole)
    }

    // MARK: - Standalone documents

    @Test func aStandaloneElementParses() throws {
        let element = try XMLElement.parse("<?xml version='1.0'?>\n<a xmlns='urn:a' k='v'><b>t</b></a>\n")
        #expect(
            element
                == XMLElement(
                    "a",
                    namespace: "urn:a",
                    ["k": "v"],
                    children: [.element(XMLElement("b", namespace: "urn:a", children: [.text("t")]))]
                )
        )
    }

    @Test(arguments: ["", "text", "<a/><b/>", "<a>", "<a><!-- c --></a>", "<a>&x;</a>"])
    func aBadStandaloneDocumentIsRefused(document: String) {
        #expect(throws: XMLStreamError.self) { try XMLElement.parse(document) }
    }

    @Test func aStandaloneDocumentHasLimits() {
        let error = #expect(throws: XMLStreamError.self) {
            try XMLElement.parse("<a>" + String(repeating: "x", count: 100) + "</a>", limits: .init(maxStanzaBytes: 50))
        }
        #expect(error?.code == .stanzaTooLarge)
    }
}
