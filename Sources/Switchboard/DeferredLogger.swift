import Logging
import NIOConcurrencyHelpers

/// A logger whose metadata for one connection or call (peer, call UUID) is attached on first use.
///
/// A log handler may render its metadata whenever metadata is set, not when it logs: swift-log's `StreamLogHandler`
/// does, and rendering a peer address and a call UUID cost more than a tenth of an outbound call that logs nothing.
/// Most calls log nothing, so the metadata is set only once something is about to be logged.
final class DeferredLogger: Sendable {
    /// The level of the logger, known without building it.
    let logLevel: Logger.Level
    private let make: @Sendable () -> Logger
    private let made: NIOLockedValueBox<Logger?>

    /// A logger built by `make` on first use; `logLevel` is the level it will have.
    init(logLevel: Logger.Level, _ make: @escaping @Sendable () -> Logger) {
        self.logLevel = logLevel
        self.make = make
        self.made = NIOLockedValueBox(nil)
    }

    /// A logger ready as it is.
    init(_ logger: Logger) {
        self.logLevel = logger.logLevel
        self.make = { logger }
        self.made = NIOLockedValueBox(logger)
    }

    /// The logger, with its metadata.
    var logger: Logger {
        if let logger = made.withLockedValue({ $0 }) { return logger }
        let logger = make()
        return made.withLockedValue { made in
            if let earlier = made { return earlier }
            made = logger
            return logger
        }
    }

    /// Whether a message at `level` would be logged.
    func logs(_ level: Logger.Level) -> Bool { level >= logLevel }
}
