/// Why a configuration could not be loaded: the file could not be read, or it has problems, all of which are listed.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch over them with a `default` case.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unreadable
            case invalid
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file could not be opened or read; ``ConfigurationError/message`` says why.
        public static let unreadable = Code(.unreadable)
        /// The file was read and has at least one problem; ``ConfigurationError/problems`` lists every one.
        public static let invalid = Code(.invalid)

        /// The code's name, e.g. `invalid`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The file's path, when the configuration came from a file.
    public var file: String?
    /// Every problem found, in document order. Empty for ``Code/unreadable``.
    public var problems: [ConfigurationProblem]
    /// Why the file could not be read, for ``Code/unreadable``; a summary otherwise.
    public var message: String

    /// Creates an error for a file that could not be read.
    public static func unreadable(file: String, reason: String) -> ConfigurationError {
        ConfigurationError(code: .unreadable, file: file, problems: [], message: "cannot read the file: \(reason)")
    }

    /// Creates an error listing a configuration's problems.
    public static func invalid(file: String?, problems: [ConfigurationProblem]) -> ConfigurationError {
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return ConfigurationError(
            code: .invalid,
            file: file,
            problems: problems,
            message: "invalid configuration, \(count)"
        )
    }

    private init(code: Code, file: String?, problems: [ConfigurationProblem], message: String) {
        self.code = code
        self.file = file
        self.problems = problems
        self.message = message
    }

    /// A summary line followed by one indented line per problem, ready for standard error:
    /// ```
    /// /etc/switchboard/switchboard.json: invalid configuration, 2 problems
    ///   listeners[0].port (line 5, column 17): must be an integer from 1 to 65535, found 80000
    ///   listeners[1].handler (line 9, column 20): no handler named "ivr2"; outbound handlers: demo-ivr
    /// ```
    public var description: String {
        let head = file.map { "\($0): \(message)" } ?? message
        return ([head] + problems.map { "  \($0)" }).joined(separator: "\n")
    }
}
