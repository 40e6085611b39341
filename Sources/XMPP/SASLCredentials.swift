import Crypto
import NIOConcurrencyHelpers

/// Where SASL mechanisms look up a user's credentials (the daemon's configured Rayo users).
public protocol SASLCredentialStore: Sendable {
    /// The credentials of `username` as the client sent it, or `nil` for an unknown user.
    func credentials(for username: String) -> UserCredentials?
}

/// What the server knows about one user: a clear password, SCRAM keys, or both.
///
/// With a clear password every mechanism works; SCRAM keys for it are derived on first use with a random salt and
/// kept for the life of the process, so repeated logins cost one PBKDF2 run per user and hash. With SCRAM keys only,
/// SCRAM with that hash works and PLAIN works by deriving the keys from the offered password with the stored salt
/// and iterations; SCRAM with a hash that has no stored keys fails with `not-authorized`, exactly like a wrong
/// password, so a client cannot probe how an account is stored.
public struct UserCredentials: Sendable, Hashable {
    /// The clear password, if configured.
    public var password: String?
    /// Stored SCRAM keys (at most one per hash is used: the first).
    public var scram: [SCRAMStoredKeys]

    /// Creates credentials.
    public init(password: String? = nil, scram: [SCRAMStoredKeys] = []) {
        self.password = password
        self.scram = scram
    }

    /// The stored keys for `hash`, if any.
    public func storedKeys(for hash: SCRAMHash) -> SCRAMStoredKeys? {
        scram.first { $0.hash == hash }
    }
}

/// A fixed table of users, e.g. from the daemon's configuration.
public struct StaticCredentialStore: SASLCredentialStore {
    private let users: [String: UserCredentials]

    /// Creates a store from `username: credentials`.
    public init(_ users: [String: UserCredentials]) {
        self.users = users
    }

    /// The credentials of `username`, or `nil` when there is no such user.
    public func credentials(for username: String) -> UserCredentials? {
        users[username]
    }
}

/// The hash function of a SCRAM mechanism.
public enum SCRAMHash: String, Sendable, Hashable, CaseIterable {
    /// SCRAM-SHA-1 (RFC 5802).
    case sha1 = "SCRAM-SHA-1"
    /// SCRAM-SHA-256 (RFC 7677).
    case sha256 = "SCRAM-SHA-256"

    /// The SASL mechanism name.
    public var mechanismName: String { rawValue }

    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: SymmetricKey(data: key)))
        case .sha256: Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
        }
    }

    func digest(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha1: Array(Insecure.SHA1.hash(data: data))
        case .sha256: Array(SHA256.hash(data: data))
        }
    }

    /// PBKDF2 with this hash's HMAC (`Hi` of RFC 5802 §2.2): one output block.
    func saltedPassword(_ password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        switch self {
        case .sha1: Self.hi(HMAC<Insecure.SHA1>.self, password, salt: salt, iterations: iterations)
        case .sha256: Self.hi(HMAC<SHA256>.self, password, salt: salt, iterations: iterations)
        }
    }

    private static func hi<H: HashFunction>(
        _: HMAC<H>.Type,
        _ password: [UInt8],
        salt: [UInt8],
        iterations: Int
    ) -> [UInt8] {
        let keyed = HMAC<H>(key: SymmetricKey(data: password))
        var first = keyed
        first.update(data: salt + [0, 0, 0, 1])
        var block = Array(first.finalize())
        var result = block
        for _ in 1..<max(iterations, 1) {
            var next = keyed
            next.update(data: block)
            block = Array(next.finalize())
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }
}

/// A user's SCRAM verifier (RFC 5802 §3): what a server stores instead of the password.
///
/// ``encoded`` is one line for a configuration file: `SCRAM-SHA-256$i=4096$<salt>$<StoredKey>$<ServerKey>`, the
/// mechanism name, the iteration count, then the salt, StoredKey and ServerKey in base64 (RFC 4648, padded),
/// separated by `$`. `switchboard rayo hash-password` prints it.
public struct SCRAMStoredKeys: Sendable, Hashable {
    /// The hash function.
    public var hash: SCRAMHash
    /// The salt.
    public var salt: [UInt8]
    /// The PBKDF2 iteration count.
    public var iterations: Int
    /// `H(HMAC(SaltedPassword, "Client Key"))`.
    public var storedKey: [UInt8]
    /// `HMAC(SaltedPassword, "Server Key")`.
    public var serverKey: [UInt8]

    /// The iteration count used when none is given.
    public static let defaultIterations = 4096

    /// Creates a verifier from its parts.
    public init(hash: SCRAMHash, salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8]) {
        self.hash = hash
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// Derives the verifier of `password` (used as its UTF-8 bytes; SASLprep is not applied) with `salt` (16
    /// random bytes when `nil`) and `iterations`.
    public static func derive(
        password: String,
        hash: SCRAMHash,
        salt: [UInt8]? = nil,
        iterations: Int = defaultIterations
    ) -> SCRAMStoredKeys {
        let salt = salt ?? randomBytes(16)
        let salted = hash.saltedPassword(Array(password.utf8), salt: salt, iterations: iterations)
        let clientKey = hash.hmac(key: salted, Array("Client Key".utf8))
        return SCRAMStoredKeys(
            hash: hash,
            salt: salt,
            iterations: iterations,
            storedKey: hash.digest(clientKey),
            serverKey: hash.hmac(key: salted, Array("Server Key".utf8))
        )
    }

    /// Parses the one-line form ``encoded``; `nil` when it is malformed, the key lengths do not fit the hash or the
    /// iteration count is not between 1 and 10,000,000.
    public init?(encoded: String) {
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, let hash = SCRAMHash(rawValue: String(fields[0])), fields[1].hasPrefix("i="),
            let iterations = Int(fields[1].dropFirst(2)), (1...10_000_000).contains(iterations),
            let salt = SASLBase64.decode(fields[2]), !salt.isEmpty,
            let storedKey = SASLBase64.decode(fields[3]), let serverKey = SASLBase64.decode(fields[4])
        else { return nil }
        let length = hash.digest([]).count
        guard storedKey.count == length, serverKey.count == length else { return nil }
        self.init(hash: hash, salt: salt, iterations: iterations, storedKey: storedKey, serverKey: serverKey)
    }

    /// The one-line form, e.g. `SCRAM-SHA-256$i=4096$<salt>$<StoredKey>$<ServerKey>`.
    public var encoded: String {
        [
            hash.rawValue, "i=\(iterations)", SASLBase64.encodeText(salt), SASLBase64.encodeText(storedKey),
            SASLBase64.encodeText(serverKey),
        ].joined(separator: "$")
    }

    /// Whether `password` derives to this verifier (constant-time comparison of the StoredKey).
    public func matches(password: String) -> Bool {
        let candidate = Self.derive(password: password, hash: hash, salt: salt, iterations: iterations)
        return constantTimeEqual(candidate.storedKey, storedKey)
    }
}

/// SCRAM keys derived from clear passwords, kept for the life of the process so that repeated logins of a user
/// cost no PBKDF2 run. Keyed by user and hash; a changed password is derived again.
enum DerivedKeyCache {
    private struct Key: Hashable {
        var username: String
        var hash: SCRAMHash
    }

    private static let entries = NIOLockedValueBox<[Key: (password: String, keys: SCRAMStoredKeys)]>([:])
    /// A process-wide secret for the fake salts of unknown users.
    static let secret = randomBytes(32)

    static func keys(username: String, password: String, hash: SCRAMHash) -> SCRAMStoredKeys {
        let key = Key(username: username, hash: hash)
        if let cached = entries.withLockedValue({ $0[key] }), cached.password == password { return cached.keys }
        let keys = SCRAMStoredKeys.derive(password: password, hash: hash)
        entries.withLockedValue { $0[key] = (password, keys) }
        return keys
    }
}

/// `count` bytes from the system's secure random number generator.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}
