import EventSocket
import NIOCore
import Testing

/// Event parsing on hand-made bodies: URL decoding exactly once, `_undef_`, arrays, the header-injection trap, and
/// malformed input in each format.
@Suite struct EventParsingTests {
    private static func plain(_ body: String) throws -> EventSocketEvent {
        try EventSocketEvent(plain: ByteBuffer(string: body))
    }

    private static func frame(_ type: ContentType, _ body: String) -> EventSocketFrame {
        EventSocketFrame(
            headers: ["Content-Length": "\(body.utf8.count)", "Content-Type": type.rawValue],
            body: ByteBuffer(string: body)
        )
    }

    private static func xml(_ headers: String, after: String = "") -> EventSocketFrame {
        frame(.eventXML, "<event>\n  <headers>\n\(headers)\n  </headers>\n\(after)</event>\n")
    }

    // MARK: - The name on the first line

    @Test func leadingEventNameComparesTheWholeFirstLineOnly() {
        let complete = Self.frame(.eventPlain, "Event-Name: CHANNEL_EXECUTE_COMPLETE\nUnique-ID: u1\n\n")
        #expect(complete.leadingEventName(is: "CHANNEL_EXECUTE_COMPLETE") == true)
        #expect(complete.leadingEventName(is: "CHANNEL_EXECUTE") == false)
        let execute = Self.frame(.eventPlain, "Event-Name: CHANNEL_EXECUTE\nUnique-ID: u1\n\n")
        #expect(execute.leadingEventName(is: "CHANNEL_EXECUTE_COMPLETE") == false)
        // Not said up front (another order, JSON, no line end, no body): only parsing tells.
        let later = Self.frame(.eventPlain, "Unique-ID: u1\nEvent-Name: CHANNEL_EXECUTE_COMPLETE\n\n")
        #expect(later.leadingEventName(is: "CHANNEL_EXECUTE_COMPLETE") == nil)
        let json = Self.frame(.eventJSON, #"{"Event-Name": "CHANNEL_EXECUTE_COMPLETE"}"#)
        #expect(json.leadingEventName(is: "CHANNEL_EXECUTE_COMPLETE") == nil)
        #expect(Self.frame(.eventPlain, "Event-Name: BACKGROUND_JOB").leadingEventName(is: "BACKGROUND_JOB") == nil)
        #expect(EventSocketFrame(headers: ["Content-Type": "text/event-plain"]).leadingEventName(is: "X") == nil)
    }

    // MARK: - Decoding once

    @Test func plainValuesAreDecodedExactlyOnce() throws {
        let event = try Self.plain(
            "Event-Name: CUSTOM\nX-Percent: 100%2525\nX-Plus: a+b%2Bc\nX-Path: tone_stream%3A//%25(1,2,3)\n"
        )
        #expect(event["X-Percent"] == "100%25")
        #expect(event["X-Plus"] == "a+b+c")
        #expect(event["X-Path"] == "tone_stream://%(1,2,3)")
        #expect(event.headers["X-Percent"] == "100%25")
    }

    @Test func xmlValuesAreDecodedExactlyOnce() throws {
        let event = try EventSocketEvent(
            frame: Self.xml("<Event-Name>CUSTOM</Event-Name><X-Percent>100%2525</X-Percent><X-Amp>a%26b&amp;c</X-Amp>")
        )
        #expect(event.format == .xml)
        #expect(event["X-Percent"] == "100%25")
        #expect(event["X-Amp"] == "a&b&c")
    }

    @Test func jsonValuesAreNotURLDecoded() throws {
        let event = try EventSocketEvent(frame: Self.frame(.eventJSON, #"{"Event-Name":"CUSTOM","X-Raw":"100%25"}"#))
        #expect(event.format == .json)
        #expect(event["X-Raw"] == "100%25")
    }

    // MARK: - _undef_

    @Test func undefReadsAsEmptyInEveryFormat() throws {
        let plain = try Self.plain("Event-Name: CUSTOM\nX-Undef: _undef_\nX-Almost: _undef_x\n")
        #expect(plain["X-Undef"] == "")
        #expect(plain["X-Almost"] == "_undef_x")
        #expect(plain.headers["X-Undef"] == "")
        let json = try EventSocketEvent(frame: Self.frame(.eventJSON, #"{"Event-Name":"CUSTOM","X-Undef":"_undef_"}"#))
        #expect(json["X-Undef"] == "")
        let xml = try EventSocketEvent(frame: Self.xml("<Event-Name>CUSTOM</Event-Name><X-Undef>_undef_</X-Undef>"))
        #expect(xml["X-Undef"] == "")
    }

    // MARK: - Arrays

    @Test func plainArraysSplitThroughValuesFor() throws {
        let event = try Self.plain(
            "Event-Name: CUSTOM\nX-Encoded: ARRAY%3A%3Aa%7C%3Ab\nX-Raw: ARRAY::a|:b|:\nX-Plain: a|:b\n"
        )
        #expect(event["X-Encoded"] == "ARRAY::a|:b")
        #expect(event.values(for: "X-Encoded") == ["a", "b"])
        #expect(event.values(for: "x-raw") == ["a", "b", ""])
        #expect(event.values(for: "X-Plain") == ["a|:b"])
        #expect(event.values(for: "X-Missing") == [])
        #expect(EventSocketEvent.splitArray("ARRAY::one") == ["one"])
    }

    @Test func jsonArraysAreRealArrays() throws {
        let event = try EventSocketEvent(
            frame: Self.frame(.eventJSON, #"{"Event-Name":"CUSTOM","X-List":["a","b|:c"],"X-Number":5}"#)
        )
        #expect(event.values(for: "x-list") == ["a", "b|:c"])
        #expect(event["X-List"] == "ARRAY::a|:b|:c")
        #expect(event["X-Number"] == "5")
        #expect(event.headers.fields.first?.name == "Event-Name")
    }

    @Test func xmlArraysSplitThroughValuesFor() throws {
        let event = try EventSocketEvent(
            frame: Self.xml("<Event-Name>CUSTOM</Event-Name><X-List>ARRAY%3A%3Aa%7C%3Ab</X-List>")
        )
        #expect(event.values(for: "X-List") == ["a", "b"])
    }

    // MARK: - Header injection

    /// An encoded newline inside a value is part of that value: it must not start a header of its own.
    @Test func anEncodedNewlineDoesNotCreateAHeader() throws {
        let event = try Self.plain("Event-Name: CUSTOM\nX-Note: a%0AEvent-Name: EVIL%0D%0AUnique-ID: forged\n")
        #expect(event.name == "CUSTOM")
        #expect(event["X-Note"] == "a\nEvent-Name: EVIL\r\nUnique-ID: forged")
        #expect(event.uniqueID == nil)
        #expect(event.headers.count == 2)
        #expect(event.headers.values(for: "Event-Name") == ["CUSTOM"])

        let xml = try EventSocketEvent(
            frame: Self.xml("<Event-Name>CUSTOM</Event-Name><X-Note>a%0AEvent-Name: EVIL</X-Note>")
        )
        #expect(xml.name == "CUSTOM")
        #expect(xml.headers.count == 2)
        #expect(xml["X-Note"] == "a\nEvent-Name: EVIL")
    }

    // MARK: - Plain bodies

    @Test func plainInnerBodyFollowsTheInnerContentLength() throws {
        let inner = "line one\n\nHeader-Lookalike: x\n"
        let event = try Self.plain(
            "Event-Name: BACKGROUND_JOB\nJob-UUID: 1234\nContent-Length: \(inner.utf8.count)\n\n\(inner)"
        )
        #expect(event.jobUUID == "1234")
        #expect(event.body == inner)
        #expect(event["Header-Lookalike"] == nil)
        #expect(event.headers.count == 3)
    }

    @Test func aNonASCIIInnerBodyIsCountedInBytes() throws {
        let inner = "Grüße ☎"
        let event = try Self.plain("Event-Name: CUSTOM\nContent-Length: \(inner.utf8.count)\n\n\(inner)")
        #expect(event.body == inner)
    }

    @Test func aShortInnerBodyIsMalformed() {
        let error = #expect(throws: EventSocketError.self) {
            try Self.plain("Event-Name: CUSTOM\nContent-Length: 50\n\nonly this")
        }
        #expect(error?.code == .malformedEvent)
    }

    /// A plain body that does not start at the buffer's first byte (reader index moved on) reads the same.
    @Test func aPlainBodyAfterAMovedReaderIndex() throws {
        var buffer = ByteBuffer(string: "ignored prefix\nEvent-Name: CUSTOM\nX-Value: a%20b\nContent-Length: 3\n\nabc")
        buffer.moveReaderIndex(forwardBy: "ignored prefix\n".utf8.count)
        let event = try EventSocketEvent(plain: buffer)
        #expect(event.name == "CUSTOM")
        #expect(event["X-Value"] == "a b")
        #expect(event.body == "abc")
        #expect(event.headers.fields.map(\.name) == ["Event-Name", "X-Value", "Content-Length"])
    }

    @Test func plainHeadersKeepWireOrderAndIgnoreCase() throws {
        let event = try Self.plain(
            "Event-Name: CHANNEL_EXECUTE\nUnique-ID: u1\nApplication-UUID: app1\nvariable_foo: bar%20baz\n"
                + "Event-Subclass: x%3A%3Ay\nJob-UUID: j1\n"
        )
        #expect(event.format == .plain)
        #expect(
            event.headers.fields.map(\.name) == [
                "Event-Name", "Unique-ID", "Application-UUID", "variable_foo", "Event-Subclass", "Job-UUID",
            ]
        )
        #expect(event["unique-id"] == "u1")
        #expect(event.uniqueID == "u1")
        #expect(event.applicationUUID == "app1")
        #expect(event.variable("foo") == "bar baz")
        #expect(event.subclass == "x::y")
        #expect(event.jobUUID == "j1")
        #expect(event.body == nil)
    }

    @Test func anEventBuiltFromHeaders() {
        let event = EventSocketEvent(headers: ["Event-Name": "CUSTOM", "Event-Subclass": "a::b"], body: "text")
        #expect(event.format == .plain)
        #expect(event.name == "CUSTOM")
        #expect(event.subclass == "a::b")
        #expect(event.body == "text")
    }

    // MARK: - XML

    @Test func xmlEntitiesAndTheBodyCutInBytes() throws {
        let body = "Grüße & <tags>\n"
        let event = try EventSocketEvent(
            frame: Self.xml(
                "<Event-Name>CUSTOM</Event-Name><X-Text>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x263A;</X-Text>",
                after: "  <Content-Length>\(body.utf8.count)</Content-Length>\n"
                    + "  <body>Grüße &amp; &lt;tags&gt;\n  </body>\n"
            )
        )
        #expect(event["X-Text"] == "a & b <c> \"d\" 'e' é☺")
        #expect(event["Content-Length"] == "\(body.utf8.count)")
        #expect(event.body == body)
    }

    @Test func xmlWithoutABodyHasNone() throws {
        let event = try EventSocketEvent(
            frame: Self.frame(
                .eventXML,
                "<?xml version=\"1.0\"?><event><headers>"
                    + "<Event-Name>HEARTBEAT</Event-Name></headers></event>"
            )
        )
        #expect(event.name == "HEARTBEAT")
        #expect(event.body == nil)
    }

    @Test(arguments: [
        "<!DOCTYPE event [<!ENTITY x \"boom\">]><event><headers></headers></event>",
        "<event><headers><X><Y>nested</Y></X></headers></event>",
        "<event><headers><X>&custom;</X></headers></event>",
        "<event><headers><X>open</Y></headers></event>",
        "<event><headers><X>never closed",
        "<evil></evil>",
        "",
    ])
    func malformedXMLIsRejected(_ body: String) {
        let error = #expect(throws: EventSocketError.self) { try EventSocketEvent(frame: Self.frame(.eventXML, body)) }
        #expect(error?.code == .malformedEvent)
    }

    // MARK: - JSON and frame types

    @Test(arguments: ["not json", "[\"an\", \"array\"]", "{\"unterminated\": ", ""])
    func malformedJSONIsRejected(_ body: String) {
        let error = #expect(throws: EventSocketError.self) { try EventSocketEvent(frame: Self.frame(.eventJSON, body)) }
        #expect(error?.code == .malformedEvent)
    }

    @Test(arguments: [ContentType.commandReply, .apiResponse, .logData, ContentType(rawValue: "text/x-future")])
    func aFrameThatIsNotAnEventIsRejected(_ type: ContentType) {
        let error = #expect(throws: EventSocketError.self) {
            try EventSocketEvent(frame: Self.frame(type, "Event-Name: CUSTOM\n"))
        }
        #expect(error?.code == .malformedEvent)
    }
}

/// FreeSWITCH's URL encoding, on its own.
@Suite struct PercentDecodingTests {
    @Test(arguments: [
        ("%2525", "%25"),
        ("%25", "%"),
        ("100%", "100%"),
        ("%2", "%2"),
        ("%zz%2G", "%zz%2G"),
        ("a+b", "a+b"),
        ("%2B%2b", "++"),
        ("%3a%3A", "::"),
        ("%C3%A9t%C3%A9", "été"),
        ("%FF", "\u{FFFD}"),
        ("no escapes at all", "no escapes at all"),
        ("%0D%0A", "\r\n"),
    ])
    func decode(_ encoded: String, _ decoded: String) {
        #expect(PercentDecoding.decode(encoded) == decoded)
        #expect(PercentDecoding.decode(Array(encoded.utf8)[...]) == decoded)
    }

    @Test func encodeLikeFreeSWITCH() {
        #expect(PercentDecoding.encode("a b:c") == "a%20b%3Ac")
        #expect(PercentDecoding.encode("+OK\n") == "%2BOK%0A")
        #expect(PercentDecoding.encode("100%") == "100%25")
        #expect(PercentDecoding.encode("é") == "%C3%A9")
        #expect(PercentDecoding.encode("plain-text_1.2/x,(y)") == "plain-text_1.2/x,(y)")
    }

    @Test(arguments: ["", "%2525", "tone_stream://%(200,100,440);loops=3", "line\r\nnext", "Grüße ☎ | ARRAY::a|:b"])
    func encodeThenDecodeIsIdentity(_ value: String) {
        #expect(PercentDecoding.decode(PercentDecoding.encode(value)) == value)
    }
}
