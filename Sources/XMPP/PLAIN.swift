/// SASL PLAIN on the server (RFC 4616): `authzid NUL authcid NUL passwd`.
///
/// Checked against a clear password, or else against the user's stored SCRAM keys (derived from the offered
/// password with the stored salt and iterations; SHA-256 keys preferred). Offer it only over TLS.
public struct PLAINServer: SASLServerMechanism, Sendable {
    private let credentials: any SASLCredentialStore
    private let domain: String?
    private var started = false
    private var done = false

    /// Creates the mechanism; `domain` lets `user@domain` be an authzid for `user`.
    public init(credentials: any SASLCredentialStore, domain: String? = nil) {
        self.credentials = credentials
        self.domain = domain
    }

    /// `PLAIN`.
    public var name: String { "PLAIN" }

    /// Checks the initial response, or asks for it with an empty challenge.
    public mutating func start(initialResponse: [UInt8]?) -> SASLStep {
        guard !started else { return finish(SASLFailure(.malformedRequest, text: "already started")) }
        started = true
        guard let initialResponse else { return .challenge([]) }
        return respond(initialResponse)
    }

    /// Checks `authzid NUL authcid NUL password`.
    public mutating func respond(_ response: [UInt8]) -> SASLStep {
        guard started, !done else { return finish(SASLFailure(.malformedRequest, text: "no response was expected")) }
        done = true
        let fields = response.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 3, !fields[1].isEmpty, !fields[2].isEmpty,
            let authzid = String(validating: fields[0], as: UTF8.self),
            let username = String(validating: fields[1], as: UTF8.self),
            let password = String(validating: fields[2], as: UTF8.self)
        else {
            return .failure(SASLFailure(.malformedRequest, text: "PLAIN expects authzid NUL authcid NUL password"))
        }
        guard SASLMechanisms.authzidIsUser(authzid, username: username, domain: domain) else {
            return .failure(SASLFailure(.invalidAuthzid, text: "'\(username)' may not act as '\(authzid)'"))
        }
        guard let user = credentials.credentials(for: username), Self.verify(password, user) else {
            return .failure(SASLFailure(.notAuthorized))
        }
        return .success(username: username, additionalData: nil)
    }

    private mutating func finish(_ failure: SASLFailure) -> SASLStep {
        done = true
        return .failure(failure)
    }

    private static func verify(_ password: String, _ user: UserCredentials) -> Bool {
        if let expected = user.password {
            // Compare digests so the time does not depend on where the passwords differ, nor on their lengths.
            return constantTimeEqual(
                SCRAMHash.sha256.digest(Array(password.utf8)),
                SCRAMHash.sha256.digest(Array(expected.utf8))
            )
        }
        guard let keys = user.storedKeys(for: .sha256) ?? user.scram.first else { return false }
        return keys.matches(password: password)
    }
}

/// The client side of SASL PLAIN, for tests and benchmarks.
public enum PLAINClient {
    /// The initial response `authzid NUL username NUL password` (authzid empty when `nil`).
    public static func initialResponse(authzid: String? = nil, username: String, password: String) -> [UInt8] {
        Array((authzid ?? "").utf8) + [0] + Array(username.utf8) + [0] + Array(password.utf8)
    }
}
