/// One thing wrong with a configuration file, named by its key path (`listeners[1].handler`) and, where known, its
/// line and column.
public struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case syntaxError
            case unknownKey
            case duplicateKey
            case missingKey
            case wrongType
            case invalidValue
            case duplicateName
            case duplicatePort
            case unknownHandler
            case wrongHandlerKind
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file is not valid JSON (or not UTF-8); the problem's position says where.
        public static let syntaxError = Code(.syntaxError)
        /// An object has a key that the configuration does not define (often a typo).
        public static let unknownKey = Code(.unknownKey)
        /// An object has the same key twice.
        public static let duplicateKey = Code(.duplicateKey)
        /// A key that has no default (`listeners`, a listener's `name`, `kind` or `handler`) is absent.
        public static let missingKey = Code(.missingKey)
        /// A value has the wrong JSON type, e.g. a string where a number belongs, or a fraction where an integer does.
        public static let wrongType = Code(.wrongType)
        /// A value has the right type but is not allowed: a port out of range, an empty name, a zero timeout.
        public static let invalidValue = Code(.invalidValue)
        /// Two listeners have the same name.
        public static let duplicateName = Code(.duplicateName)
        /// Two outbound listeners would listen on the same address and port.
        public static let duplicatePort = Code(.duplicatePort)
        /// No handler of that name is compiled into the program.
        public static let unknownHandler = Code(.unknownHandler)
        /// The handler is inbound and the listener outbound, or the other way round.
        public static let wrongHandlerKind = Code(.wrongHandlerKind)

        /// The code's name, e.g. `unknownKey`.
        public var description: String { base.rawValue }
    }

    /// What kind of problem this is.
    public var code: Code
    /// The key path of the offending value, e.g. `listeners[1].handler`; `""` for the whole document.
    public var keyPath: String
    /// Where the offending value (or syntax error) is in the file, when known.
    public var position: TextPosition?
    /// What is wrong, in words an operator can act on.
    public var message: String

    /// Creates a problem.
    public init(_ code: Code, keyPath: String, position: TextPosition? = nil, message: String) {
        self.code = code
        self.keyPath = keyPath
        self.position = position
        self.message = message
    }

    /// `listeners[1].handler (line 14, column 20): no handler named "ivr2"…`.
    public var description: String {
        switch (keyPath.isEmpty, position) {
        case (false, .some(let position)): "\(keyPath) (\(position)): \(message)"
        case (false, .none): "\(keyPath): \(message)"
        case (true, .some(let position)): "\(position): \(message)"
        case (true, .none): message
        }
    }
}
