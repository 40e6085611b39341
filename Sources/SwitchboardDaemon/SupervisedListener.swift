import Logging
import ServiceLifecycle
import Switchboard
import SwitchboardDiagnostics

/// Runs one listener and restarts it with backoff when it fails, so one failing listener never takes the others
/// down. A failure before the listener ever came up (an outbound port already in use, say) is not retried: it ends
/// the daemon with a clear error, as an operator starting it wants.
struct SupervisedListener: Service {
    let name: String
    let logger: Logger
    let backoff: ReconnectPolicy
    /// Creates a fresh listener for each run.
    let makeListener: @Sendable () -> any Service
    /// Whether the listener has ever come up (bound, or attempted to connect).
    let hasStarted: @Sendable () -> Bool

    func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let problem: String
            do {
                try await makeListener().run()
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                problem = "stopped unexpectedly"
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                guard hasStarted() else { throw DaemonError(.listenerFailed, Self.startFailure(error, listener: name)) }
                problem = "failed: \(OperatorText.reason(error))"
            }
            failures += 1
            let delay = backoff.delay(afterFailures: failures - 1)
            logger.error("listener '\(name.loggable)' \(problem); restarting it in \(delay.loggable)")
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
        }
    }

    /// `listener 'ivr' cannot listen on 127.0.0.1:8084: the address is already in use`: the listener's own sentence
    /// when it has one, else what failed in words.
    static func startFailure(_ error: any Error, listener name: String) -> String {
        if let error = error as? SwitchboardError, error.code == .listenFailed { return error.message }
        return "listener '\(name.loggable)' could not start: \(OperatorText.reason(error))"
    }
}

/// An error of the daemon itself (not of its configuration).
public struct DaemonError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case listenerFailed
            case logFileFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A listener could not start (e.g. its port is in use).
        public static let listenerFailed = Code(.listenerFailed)
        /// The log file could not be opened or reopened.
        public static let logFileFailed = Code(.logFileFailed)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened, naming the listener or file.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
