import Switchboard

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and validates a configuration file against the handlers compiled into the program.
///
/// Validation is strict and complete: unknown keys, wrong types, bad values, duplicate listener names or ports,
/// unknown handlers and handlers of the wrong kind are all reported at once, each with its key path
/// (`listeners[1].handler`) and position, so that an operator fixes a file in one pass:
/// ```swift
/// do {
///     let configuration = try ConfigurationLoader(registry: registry).load(contentsOf: path)
/// } catch {
///     print(error)  // every problem, one per line
/// }
/// ```
public struct ConfigurationLoader: Sendable {
    /// The largest configuration file read; anything bigger is surely not one.
    public static let maximumFileSize = 4 << 20

    /// The handlers that listeners may name.
    public var registry: HandlerRegistry

    /// Creates a loader that accepts the handlers in `registry`.
    public init(registry: HandlerRegistry) {
        self.registry = registry
    }

    /// Reads and validates the file at `path`.
    public func load(contentsOf path: String) throws(ConfigurationError) -> SwitchboardConfiguration {
        let bytes: [UInt8]
        do {
            bytes = try Self.readFile(at: path)
        } catch {
            throw .unreadable(file: path, reason: error.reason)
        }
        return try load(json: bytes, file: path)
    }

    /// Validates a configuration given as JSON text; `file` only names it in errors.
    public func load(json text: String, file: String? = nil) throws(ConfigurationError) -> SwitchboardConfiguration {
        try load(json: Array(text.utf8), file: file)
    }

    /// Validates a configuration given as UTF-8 JSON bytes; `file` only names it in errors.
    public func load(json bytes: [UInt8], file: String? = nil) throws(ConfigurationError) -> SwitchboardConfiguration {
        let document: JSONDocument
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            let problem = ConfigurationProblem(
                .syntaxError,
                keyPath: "",
                position: error.position,
                message: "invalid JSON: \(error.message)"
            )
            throw .invalid(file: file, problems: [problem])
        }
        switch ConfigurationValidator.validate(document, registry: registry) {
        case .valid(let configuration): return configuration
        case .invalid(let problems): throw .invalid(file: file, problems: problems)
        }
    }

    /// The keys a handler's `settings` object may hold, in the order its settings type reads them (for
    /// `switchboard handlers`); empty for a handler that takes none or is not registered.
    public func settingsKeys(ofHandler name: String) -> [String] {
        SettingsReading.keys(ofHandler: name, registry: registry)
    }

    private struct ReadError: Error {
        var reason: String
    }

    private static func readFile(at path: String) throws(ReadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError(reason: SystemError.describe(errno)) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError(reason: SystemError.describe(errno))
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
            if bytes.count > maximumFileSize {
                throw ReadError(reason: "the file is larger than \(maximumFileSize >> 20) MiB")
            }
        }
    }
}
