/// SCRAM-SHA-1 and SCRAM-SHA-256 on the server (RFC 5802, RFC 7677), without channel binding.
///
/// The gs2 flags `n` (no channel binding) and `y` (the client supports it but believes the server does not) are
/// accepted; `p` is refused with `malformed-request`, since no `-PLUS` mechanism is offered. Unknown users, and
/// users with neither a password nor stored keys for this hash, get a plausible challenge (a salt derived from a
/// process secret) and fail at the proof with `not-authorized`, like a wrong password.
public struct SCRAMServer: SASLServerMechanism, Sendable {
    private enum State {
        case initial
        case awaitingClientFirst
        case awaitingClientFinal(Exchange)
        case done
    }

    private struct Exchange {
        var username: String
        var gs2Header: [UInt8]
        var clientFirstBare: String
        var serverFirst: String
        var nonce: String
        var keys: SCRAMStoredKeys?
    }

    /// The hash function.
    public let hash: SCRAMHash
    private let credentials: any SASLCredentialStore
    private let domain: String?
    private let serverNonce: String?
    private var state = State.initial

    /// Creates the mechanism. `serverNonce` fixes the server's nonce part (for test vectors); by default it is 18
    /// random bytes in base64.
    public init(
        hash: SCRAMHash,
        credentials: any SASLCredentialStore,
        domain: String? = nil,
        serverNonce: String? = nil
    ) {
        self.hash = hash
        self.credentials = credentials
        self.domain = domain
        self.serverNonce = serverNonce
    }

    /// `SCRAM-SHA-1` or `SCRAM-SHA-256`.
    public var name: String { hash.mechanismName }

    /// Reads the client-first message (or asks for it) and answers with the server-first challenge.
    public mutating func start(initialResponse: [UInt8]?) -> SASLStep {
        guard case .initial = state else { return finish(SASLFailure(.malformedRequest, text: "already started")) }
        guard let initialResponse, !initialResponse.isEmpty else {
            state = .awaitingClientFirst
            return .challenge([])
        }
        return clientFirst(initialResponse)
    }

    /// Checks the client-final message's proof; success carries the server signature.
    public mutating func respond(_ response: [UInt8]) -> SASLStep {
        switch state {
        case .awaitingClientFirst: clientFirst(response)
        case .awaitingClientFinal(let exchange): clientFinal(response, exchange)
        case .initial, .done: finish(SASLFailure(.malformedRequest, text: "no response was expected"))
        }
    }

    private mutating func finish(_ failure: SASLFailure) -> SASLStep {
        state = .done
        return .failure(failure)
    }

    private mutating func clientFirst(_ bytes: [UInt8]) -> SASLStep {
        guard let message = String(validating: bytes, as: UTF8.self) else {
            return finish(SASLFailure(.malformedRequest, text: "the client-first-message is not UTF-8"))
        }
        let parsed: SCRAMClientFirst
        do {
            parsed = try SCRAMClientFirst(message)
        } catch {
            return finish(error)
        }
        if let authzid = parsed.authzid,
            !SASLMechanisms.authzidIsUser(authzid, username: parsed.username, domain: domain)
        {
            return finish(SASLFailure(.invalidAuthzid, text: "'\(parsed.username)' may not act as '\(authzid)'"))
        }
        let keys: SCRAMStoredKeys?
        let user = credentials.credentials(for: parsed.username)
        if let stored = user?.storedKeys(for: hash) {
            keys = stored
        } else if let password = user?.password {
            keys = DerivedKeyCache.keys(username: parsed.username, password: password, hash: hash)
        } else {
            keys = nil
        }
        let salt =
            keys?.salt
            ?? Array(hash.hmac(key: DerivedKeyCache.secret, Array((parsed.username + "\u{0}" + name).utf8)).prefix(16))
        let iterations = keys?.iterations ?? SCRAMStoredKeys.defaultIterations
        let nonce = parsed.nonce + (serverNonce ?? SASLBase64.encodeText(randomBytes(18)))
        let serverFirst = "r=\(nonce),s=\(SASLBase64.encodeText(salt)),i=\(iterations)"
        state = .awaitingClientFinal(
            Exchange(
                username: parsed.username,
                gs2Header: Array(parsed.gs2Header.utf8),
                clientFirstBare: parsed.bare,
                serverFirst: serverFirst,
                nonce: nonce,
                keys: keys
            )
        )
        return .challenge(Array(serverFirst.utf8))
    }

    private mutating func clientFinal(_ bytes: [UInt8], _ exchange: Exchange) -> SASLStep {
        guard let message = String(validating: bytes, as: UTF8.self), let comma = message.lastIndex(of: ","),
            message[message.index(after: comma)...].hasPrefix("p=")
        else {
            return finish(SASLFailure(.malformedRequest, text: "the client-final-message has no proof"))
        }
        let withoutProof = String(message[..<comma])
        let attributes = withoutProof.split(separator: ",", omittingEmptySubsequences: false)
        guard attributes.count >= 2, attributes[0].hasPrefix("c="), attributes[1].hasPrefix("r="),
            let binding = SASLBase64.decode(attributes[0].dropFirst(2)),
            let proof = SASLBase64.decode(message[message.index(comma, offsetBy: 3)...])
        else {
            return finish(SASLFailure(.malformedRequest, text: "the client-final-message is malformed"))
        }
        guard binding == exchange.gs2Header else {
            return finish(SASLFailure(.malformedRequest, text: "the channel binding does not match the gs2 header"))
        }
        guard attributes[1].dropFirst(2) == exchange.nonce else {
            return finish(SASLFailure(.malformedRequest, text: "the nonce does not match"))
        }
        guard let keys = exchange.keys, proof.count == keys.storedKey.count else {
            return finish(SASLFailure(.notAuthorized))
        }
        let authMessage = Array((exchange.clientFirstBare + "," + exchange.serverFirst + "," + withoutProof).utf8)
        let clientSignature = hash.hmac(key: keys.storedKey, authMessage)
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard constantTimeEqual(hash.digest(clientKey), keys.storedKey) else {
            return finish(SASLFailure(.notAuthorized))
        }
        state = .done
        let serverSignature = hash.hmac(key: keys.serverKey, authMessage)
        return .success(
            username: exchange.username,
            additionalData: Array(("v=" + SASLBase64.encodeText(serverSignature)).utf8)
        )
    }
}

/// The parts of a SCRAM client-first-message.
private struct SCRAMClientFirst {
    var gs2Header: String
    var authzid: String?
    var bare: String
    var username: String
    var nonce: String

    init(_ message: String) throws(SASLFailure) {
        let fields = message.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3 else { throw SASLFailure(.malformedRequest, text: "no gs2 header") }
        switch fields[0] {
        case "n", "y": break
        case let flag where flag.hasPrefix("p="):
            throw SASLFailure(.malformedRequest, text: "channel binding is not supported (no -PLUS mechanism)")
        default: throw SASLFailure(.malformedRequest, text: "unknown gs2 channel binding flag")
        }
        if fields[1].isEmpty {
            authzid = nil
        } else if fields[1].hasPrefix("a="), let name = scramUnescape(fields[1].dropFirst(2)), !name.isEmpty {
            authzid = name
        } else {
            throw SASLFailure(.malformedRequest, text: "malformed authzid")
        }
        gs2Header = fields[0] + "," + fields[1] + ","
        bare = String(fields[2])
        let attributes = fields[2].split(separator: ",", omittingEmptySubsequences: false)
        guard attributes.count >= 2, attributes[0].hasPrefix("n="), attributes[1].hasPrefix("r=") else {
            throw SASLFailure(.malformedRequest, text: "the client-first-message needs n= and r= first")
        }
        guard let username = scramUnescape(attributes[0].dropFirst(2)), !username.isEmpty else {
            throw SASLFailure(.malformedRequest, text: "malformed username")
        }
        let nonce = attributes[1].dropFirst(2)
        guard !nonce.isEmpty, nonce.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw SASLFailure(.malformedRequest, text: "malformed nonce")
        }
        for extra in attributes.dropFirst(2) {
            guard extra.count >= 2, extra.dropFirst().first == "=", extra.first?.isLetter == true else {
                throw SASLFailure(.malformedRequest, text: "malformed attribute")
            }
        }
        self.username = username
        self.nonce = String(nonce)
    }
}

/// Decodes a SCRAM `saslname` (`=2C` is `,`, `=3D` is `=`); `nil` for any other `=` sequence.
func scramUnescape(_ name: Substring) -> String? {
    guard name.contains("=") else { return String(name) }
    var result = ""
    var rest = name[...]
    while let equals = rest.firstIndex(of: "=") {
        result += rest[..<equals]
        let code = rest[rest.index(after: equals)...].prefix(2)
        switch code {
        case "2C": result += ","
        case "3D": result += "="
        default: return nil
        }
        rest = rest[rest.index(equals, offsetBy: 3)...]
    }
    return result + rest
}

/// Encodes a name as a SCRAM `saslname`.
func scramEscape(_ name: String) -> String {
    guard name.contains(where: { $0 == "," || $0 == "=" }) else { return name }
    var result = ""
    for character in name {
        switch character {
        case "=": result += "=3D"
        case ",": result += "=2C"
        default: result.append(character)
        }
    }
    return result
}

/// Why a SASL client refused the server's messages.
public struct SASLClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case malformedChallenge
            case serverNotAuthenticated
            case serverError
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server's message does not follow the mechanism (bad syntax, a nonce that does not extend ours).
        public static let malformedChallenge = Code(.malformedChallenge)
        /// The server's signature is wrong: it does not know the password.
        public static let serverNotAuthenticated = Code(.serverNotAuthenticated)
        /// The server-final-message carried `e=` (an error).
        public static let serverError = Code(.serverError)

        /// The code's name.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The code and the message.
    public var description: String { "SASLClientError.\(code): \(message)" }
}

/// The client side of SCRAM-SHA-1/SCRAM-SHA-256 (gs2 flag `n`), for tests and benchmarks.
public struct SCRAMClient: Sendable {
    /// The hash function.
    public let hash: SCRAMHash
    private let password: String
    private let clientNonce: String
    private let gs2Header: String
    private let clientFirstBare: String
    private var expectedServerSignature: [UInt8]?

    /// Creates a client. `nonce` fixes the client nonce (for test vectors); by default it is 18 random bytes in
    /// base64.
    public init(hash: SCRAMHash, username: String, password: String, authzid: String? = nil, nonce: String? = nil) {
        self.hash = hash
        self.password = password
        let clientNonce = nonce ?? SASLBase64.encodeText(randomBytes(18))
        self.clientNonce = clientNonce
        gs2Header = "n," + (authzid.map { "a=" + scramEscape($0) } ?? "") + ","
        clientFirstBare = "n=" + scramEscape(username) + ",r=" + clientNonce
    }

    /// The mechanism name to put in `<auth mechanism='…'>`.
    public var mechanismName: String { hash.mechanismName }

    /// The client-first-message (the initial response).
    public func clientFirstMessage() -> [UInt8] {
        Array((gs2Header + clientFirstBare).utf8)
    }

    /// The client-final-message answering the server-first-message.
    public mutating func clientFinalMessage(serverFirst: [UInt8]) throws(SASLClientError) -> [UInt8] {
        guard let text = String(validating: serverFirst, as: UTF8.self) else {
            throw SASLClientError(.malformedChallenge, "the server-first-message is not UTF-8")
        }
        var nonce: Substring?
        var salt: [UInt8]?
        var iterations: Int?
        for attribute in text.split(separator: ",") {
            switch attribute.prefix(2) {
            case "r=": nonce = attribute.dropFirst(2)
            case "s=": salt = SASLBase64.decode(attribute.dropFirst(2))
            case "i=": iterations = Int(attribute.dropFirst(2))
            case "m=": throw SASLClientError(.malformedChallenge, "unsupported mandatory extension")
            default: continue
            }
        }
        guard let nonce, nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count, let salt, !salt.isEmpty,
            let iterations, iterations >= 1
        else {
            throw SASLClientError(.malformedChallenge, "the server-first-message is malformed: \(text)")
        }
        let salted = hash.saltedPassword(Array(password.utf8), salt: salt, iterations: iterations)
        let clientKey = hash.hmac(key: salted, Array("Client Key".utf8))
        let storedKey = hash.digest(clientKey)
        let withoutProof = "c=" + SASLBase64.encodeText(Array(gs2Header.utf8)) + ",r=" + nonce
        let authMessage = Array((clientFirstBare + "," + text + "," + withoutProof).utf8)
        let clientSignature = hash.hmac(key: storedKey, authMessage)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = hash.hmac(key: salted, Array("Server Key".utf8))
        expectedServerSignature = hash.hmac(key: serverKey, authMessage)
        return Array((withoutProof + ",p=" + SASLBase64.encodeText(proof)).utf8)
    }

    /// Checks the server-final-message (the `<success>` additional data): the server proves it knows the keys.
    public func verify(serverFinal: [UInt8]) throws(SASLClientError) {
        guard let text = String(validating: serverFinal, as: UTF8.self) else {
            throw SASLClientError(.malformedChallenge, "the server-final-message is not UTF-8")
        }
        if text.hasPrefix("e=") { throw SASLClientError(.serverError, String(text.dropFirst(2))) }
        guard let expectedServerSignature, text.hasPrefix("v="),
            let signature = SASLBase64.decode(text.dropFirst(2).prefix { $0 != "," })
        else {
            throw SASLClientError(.malformedChallenge, "the server-final-message is malformed: \(text)")
        }
        guard constantTimeEqual(signature, expectedServerSignature) else {
            throw SASLClientError(.serverNotAuthenticated, "the server signature is wrong")
        }
    }
}
