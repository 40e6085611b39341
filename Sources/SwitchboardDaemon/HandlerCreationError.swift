/// A registered handler's initializer threw when the daemon created it for a listener; the daemon does not start.
public struct HandlerCreationError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case initializerFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The handler's `init(settings:)` (or `init()`) threw; ``HandlerCreationError/error`` is what it threw.
        public static let initializerFailed = Code(.initializerFailed)

        /// The code's name, e.g. `initializerFailed`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The listener whose handler it is.
    public var listener: String
    /// The handler's registered name.
    public var handler: String
    /// What the initializer threw.
    public var error: any Error

    /// Creates the error for a handler whose initializer threw `error`.
    public init(listener: String, handler: String, error: any Error) {
        self.code = .initializerFailed
        self.listener = listener
        self.handler = handler
        self.error = error
    }

    /// `listener 'ivr': the handler 'demo-ivr' could not be created: …`.
    public var description: String {
        "listener '\(listener)': the handler '\(handler)' could not be created: \(error)"
    }
}
