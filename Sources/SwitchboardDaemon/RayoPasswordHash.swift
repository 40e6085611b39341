import XMPP

/// Makes the `passwordHash` of a `rayo.users[]` entry: SCRAM stored keys (RFC 5802) in ``XMPP/SCRAMStoredKeys``'s
/// text form, so the configuration never holds the password itself.
public enum RayoPasswordHash {
    /// The hash function of the SCRAM mechanism the keys are for.
    public enum Function: String, Sendable, CaseIterable {
        /// SCRAM-SHA-256 (the default).
        case sha256 = "sha-256"
        /// SCRAM-SHA-1, for clients that know nothing newer.
        case sha1 = "sha-1"
    }

    /// PBKDF2 iterations by default: 4096, RFC 7677's minimum.
    public static let defaultIterations = 4_096
    /// The iteration counts accepted.
    public static let iterationRange = 4_096...10_000_000

    /// Stored keys for `password` with a fresh random 16-byte salt.
    public static func storedKeys(password: String, function: Function, iterations: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hash: SCRAMHash = function == .sha1 ? .sha1 : .sha256
        return SCRAMStoredKeys.derive(password: password, hash: hash, salt: salt, iterations: iterations).encoded
    }
}
