/// A server-side SASL mechanism (RFC 4422) as a pure state machine: it consumes the client's decoded messages and
/// says what to send next. The transport base64-decodes `<auth>` and `<response>` (see ``SASLBase64``) and
/// encodes the ``SASLStep`` it gets back.
public protocol SASLServerMechanism {
    /// The mechanism's IANA name (`PLAIN`, `SCRAM-SHA-256`).
    var name: String { get }

    /// Starts the exchange with the `<auth>` element's initial response (`nil` when the element had no text).
    mutating func start(initialResponse: [UInt8]?) -> SASLStep

    /// Continues the exchange with the client's next `<response>`.
    mutating func respond(_ response: [UInt8]) -> SASLStep
}

/// What a SASL mechanism says to send next.
public enum SASLStep: Sendable, Hashable {
    /// Send `<challenge>` with these bytes and wait for a `<response>`.
    case challenge([UInt8])
    /// Send `<success>` (with the additional data, if any): `username` authenticated.
    case success(username: String, additionalData: [UInt8]?)
    /// Send `<failure>`; the client may try again with a new `<auth>`.
    case failure(SASLFailure)
}

/// A SASL failure (RFC 6120 §6.5): the `<failure>` element's condition and text.
public struct SASLFailure: Error, Sendable, Hashable {
    /// The SASL failure conditions of RFC 6120 §6.5.
    public enum Condition: String, Sendable, Hashable, CaseIterable {
        /// The client aborted the exchange with `<abort/>`.
        case aborted
        /// The account is disabled.
        case accountDisabled = "account-disabled"
        /// The password or account has expired.
        case credentialsExpired = "credentials-expired"
        /// Encryption is required for this mechanism.
        case encryptionRequired = "encryption-required"
        /// The data was not valid base64 (RFC 4648 §4).
        case incorrectEncoding = "incorrect-encoding"
        /// The authorization identity is not one the user may act as.
        case invalidAuthzid = "invalid-authzid"
        /// The mechanism is not offered.
        case invalidMechanism = "invalid-mechanism"
        /// A message of the exchange was malformed.
        case malformedRequest = "malformed-request"
        /// The mechanism is weaker than the policy allows.
        case mechanismTooWeak = "mechanism-too-weak"
        /// The credentials are wrong (or the user does not exist).
        case notAuthorized = "not-authorized"
        /// A temporary error; the client may retry.
        case temporaryAuthFailure = "temporary-auth-failure"
    }

    /// The condition.
    public var condition: Condition
    /// A human-readable explanation, sent in a `<text xml:lang='en'>` child when not `nil`.
    public var text: String?

    /// Creates a failure.
    public init(_ condition: Condition, text: String? = nil) {
        self.condition = condition
        self.text = text
    }

    /// The `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text xml:lang='en'>…</text>
    /// </failure>` element.
    public var element: XMLElement {
        var failure = XMLElement("failure", namespace: XMPPNamespace.sasl)
        failure.append(XMLElement(condition.rawValue))
        if let text {
            failure.append(XMLElement("text", attributes: [XMLAttribute("xml:lang", "en")], children: [.text(text)]))
        }
        return failure
    }
}

/// The SASL mechanisms the server offers, strongest first.
public enum SASLMechanisms {
    /// The names to advertise in `<mechanisms>`, strongest first.
    public static let supported = ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]

    /// A fresh server mechanism for an `<auth mechanism='…'>`, or `nil` when the name is not supported (answer
    /// `invalid-mechanism`). `domain` is the server's domain: an authorization identity of `user@domain` is then
    /// accepted besides `user`; any other authzid fails with `invalid-authzid`.
    public static func server(
        named name: String,
        domain: String? = nil,
        credentials: any SASLCredentialStore
    ) -> (any SASLServerMechanism)? {
        switch name {
        case "PLAIN": PLAINServer(credentials: credentials, domain: domain)
        case "SCRAM-SHA-256": SCRAMServer(hash: .sha256, credentials: credentials, domain: domain)
        case "SCRAM-SHA-1": SCRAMServer(hash: .sha1, credentials: credentials, domain: domain)
        default: nil
        }
    }

    /// Whether `authzid` names `username` itself: empty, the username, or `username@domain` (compared as JIDs, so
    /// case-insensitively).
    static func authzidIsUser(_ authzid: String, username: String, domain: String?) -> Bool {
        if authzid.isEmpty || authzid.lowercased() == username.lowercased() { return true }
        guard let domain, let requested = JID(authzid), requested.resourcepart == nil,
            let user = JID(localpart: username, domainpart: domain)
        else { return false }
        return requested == user
    }
}

/// Base64 as SASL in XMPP uses it (RFC 6120 §6.4): strict RFC 4648 §4 alphabet with padding, no whitespace, and
/// `=` standing for zero-length data.
public enum SASLBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [Int8] = {
        var values = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { values[Int(byte)] = Int8(index) }
        return values
    }()

    /// The base64 text of `bytes`; `=` when `bytes` is empty (how XMPP sends zero-length data in `<auth>`,
    /// `<response>` and `<success>`).
    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.isEmpty ? "=" : encodeText(bytes)
    }

    /// Plain RFC 4648 base64 of `bytes` (empty for no bytes).
    public static func encodeText(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(group >> 18 & 63)])
            output.append(alphabet[Int(group >> 12 & 63)])
            output.append(second == nil ? UInt8(ascii: "=") : alphabet[Int(group >> 6 & 63)])
            output.append(third == nil ? UInt8(ascii: "=") : alphabet[Int(group & 63)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Strict RFC 4648 base64 decoding: `nil` for whitespace, a wrong length, misplaced or missing padding, a
    /// character outside the alphabet, or non-zero padding bits. Empty text decodes to no bytes.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            var group: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let byte = input[index + offset]
                if byte == UInt8(ascii: "=") && isLast && offset >= 2 {
                    padding += 1
                    group <<= 6
                    continue
                }
                let value = values[Int(byte)]
                guard value >= 0, padding == 0 else { return nil }
                group = group << 6 | UInt32(value)
            }
            output.append(UInt8(group >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(group >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(group & 0xFF)) }
            // Padding bits must be zero (canonical encoding).
            if padding == 1 && group & 0xFF != 0 || padding == 2 && group & 0xFFFF != 0 { return nil }
            index += 4
        }
        return output
    }

    /// The initial response of an `<auth>` element's text: `nil` when the element is empty (no initial response),
    /// no bytes for `=`, otherwise the decoded bytes. Bad base64 fails with `incorrect-encoding`.
    public static func decodeInitialResponse(_ text: String) throws(SASLFailure) -> [UInt8]? {
        if text.isEmpty { return nil }
        return try decodeResponse(text)
    }

    /// The bytes of a `<response>` element's text: no bytes for an empty element or `=`. Bad base64 fails with
    /// `incorrect-encoding`.
    public static func decodeResponse(_ text: String) throws(SASLFailure) -> [UInt8] {
        if text.isEmpty || text == "=" { return [] }
        guard let bytes = decode(text) else {
            throw SASLFailure(.incorrectEncoding, text: "the SASL data is not valid base64")
        }
        return bytes
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in left.indices { difference |= left[index] ^ right[index] }
    return difference == 0
}
