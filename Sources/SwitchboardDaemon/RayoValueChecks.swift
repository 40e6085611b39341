import XMPP
import XMPPServer

extension ConfigurationValidator {
    /// Problems with a `passwordHash` (SCRAM stored keys as `switchboard rayo hash-password` prints them), or `nil`.
    static func checkStoredKeys(_ text: String) -> String? {
        SCRAMStoredKeys(encoded: text) == nil
            ? "must be SCRAM stored keys as `switchboard rayo hash-password` prints them" : nil
    }

    /// Problems with an alias's command XML, or `nil`.
    static func checkCommandXML(_ text: String) -> String? {
        do {
            _ = try XMLElement.parse(text, limits: XMLStreamLimits())
            return nil
        } catch {
            return "must be one well-formed XML element (e.g. <answer xmlns=\"urn:xmpp:rayo:1\"/>): \(error)"
        }
    }

    /// Problems with an `acl` entry (`10.0.0.0/8`, `::1/128`, a bare address for one host), or `nil`.
    static func checkCIDR(_ text: String) -> String? {
        do {
            _ = try CIDR(text)
            return nil
        } catch {
            return "must be a CIDR block such as \"127.0.0.0/8\" or \"::1/128\": \(error.message)"
        }
    }
}
