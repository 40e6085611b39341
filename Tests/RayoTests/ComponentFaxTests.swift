import Rayo
import TestSupport
import Testing
import XMPP

@Suite("Fax components (XEP-0342, urn:xmpp:rayo:fax:1)")
struct ComponentFaxTests {
    static let sendfax = XMLElement(
        "sendfax",
        namespace: RayoNamespace.fax,
        children: [
            .element(XMLElement("document", namespace: RayoNamespace.fax, ["url": "http://shakespere.lit/my_fax.tiff"]))
        ]
    )

    @Test("XEP-0342's sendfax example, and every document attribute")
    func sendFax() throws {
        let request = try #require(try RayoComponentRequest.parse(Self.sendfax))
        #expect(request == .sendFax(RayoSendFaxRequest(documents: [.init(url: "http://shakespere.lit/my_fax.tiff")])))
        #expect(request.kind == .sendFax)
        #expect(request.element.resolved() == Self.sendfax.resolved())

        let full = RayoSendFaxRequest(
            documents: [
                .init(url: "http://x/a.tiff", identity: "+14155551212", header: "ACME Corp", pages: [1...3, 5...5]),
                .init(url: "http://x/b.tiff"),
            ]
        )
        #expect(full.element.elements[0][attribute: "pages"] == "1-3,5")
        #expect(try RayoSendFaxRequest(element: full.element) == full)
    }

    @Test(
        "sendfax errors: no document, no url, bad page ranges",
        arguments: ["0", "3-1", "a", "1,,2", "1-2-3", "-2", ""]
    )
    func badPages(_ pages: String) {
        var element = Self.sendfax
        element.children = [.element(XMLElement("document", ["url": "http://x/a.tiff", "pages": pages]))]
        expectComponentParseError(
            "sendfax document pages must be one-based page numbers or ranges like 1-3,5; got '\(pages)'",
            element: "document"
        ) {
            _ = try RayoSendFaxRequest(element: element)
        }
    }

    @Test("sendfax without a document or its url is refused")
    func missingDocument() {
        expectComponentParseError("sendfax must contain at least one document", element: "sendfax") {
            _ = try RayoSendFaxRequest(element: XMLElement("sendfax", namespace: RayoNamespace.fax))
        }
        let noURL = XMLElement("sendfax", namespace: RayoNamespace.fax, children: [.element(XMLElement("document"))])
        expectComponentParseError("missing sendfax document url attribute", element: "document") {
            _ = try RayoComponentRequest.parse(noURL)
        }
    }

    @Test("receivefax")
    func receiveFax() throws {
        let element = XMLElement("receivefax", namespace: RayoNamespace.fax)
        #expect(try RayoComponentRequest.parse(element) == .receiveFax(RayoReceiveFaxRequest()))
        #expect(RayoReceiveFaxRequest().element == element)
        #expect(RayoComponentRequest.receiveFax(RayoReceiveFaxRequest()).kind == .receiveFax)
    }

    @Test("XEP-0342's completion: finish, the fax and its metadata")
    func completion() throws {
        let fax = RayoFax(
            url: "http://shakespere.lit/faxes/fax1.tiff",
            resolution: "595x841",
            pages: 3,
            size: 12_287_492_817
        )
        let metadata = RayoFaxMetadata(name: "fax-transfer-rate", value: "10000")
        #expect(try RayoComponentCompletionReason.parse(RayoFaxCompletion.finish.element) == .fax(.finish))
        #expect(try RayoFaxCompletion(element: RayoFaxCompletion.finish.element) == .finish)
        #expect(try RayoComponentCompletionMetadata.parse(fax.element) == .fax(fax))
        #expect(try RayoComponentCompletionMetadata.parse(metadata.element) == .faxMetadata(metadata))
        #expect(try RayoComponentCompletionReason.parse(fax.element) == nil)
        #expect(
            fax.element.serialized()
                == "<fax xmlns='urn:xmpp:rayo:fax:complete:1' url='http://shakespere.lit/faxes/fax1.tiff' "
                + "resolution='595x841' pages='3' size='12287492817'/>"
        )
        #expect(
            metadata.element.serialized()
                == "<metadata xmlns='urn:xmpp:rayo:fax:complete:1' name='fax-transfer-rate' value='10000'/>"
        )
        #expect(RayoComponentCompletionMetadata.faxMetadata(metadata).element == metadata.element)
    }

    @Test("a malformed fax report is refused")
    func badFax() {
        let good = RayoFax(url: "http://x/f.tiff", resolution: "204x196", pages: 1, size: 100).element
        expectComponentParseError("fax resolution must be MxN in pixels, got 'fine'", element: "fax") {
            _ = try RayoFax(element: settingAttribute("resolution", "fine", in: good))
        }
        expectComponentParseError("fax pages must be a non-negative integer, got '-1'") {
            _ = try RayoFax(element: settingAttribute("pages", "-1", in: good))
        }
        expectComponentParseError("fax size must be a non-negative integer of bytes, got 'x'") {
            _ = try RayoFax(element: settingAttribute("size", "x", in: good))
        }
        expectComponentParseError("missing fax url attribute") {
            _ = try RayoFax(element: settingAttribute("url", nil, in: good))
        }
        let metadata = XMLElement("metadata", namespace: RayoNamespace.faxComplete, ["name": "rate"])
        expectComponentParseError("missing metadata value attribute", element: "metadata") {
            _ = try RayoFaxMetadata(element: metadata)
        }
        expectComponentParseError(
            "expected a completion reason of fax (finish) in urn:xmpp:rayo:fax:complete:1, "
                + "got <done xmlns='urn:xmpp:rayo:fax:complete:1'>"
        ) {
            _ = try RayoComponentCompletionReason.parse(XMLElement("done", namespace: RayoNamespace.faxComplete))
        }
    }
}

@Suite("Hostile component input never crashes", .cpuBound)
struct ComponentHostileInputTests {
    static let hostileValues = [
        "", " ", "-", "+", "-1", "-0", "0", "1", "1.5", ".", "..", "1e309", "nan", "inf", "-inf", "0x10",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999999999999",
        "true", "TRUE", "\u{0}", "\u{FFFF}", "é", "1-", "-1-", "a=b;c", "?", "urn:xmpp:rayo:cpa:beep:1?", "\r\n",
        String(repeating: "9", count: 10_000),
    ]

    static let requests: [XMLElement] = [
        RayoCallFixture.outputRequest, RayoCallFixture.inputRequest, ComponentRecordTests.minimal,
        ComponentCPATests.request, ComponentFaxTests.sendfax, ComponentPromptTests.prompt,
    ]

    static let attributes = [
        "interrupt-on", "start-offset", "start-paused", "repeat-interval", "repeat-times", "max-time", "renderer",
        "voice", "mode", "terminator", "recognizer", "language", "initial-timeout", "inter-digit-timeout",
        "recognition-timeout", "sensitivity", "min-confidence", "max-silence", "match-content-type", "barge-in",
        "format", "start-beep", "stop-beep", "max-duration", "final-timeout", "direction", "mix",
    ]

    @Test("every attribute with every hostile value parses or throws, and what parses round-trips")
    func hostileAttributes() throws {
        var parsed = 0
        var refused = 0
        for request in Self.requests {
            for attribute in Self.attributes {
                for value in Self.hostileValues {
                    do {
                        if let component = try RayoComponentRequest.parse(
                            settingAttribute(attribute, value, in: request)
                        ) {
                            #expect(try RayoComponentRequest.parse(component.element) == component)
                            parsed += 1
                        }
                    } catch {
                        #expect(!error.message.isEmpty)
                        refused += 1
                    }
                }
            }
        }
        #expect(parsed > 0)
        #expect(refused > 0)
    }

    @Test("hostile document, grammar and CPA URLs parse or throw")
    func hostileChildren() {
        for value in Self.hostileValues {
            let cpa = XMLElement(
                "input",
                namespace: RayoNamespace.input,
                attributes: [XMLAttribute("mode", "cpa")],
                children: [.element(XMLElement("grammar", ["url": "urn:xmpp:rayo:cpa:beep:1?" + value]))]
            )
            let fax = XMLElement(
                "sendfax",
                namespace: RayoNamespace.fax,
                children: [.element(XMLElement("document", ["url": "http://x/a.tiff", "pages": value]))]
            )
            for element in [cpa, fax] {
                do {
                    if let request = try RayoComponentRequest.parse(element) {
                        #expect(try RayoComponentRequest.parse(request.element) == request)
                    }
                } catch {
                    #expect(!error.message.isEmpty)
                }
            }
        }
    }
}
