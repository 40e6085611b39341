/// A Rayo request that cannot be understood: a missing or malformed attribute or child.
///
/// It always becomes a `bad-request` stanza error whose text is ``message`` (mod_rayo answered, for example,
/// `missing dial to attribute`), so the message names the element and the attribute at fault.
public struct RayoParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The element the problem is in (`dial`, `output`, `header`).
    public var element: String
    /// What is wrong, in words a client developer understands.
    public var message: String

    /// Creates an error.
    public init(element: String, message: String) {
        self.element = element
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
