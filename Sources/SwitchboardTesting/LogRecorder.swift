import Logging
import NIOConcurrencyHelpers

/// Log entries kept in memory, to assert on what the code under test logged.
///
/// ```swift
/// let logs = LogRecorder()
/// let listener = OutboundListener(configuration: configuration, handler: handler, logger: logs.logger())
/// …
/// #expect(logs.all.filter { $0.hasPrefix("warning") }.isEmpty)
/// ```
public final class LogRecorder: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    private let includesMetadata: Bool

    /// Creates an empty recorder.
    ///
    /// - Parameter includesMetadata: Whether each line ends with the entry's metadata, `key=value` sorted by key
    ///   (the logger's and the entry's own together).
    public init(includesMetadata: Bool = false) {
        self.includesMetadata = includesMetadata
    }

    /// Every entry so far, oldest first: `"<level> <message>"`, then the metadata when asked for.
    public var all: [String] { lines.withLockedValue { $0 } }

    /// A logger that records every level, from trace up, into this recorder and prints nothing.
    public func logger(label: String = "switchboard.tests") -> Logger {
        Logger(label: label) { _ in Handler(recorder: self) }
    }

    fileprivate func record(_ event: LogEvent, metadata: Logger.Metadata) {
        var line = "\(event.level) \(event.message)"
        if includesMetadata {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        lines.withLockedValue { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.record(event, metadata: metadata)
        }
    }
}
