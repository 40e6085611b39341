import XMPP

/// A sendfax component request (XEP-0342): `<sendfax xmlns='urn:xmpp:rayo:fax:1'>` with the document to transmit.
public struct RayoSendFaxRequest: Sendable, Hashable {
    /// A document to send (`<document url identity header pages>`).
    public struct Document: Sendable, Hashable {
        /// Where the document is (`url`); a server must support `image/tiff` over HTTP.
        public var url: String
        /// The number the fax appears to come from (`identity`), E.164.
        public var identity: String?
        /// The header line printed on each page (`header`).
        public var header: String?
        /// The one-based page ranges to send (`pages`, `M[-N],…`); `nil` sends every page.
        public var pages: [ClosedRange<Int>]?

        /// Creates a document.
        public init(url: String, identity: String? = nil, header: String? = nil, pages: [ClosedRange<Int>]? = nil) {
            self.url = url
            self.identity = identity
            self.header = header
            self.pages = pages
        }
    }

    /// The documents to send, in order; at least one.
    public var documents: [Document]

    /// Creates a sendfax request.
    public init(documents: [Document]) {
        self.documents = documents
    }

    /// Parses and validates a `<sendfax>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(element, name: "sendfax", namespace: RayoNamespace.fax, limits: limits)
        let children = reader.children("document")
        guard !children.isEmpty else { throw reader.error("sendfax must contain at least one document") }
        try reader.checkCount(children, of: "document")
        var documents: [Document] = []
        for child in children {
            guard let url = child[attribute: "url"], !url.trimmingXMLWhitespace.isEmpty else {
                throw RayoParseError(element: "document", message: "missing sendfax document url attribute")
            }
            var document = Document(
                url: url,
                identity: child[attribute: "identity"],
                header: child[attribute: "header"]
            )
            if let raw = child[attribute: "pages"] {
                document.pages = try Self.pageRanges(raw)
            }
            documents.append(document)
        }
        self.documents = documents
    }

    /// The `<sendfax xmlns='urn:xmpp:rayo:fax:1'>` element.
    public var element: XMLElement {
        XMLElement(
            "sendfax",
            namespace: RayoNamespace.fax,
            children: documents.map { document in
                .element(
                    XMLElement(
                        "document",
                        [
                            "url": document.url,
                            "identity": document.identity,
                            "header": document.header,
                            "pages": document.pages.map(Self.pagesAttribute),
                        ]
                    )
                )
            }
        )
    }

    private static func pagesAttribute(_ ranges: [ClosedRange<Int>]) -> String {
        ranges.map { $0.count == 1 ? String($0.lowerBound) : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }

    private static func pageRanges(_ raw: String) throws(RayoParseError) -> [ClosedRange<Int>] {
        let failure = RayoParseError(
            element: "document",
            message: "sendfax document pages must be one-based page numbers or ranges like 1-3,5; got '\(raw)'"
        )
        var ranges: [ClosedRange<Int>] = []
        for part in raw.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2 else { throw failure }
            var numbers: [Int] = []
            for bound in bounds {
                let text = String(bound).trimmingXMLWhitespace
                guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(text),
                    number >= 1
                else { throw failure }
                numbers.append(number)
            }
            let lower = numbers[0]
            let upper = numbers.count == 2 ? numbers[1] : lower
            guard lower <= upper else { throw failure }
            ranges.append(lower...upper)
        }
        return ranges
    }
}

/// A receivefax component request (XEP-0342): the empty `<receivefax xmlns='urn:xmpp:rayo:fax:1'/>`.
public struct RayoReceiveFaxRequest: Sendable, Hashable {
    /// Creates a receivefax request.
    public init() {}

    /// Parses a `<receivefax>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        _ = try ComponentElementReader(element, name: "receivefax", namespace: RayoNamespace.fax, limits: limits)
    }

    /// The `<receivefax xmlns='urn:xmpp:rayo:fax:1'/>` element.
    public var element: XMLElement { XMLElement("receivefax", namespace: RayoNamespace.fax) }
}

/// Why a fax component completed, besides the common `stop`, `hangup` and `error` (`urn:xmpp:rayo:fax:complete:1`).
public enum RayoFaxCompletion: String, Sendable, Hashable, CaseIterable {
    /// `<finish/>`: the document was sent or received completely.
    case finish

    /// Parses a completion reason element.
    public init(element: XMLElement) throws(RayoParseError) {
        self = try CompletionReason.parse(element, namespace: RayoNamespace.faxComplete, component: "fax")
    }

    /// The reason element, to put inside `<complete xmlns='urn:xmpp:rayo:ext:1'>`.
    public var element: XMLElement { XMLElement(rawValue, namespace: RayoNamespace.faxComplete) }
}

/// A received fax, reported beside the completion reason:
/// `<fax xmlns='urn:xmpp:rayo:fax:complete:1' url resolution pages size>`.
public struct RayoFax: Sendable, Hashable {
    /// Where the fax is available (`url`).
    public var url: String
    /// The resolution in pixels, `MxN` (`resolution`), e.g. `595x841`.
    public var resolution: String
    /// The number of pages (`pages`).
    public var pages: Int
    /// The file's size in bytes (`size`).
    public var size: Int64

    /// Creates a received-fax report.
    public init(url: String, resolution: String, pages: Int, size: Int64) {
        self.url = url
        self.resolution = resolution
        self.pages = pages
        self.size = size
    }

    /// Parses a `<fax>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(
            element,
            name: "fax",
            namespace: RayoNamespace.faxComplete,
            limits: limits
        )
        url = try reader.required("url")
        let rawResolution = try reader.required("resolution")
        let sides = rawResolution.split(separator: "x", omittingEmptySubsequences: false)
        guard sides.count == 2, sides.allSatisfy({ ComponentElementReader.integer(String($0)).map { $0 >= 0 } == true })
        else {
            throw reader.error("fax resolution must be MxN in pixels, got '\(rawResolution)'")
        }
        resolution = rawResolution
        let rawPages = try reader.required("pages")
        guard let pages = ComponentElementReader.integer(rawPages), pages >= 0 else {
            throw reader.error("fax pages must be a non-negative integer, got '\(rawPages)'")
        }
        self.pages = pages
        let rawSize = try reader.required("size")
        guard let size = ComponentElementReader.integer(rawSize).map(Int64.init), size >= 0 else {
            throw reader.error("fax size must be a non-negative integer of bytes, got '\(rawSize)'")
        }
        self.size = size
    }

    /// The `<fax xmlns='urn:xmpp:rayo:fax:complete:1'>` element.
    public var element: XMLElement {
        XMLElement(
            "fax",
            namespace: RayoNamespace.faxComplete,
            ["url": url, "resolution": resolution, "pages": String(pages), "size": String(size)]
        )
    }
}

/// Implementation-specific facts about a fax transmission or receipt, reported beside the completion reason:
/// `<metadata xmlns='urn:xmpp:rayo:fax:complete:1' name value>` (e.g. `fax-transfer-rate`).
public struct RayoFaxMetadata: Sendable, Hashable {
    /// The fact's name.
    public var name: String
    /// Its value.
    public var value: String

    /// Creates a metadata entry.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Parses a `<metadata>` element.
    public init(element: XMLElement, limits: RayoComponentLimits = .init()) throws(RayoParseError) {
        let reader = try ComponentElementReader(
            element,
            name: "metadata",
            namespace: RayoNamespace.faxComplete,
            limits: limits
        )
        name = try reader.required("name")
        guard let value = reader.string("value") else { throw reader.error("missing metadata value attribute") }
        self.value = value
    }

    /// The `<metadata xmlns='urn:xmpp:rayo:fax:complete:1'>` element.
    public var element: XMLElement {
        XMLElement("metadata", namespace: RayoNamespace.faxComplete, ["name": name, "value": value])
    }
}
