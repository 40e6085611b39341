/// An XMPP address, `localpart@domainpart/resourcepart` (RFC 7622).
///
/// The checks are the ones a server depends on: each part at most 1023 bytes, no empty part where a separator says
/// one exists, no control characters or whitespace in the local and domain parts, none of `"&'/:<>@` in the
/// localpart, a domain without `@` or `/`. Local and domain parts are compared case-insensitively (stored folded to
/// lowercase); the resource keeps its case. Full PRECIS profiles (width mapping, NFC) are not applied: Rayo
/// JIDs are UUIDs, conference names and account names.
public struct JID: Sendable, Hashable, CustomStringConvertible {
    /// The part before `@`, lowercased; `nil` for a domain JID.
    public let localpart: String?
    /// The domain, lowercased.
    public let domainpart: String
    /// The part after `/`; `nil` for a bare JID.
    public let resourcepart: String?

    /// Parses and checks a JID; `nil` when it is not a valid address.
    public init?(_ string: String) {
        var rest = Substring(string)
        var resource: Substring?
        if let slash = rest.firstIndex(of: "/") {
            resource = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var local: Substring?
        if let at = rest.firstIndex(of: "@") {
            local = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        self.init(localpart: local.map(String.init), domainpart: String(rest), resourcepart: resource.map(String.init))
    }

    /// Builds a JID from its parts, checking each; `nil` when a part is invalid.
    public init?(localpart: String?, domainpart: String, resourcepart: String? = nil) {
        if let localpart {
            guard Self.isValidLocalpart(localpart) else { return nil }
        }
        var domain = domainpart
        if domain.hasSuffix(".") { domain.removeLast() }
        guard Self.isValidDomainpart(domain) else { return nil }
        if let resourcepart {
            guard Self.isValidResourcepart(resourcepart) else { return nil }
        }
        self.localpart = localpart?.lowercased()
        self.domainpart = domain.lowercased()
        self.resourcepart = resourcepart
    }

    /// The same address without its resource.
    public var bare: JID {
        guard resourcepart != nil else { return self }
        return JID(checkedLocalpart: localpart, domainpart: domainpart, resourcepart: nil)
    }

    /// This bare address with a resource; `nil` when the resource is invalid.
    public func with(resource: String) -> JID? {
        guard Self.isValidResourcepart(resource) else { return nil }
        return JID(checkedLocalpart: localpart, domainpart: domainpart, resourcepart: resource)
    }

    /// Whether this JID has no resource.
    public var isBare: Bool { resourcepart == nil }

    /// The JID as text.
    public var description: String {
        var text = ""
        if let localpart { text += localpart + "@" }
        text += domainpart
        if let resourcepart { text += "/" + resourcepart }
        return text
    }

    private init(checkedLocalpart: String?, domainpart: String, resourcepart: String?) {
        self.localpart = checkedLocalpart
        self.domainpart = domainpart
        self.resourcepart = resourcepart
    }

    private static let maximumPartBytes = 1023

    private static func isValidLocalpart(_ part: String) -> Bool {
        guard !part.isEmpty, part.utf8.count <= maximumPartBytes else { return false }
        return part.unicodeScalars.allSatisfy { scalar in
            !isControlOrSpace(scalar) && !"\"&'/:<>@".unicodeScalars.contains(scalar)
        }
    }

    private static func isValidDomainpart(_ part: String) -> Bool {
        guard !part.isEmpty, part.utf8.count <= maximumPartBytes else { return false }
        if part.hasPrefix("[") {  // an IPv6 literal
            return part.hasSuffix("]") && part.dropFirst().dropLast().allSatisfy { $0.isHexDigit || $0 == ":" }
        }
        return part.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.unicodeScalars.allSatisfy {
                    !isControlOrSpace($0) && !"@/:<>\"&'[]".unicodeScalars.contains($0)
                }
        }
    }

    private static func isValidResourcepart(_ part: String) -> Bool {
        guard !part.isEmpty, part.utf8.count <= maximumPartBytes else { return false }
        return part.unicodeScalars.allSatisfy { !$0.properties.generalCategory.isControl }
    }

    private static func isControlOrSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory.isControl || scalar.properties.isWhitespace
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isControl: Bool {
        switch self {
        case .control, .format, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }
}
