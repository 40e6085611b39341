import CExpat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An incremental parser for one XMPP stream (RFC 6120 §4, §11), built on libexpat.
///
/// Feed it bytes as they arrive, split anywhere (mid-tag, mid-UTF-8 sequence); it returns ``XMLStreamEvent``s: the
/// root start tag, each complete child of the root as a namespace-resolved ``XMLElement`` tree (text and CDATA
/// become text), and the root's end tag. It speaks the restricted XML of RFC 6120 §11.1: a DOCTYPE, entity
/// declaration, processing instruction (other than the XML declaration), comment or undefined entity reference is
/// refused with ``XMLStreamError/Code/restrictedXML``, and entities are never expanded. The ``XMLStreamLimits`` are
/// enforced while parsing: a stanza is refused as soon as it crosses ``XMLStreamLimits/maxStanzaBytes``, before
/// more than that many bytes of it were handed to expat.
///
/// After an error the parser throws that error for every further call until ``reset()``. Call ``reset()`` at each
/// stream restart (after SASL success or STARTTLS): the peer then starts a new XML document.
///
/// Attributes arrive by local name, except those of the `xml` namespace, which keep their `xml:` prefix
/// (`xml:lang`). An attribute in any other namespace (`foo:type` with `xmlns:foo` declared) is dropped: XMPP does
/// not use them, and keeping it under its local name would let `x:type='result'` pass for `type`.
///
/// One parser per connection; it is not thread-safe.
public final class XMLStreamParser {
    /// The limits this parser enforces.
    public let limits: XMLStreamLimits

    private let parser: XML_Parser
    /// `true` for a stream (the root's children are stanzas), `false` for a standalone document (the root is).
    private let streamMode: Bool
    @exclusivity(unchecked) private var failure: XMLStreamError?
    @exclusivity(unchecked) private var events: [XMLStreamEvent] = []
    /// The elements of the stanza being built, outermost first.
    @exclusivity(unchecked) private var stack: [XMLElement] = []
    /// Character data not yet added to the innermost open element.
    @exclusivity(unchecked) private var text: [UInt8] = []
    /// Open elements, the root included.
    @exclusivity(unchecked) private var openElements = 0
    private var streamEnded = false
    /// Bytes given to expat since the document began.
    private var fedBytes = 0
    /// Where the stanza being built starts (valid while `stack` is not empty).
    @exclusivity(unchecked) private var stanzaStart = 0
    /// The end of the last event outside any stanza: input after it belongs to the next stanza or header.
    @exclusivity(unchecked) private var boundary = 0
    @exclusivity(unchecked) private var names = NameTable()
    /// Checks the input's UTF-8 before expat sees it.
    private var utf8 = UTF8StreamValidator()

    /// Creates a parser for a stream.
    public convenience init(limits: XMLStreamLimits = .init()) {
        self.init(limits: limits, streamMode: true)
    }

    private init(limits: XMLStreamLimits, streamMode: Bool) {
        self.limits = limits
        self.streamMode = streamMode
        self.parser = XML_ParserCreateNS("UTF-8", CChar(namespaceSeparator))
        configure()
    }

    deinit {
        XML_ParserFree(parser)
    }

    /// The default namespace the stream header declared (`jabber:client` for a client stream), once the root start
    /// tag was parsed; `nil` before or when none was declared.
    public private(set) var streamContentNamespace: String?

    /// Parses the next bytes of the stream and returns what they completed.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(XMLStreamError) -> [XMLStreamEvent] {
        try feed(bytes, isFinal: false)
        let result = events
        events = []
        return result
    }

    /// Parses the next bytes of the stream and returns what they completed.
    public func parse(_ bytes: [UInt8]) throws(XMLStreamError) -> [XMLStreamEvent] {
        try bytes.withUnsafeBytes { buffer in Result { () throws(XMLStreamError) in try parse(buffer) } }.get()
    }

    /// Parses the next bytes of the stream and returns what they completed.
    public func parse(_ bytes: some Sequence<UInt8>) throws(XMLStreamError) -> [XMLStreamEvent] {
        try parse(Array(bytes))
    }

    /// Tells the parser the input ended (the peer closed the connection). Throws
    /// ``XMLStreamError/Code/incomplete`` when it ended inside a stanza, a tag or a UTF-8 sequence; a stream left
    /// open between two stanzas is not an error.
    public func finish() throws(XMLStreamError) {
        if let failure { throw failure }
        if streamEnded { return }
        if XML_Parse(parser, nil, 0, 1) != XML_STATUS_OK && XML_GetErrorCode(parser) == XML_ERROR_PARTIAL_CHAR {
            throw fail(.invalidUTF8, "the input ended inside a UTF-8 sequence")
        }
        if let open = stack.last {
            throw fail(.incomplete, "the input ended inside <\(open.name)> (\(stack.count) element(s) open)")
        }
        if fedBytes > boundary {
            throw fail(.incomplete, "the input ended inside a tag (\(fedBytes - boundary) byte(s) unparsed)")
        }
    }

    /// Starts over on a new document, for a stream restart: the peer sends a new XML declaration and stream
    /// header. Clears any error.
    public func reset() {
        XML_ParserReset(parser, "UTF-8")
        failure = nil
        events = []
        stack = []
        clearText()
        openElements = 0
        streamEnded = false
        fedBytes = 0
        utf8 = UTF8StreamValidator()
        stanzaStart = 0
        boundary = 0
        streamContentNamespace = nil
        configure()
    }

    /// Parses one standalone element (with an optional XML declaration before it).
    static func parseDocument(
        _ bytes: UnsafeRawBufferPointer,
        limits: XMLStreamLimits
    ) throws(XMLStreamError)
        -> XMLElement
    {
        let parser = XMLStreamParser(limits: limits, streamMode: false)
        try parser.feed(bytes, isFinal: true)
        for case .stanza(let element) in parser.events {
            return element
        }
        throw XMLStreamError(.incomplete, "the document has no complete element")
    }

    // MARK: - Feeding expat

    /// Checks that the bytes continue valid UTF-8, then gives expat the valid ones: invalid UTF-8 fails at the byte
    /// where it starts, unless expat found an error earlier in the stream, whatever the reads.
    private func feed(_ bytes: UnsafeRawBufferPointer, isFinal: Bool) throws(XMLStreamError) {
        if let failure { throw failure }
        guard let invalid = utf8.firstInvalidByte(in: bytes) else {
            try feedExpat(bytes, isFinal: isFinal)
            return
        }
        try feedExpat(UnsafeRawBufferPointer(rebasing: bytes[..<invalid]), isFinal: false)
        let byte = String(bytes[invalid], radix: 16, uppercase: true)
        throw fail(.invalidUTF8, "invalid UTF-8 (byte 0x\(byte))")
    }

    private func feedExpat(_ bytes: UnsafeRawBufferPointer, isFinal: Bool) throws(XMLStreamError) {
        var offset = 0
        repeat {
            let open = stack.isEmpty ? boundary : stanzaStart
            let allowed = open + limits.maxStanzaBytes - fedBytes
            let remaining = bytes.count - offset
            if remaining > 0 && allowed <= 0 {
                let what =
                    stack.first.map { _ in "a stanza (<\(stack[0].name)>)" }
                    ?? (openElements == 0 && streamMode
                        ? "the stream header" : "an element")
                throw fail(
                    .stanzaTooLarge,
                    "\(what) starting at byte \(open) of the stream exceeds the limit of \(limits.maxStanzaBytes) bytes"
                )
            }
            let count = min(remaining, max(allowed, 0))
            let last = isFinal && offset + count == bytes.count
            let status = XML_Parse(
                parser,
                bytes.baseAddress.map { ($0 + offset).assumingMemoryBound(to: CChar.self) },
                Int32(count),
                last ? 1 : 0
            )
            fedBytes += count
            offset += count
            if status != XML_STATUS_OK {
                throw expatFailure(isFinal: last)
            }
        } while offset < bytes.count
    }

    private func configure() {
        XML_SetUserData(parser, Unmanaged.passUnretained(self).toOpaque())
        XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER)
        _ = Self.billionLaughsProtection?.setMaximumAmplification(parser, 2)
        _ = Self.billionLaughsProtection?.setActivationThreshold(parser, 65_536)
        // Expat 2.6 (and Debian 12's 2.5.0-1+deb12u2 onwards, CVE-2023-52425) defers reparsing a token that arrived
        // in small pieces until much more input is there: a stanza written in a few small reads would wait for the
        // next one. The stanza size limit bounds what a split token costs, so deferral is turned off.
        _ = Self.setReparseDeferralEnabled?(parser, 0)
        XML_SetStartElementHandler(parser) { userData, name, attributes in
            XMLStreamParser.from(userData).startElement(name!, attributes!)
        }
        XML_SetEndElementHandler(parser) { userData, _ in
            XMLStreamParser.from(userData).endElement()
        }
        XML_SetCharacterDataHandler(parser) { userData, bytes, length in
            XMLStreamParser.from(userData).characters(bytes!, Int(length))
        }
        XML_SetStartNamespaceDeclHandler(parser) { userData, prefix, uri in
            let this = XMLStreamParser.from(userData)
            if this.streamMode && this.openElements == 0 && prefix == nil {
                this.streamContentNamespace = uri.map { String(cString: $0) } ?? ""
            }
        }
        XML_SetXmlDeclHandler(parser) { userData, _, encoding, _ in
            guard let encoding else { return }
            let name = String(cString: encoding)
            if name.lowercased() != "utf-8" {
                XMLStreamParser.from(userData).refuse(
                    .unsupportedEncoding,
                    "the XML declaration names the encoding '\(name)'; XMPP streams are UTF-8"
                )
            }
        }
        XML_SetStartDoctypeDeclHandler(parser) { userData, _, _, _, _ in
            XMLStreamParser.from(userData).refuse(.restrictedXML, "a DOCTYPE declaration is not allowed in XMPP")
        }
        XML_SetEntityDeclHandler(parser) { userData, _, _, _, _, _, _, _, _ in
            XMLStreamParser.from(userData).refuse(.restrictedXML, "an entity declaration is not allowed in XMPP")
        }
        XML_SetProcessingInstructionHandler(parser) { userData, _, _ in
            XMLStreamParser.from(userData).refuse(.restrictedXML, "a processing instruction is not allowed in XMPP")
        }
        XML_SetCommentHandler(parser) { userData, _ in
            XMLStreamParser.from(userData).refuse(.restrictedXML, "a comment is not allowed in XMPP")
        }
        XML_SetSkippedEntityHandler(parser) { userData, _, _ in
            XMLStreamParser.from(userData).refuse(.restrictedXML, "an entity reference is not allowed in XMPP")
        }
    }

    private static func from(_ userData: UnsafeMutableRawPointer?) -> XMLStreamParser {
        Unmanaged<XMLStreamParser>.fromOpaque(userData!).takeUnretainedValue()
    }

    // MARK: - Handlers

    private func startElement(
        _ name: UnsafePointer<CChar>,
        _ attributes: UnsafeMutablePointer<UnsafePointer<CChar>?>
    ) {
        guard failure == nil else { return }
        openElements += 1
        let depth = streamMode ? openElements - 1 : openElements
        if depth > limits.maxDepth {
            refuse(.tooDeep, "elements are nested deeper than the limit of \(limits.maxDepth)")
            return
        }
        let qualified = names.element(name)
        var element = XMLElement(qualified.local, namespace: qualified.namespace)
        if attributes[0] != nil {
            var index = 0
            while let attributeName = attributes[index], let value = attributes[index + 1] {
                if index / 2 >= limits.maxAttributes {
                    refuse(
                        .tooManyAttributes,
                        "<\(qualified.local)> has more than the limit of \(limits.maxAttributes) attributes"
                    )
                    return
                }
                if let name = names.attribute(attributeName) {
                    element.attributes.append(XMLAttribute(name, String(cString: value)))
                }
                index += 2
            }
        }
        if streamMode && openElements == 1 {
            boundary = currentEventEnd
            events.append(.streamStart(element))
            return
        }
        if stack.isEmpty {
            stanzaStart = Int(XML_GetCurrentByteIndex(parser))
        } else {
            flushText()
        }
        stack.append(element)
    }

    private func endElement() {
        guard failure == nil else { return }
        openElements -= 1
        guard var element = stack.popLast() else {
            streamEnded = true
            boundary = currentEventEnd
            events.append(.streamEnd)
            return
        }
        if !text.isEmpty {
            element.children.append(.text(String(decoding: text, as: UTF8.self)))
            clearText()
        }
        if stack.isEmpty {
            boundary = currentEventEnd
            events.append(.stanza(element))
        } else {
            stack[stack.count - 1].children.append(.element(element))
        }
    }

    private func characters(_ bytes: UnsafePointer<CChar>, _ length: Int) {
        guard failure == nil else { return }
        if stack.isEmpty {
            boundary = currentEventEnd
            return
        }
        text.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: length))
    }

    private func flushText() {
        guard !text.isEmpty else { return }
        stack[stack.count - 1].children.append(.text(String(decoding: text, as: UTF8.self)))
        clearText()
    }

    /// Empties the text buffer, keeping a small capacity only, so one large stanza does not pin memory for the
    /// life of the connection.
    private func clearText() {
        text.removeAll(keepingCapacity: text.capacity <= 4096)
    }

    private var currentEventEnd: Int {
        Int(XML_GetCurrentByteIndex(parser)) + Int(XML_GetCurrentByteCount(parser))
    }

    // MARK: - Errors

    /// Records an error found in a handler and stops expat.
    private func refuse(_ code: XMLStreamError.Code, _ message: String) {
        guard failure == nil else { return }
        failure = located(code, message)
        XML_StopParser(parser, 0)
    }

    /// Records an error found outside expat and returns it.
    private func fail(_ code: XMLStreamError.Code, _ message: String) -> XMLStreamError {
        let error = located(code, message)
        failure = error
        return error
    }

    private func located(_ code: XMLStreamError.Code, _ message: String) -> XMLStreamError {
        let line = Int(XML_GetCurrentLineNumber(parser))
        let column = Int(XML_GetCurrentColumnNumber(parser)) + 1
        return XMLStreamError(code, "\(message) (line \(line), column \(column))", line: line, column: column)
    }

    private func expatFailure(isFinal: Bool) -> XMLStreamError {
        if let failure { return failure }
        let error = XML_GetErrorCode(parser)
        let reason = XML_ErrorString(error).map { String(cString: $0) } ?? "error \(error.rawValue)"
        let code: XMLStreamError.Code
        var message: String
        switch error {
        case XML_ERROR_UNDEFINED_ENTITY, XML_ERROR_PARAM_ENTITY_REF, XML_ERROR_RECURSIVE_ENTITY_REF,
            XML_ERROR_BINARY_ENTITY_REF, XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF, XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
            code = .restrictedXML
            message = "an entity reference other than &lt; &gt; &amp; &quot; &apos; is not allowed in XMPP (\(reason))"
        case XML_ERROR_UNKNOWN_ENCODING, XML_ERROR_INCORRECT_ENCODING:
            code = .unsupportedEncoding
            message = "XMPP streams are UTF-8 (\(reason))"
        case XML_ERROR_PARTIAL_CHAR where isFinal:
            code = .invalidUTF8
            message = "the input ended inside a UTF-8 sequence"
        case XML_ERROR_NO_ELEMENTS where isFinal, XML_ERROR_UNCLOSED_TOKEN where isFinal:
            code = .incomplete
            message = "the input ended inside an element (\(reason))"
        case XML_ERROR_INVALID_TOKEN where holdsNUL:
            code = .notWellFormed
            message = "a NUL byte is not allowed in XML"
        default:
            code = .notWellFormed
            message = "not well-formed (\(reason))"
        }
        let line = Int(XML_GetCurrentLineNumber(parser))
        let column = Int(XML_GetCurrentColumnNumber(parser)) + 1
        let located = XMLStreamError(code, "\(message) (line \(line), column \(column))", line: line, column: column)
        failure = located
        return located
    }

    /// Whether the token at expat's error position holds a NUL byte (expat reports only an invalid token). Invalid
    /// UTF-8 never reaches expat (``feed(_:isFinal:)``).
    private var holdsNUL: Bool {
        var offset: Int32 = 0
        var size: Int32 = 0
        guard let context = XML_GetInputContext(parser, &offset, &size), offset < size else { return false }
        let bytes = UnsafeRawBufferPointer(start: context, count: Int(size))[Int(offset)...]
        let end = bytes.dropFirst().firstIndex(of: UInt8(ascii: "<")) ?? bytes.endIndex
        return bytes[..<end].contains(0)
    }

    // MARK: - Reparse deferral

    /// `XML_SetReparseDeferralEnabled`, looked up at run time: older expat builds do not have it.
    private static let setReparseDeferralEnabled: (@convention(c) (XML_Parser?, XML_Bool) -> XML_Bool)? = {
        guard let handle = dlopen(nil, RTLD_NOW), let function = dlsym(handle, "XML_SetReparseDeferralEnabled")
        else { return nil }
        return unsafeBitCast(function, to: (@convention(c) (XML_Parser?, XML_Bool) -> XML_Bool).self)
    }()

    // MARK: - Billion laughs

    private struct BillionLaughsProtection {
        let setMaximumAmplification: @convention(c) (XML_Parser?, Float) -> XML_Bool
        let setActivationThreshold: @convention(c) (XML_Parser?, UInt64) -> XML_Bool
    }

    /// Expat's own amplification limits (expat 2.4+ built with XML_DTD), looked up at run time because the header
    /// declares them only when XML_DTD is defined. DOCTYPEs are refused before any entity is declared, so this is a
    /// second line of defence.
    private static let billionLaughsProtection: BillionLaughsProtection? = {
        guard let handle = dlopen(nil, RTLD_NOW),
            let maximum = dlsym(handle, "XML_SetBillionLaughsAttackProtectionMaximumAmplification"),
            let threshold = dlsym(handle, "XML_SetBillionLaughsAttackProtectionActivationThreshold")
        else { return nil }
        return BillionLaughsProtection(
            setMaximumAmplification: unsafeBitCast(
                maximum,
                to: (@convention(c) (XML_Parser?, Float) -> XML_Bool).self
            ),
            setActivationThreshold: unsafeBitCast(
                threshold,
                to: (@convention(c) (XML_Parser?, UInt64) -> XML_Bool).self
            )
        )
    }()
}

/// The separator expat puts between a namespace URI and a local name (a byte XML 1.0 never allows).
private let namespaceSeparator: UInt8 = 0x01

/// Decodes expat's `uri\u{1}local` names once: a small open-addressing table of the names seen (element and
/// attribute names of a stream repeat), bounded so a hostile peer cannot grow it.
private struct NameTable {
    struct Entry {
        var bytes: [UInt8]
        var local: String
        var namespace: String
        /// `nil` for an attribute in a namespace other than `xml`'s, which is dropped.
        var attributeName: String?
    }

    private static let slotCount = 1024
    private static let maximumEntries = 512
    private static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    private var slots = [Int32](repeating: -1, count: slotCount)
    private var entries: [Entry] = []
    private var hashes: [UInt32] = []

    mutating func element(_ name: UnsafePointer<CChar>) -> (local: String, namespace: String) {
        let entry = lookup(name)
        return (entries[entry].local, entries[entry].namespace)
    }

    mutating func attribute(_ name: UnsafePointer<CChar>) -> String? {
        entries[lookup(name)].attributeName
    }

    /// The index of the entry for this name, added if new (or, when the table is full, a scratch entry).
    private mutating func lookup(_ name: UnsafePointer<CChar>) -> Int {
        var hash: UInt32 = 2_166_136_261
        var length = 0
        let raw = UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self)
        while raw[length] != 0 {
            hash = (hash ^ UInt32(raw[length])) &* 16_777_619
            length += 1
        }
        let bytes = UnsafeBufferPointer(start: raw, count: length)
        var slot = Int(hash) & (Self.slotCount - 1)
        while slots[slot] >= 0 {
            let index = Int(slots[slot])
            if hashes[index] == hash && entries[index].bytes.count == length
                && entries[index].bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, raw, length) == 0 })
            {
                return index
            }
            slot = (slot + 1) & (Self.slotCount - 1)
        }
        let entry = Self.decode(bytes)
        if entries.count < Self.maximumEntries {
            slots[slot] = Int32(entries.count)
            entries.append(entry)
            hashes.append(hash)
            return entries.count - 1
        }
        // Full: keep a single scratch entry after the cached ones.
        if entries.count == Self.maximumEntries {
            entries.append(entry)
            hashes.append(0)
        } else {
            entries[Self.maximumEntries] = entry
        }
        return Self.maximumEntries
    }

    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> Entry {
        guard let separator = bytes.firstIndex(of: namespaceSeparator) else {
            let local = String(decoding: bytes, as: UTF8.self)
            return Entry(bytes: Array(bytes), local: local, namespace: "", attributeName: local)
        }
        let namespace = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<separator]), as: UTF8.self)
        let local = String(decoding: UnsafeBufferPointer(rebasing: bytes[(separator + 1)...]), as: UTF8.self)
        return Entry(
            bytes: Array(bytes),
            local: local,
            namespace: namespace,
            attributeName: namespace == xmlNamespace ? "xml:" + local : nil
        )
    }
}

extension XMLElement {
    /// Parses one standalone element, e.g. a configured stanza template, with the stream parser's restrictions and
    /// limits (no DOCTYPE, comment, processing instruction or entity; the document must hold exactly one element).
    public static func parse(
        _ document: String,
        limits: XMLStreamLimits = .init()
    ) throws(XMLStreamError)
        -> XMLElement
    {
        var document = document
        return try document.withUTF8 { bytes in
            Result { () throws(XMLStreamError) in
                try XMLStreamParser.parseDocument(UnsafeRawBufferPointer(bytes), limits: limits)
            }
        }.get()
    }
}
