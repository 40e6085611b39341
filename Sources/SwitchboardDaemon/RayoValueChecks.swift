extension ConfigurationValidator {
    /// Problems with a `passwordHash` (SCRAM stored keys as `switchboard rayo hash-password` prints them), or `nil`.
    static func checkStoredKeys(_ text: String) -> String? {
        // TEMPORARY until xmpp-core lands SCRAMStoredKeys(encoded:).
        text.isEmpty ? "must be stored keys from `switchboard rayo hash-password`" : nil
    }

    /// Problems with an alias's command XML, or `nil`.
    static func checkCommandXML(_ text: String) -> String? {
        // TEMPORARY until xmpp-core lands XMLElement.parse.
        text.hasPrefix("<") ? nil : "must be one XML element, e.g. <answer xmlns=\"urn:xmpp:rayo:1\"/>"
    }
}
