import EventSocket
import Foundation
import Logging
import Switchboard
import SwitchboardTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether the FreeSWITCH of ``SwitchboardTesting/TestSwitch`` answers (127.0.0.1:8021 unless the environment names
/// another); probed once per process.
///
/// Every suite here is `.enabled(if: FreeSWITCHAvailability.isUp, …)`, so without a FreeSWITCH they are skipped with
/// one line each, naming the address tried and the variables that choose another.
enum FreeSWITCHAvailability {
    static let host = TestSwitch.current.host
    static let port = TestSwitch.current.port
    static let skipReason = Comment(rawValue: TestSwitch.skipReason)

    /// Probed on first use, then remembered.
    static let isUp: Bool = TestSwitch.isAvailable
}

/// Shared helpers of the integration tests: logging, unique names, command sockets, cleanup, waiting.
enum Integration {
    /// The channel variable every call of these tests carries, with a value unique to one test.
    static let tagVariable = "sbtest_tag"

    /// Warnings and errors only, to standard error.
    static let logger: Logger = {
        var logger = Logger(label: "switchboard.integration") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = .warning
        return logger
    }()

    /// A tag unique to one test: letters and digits only, so it is safe in dial strings, filters and subclasses.
    static func uniqueTag() -> String {
        "sbt" + UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(16)
    }

    /// A fresh lower-case UUID, for `origination_uuid`.
    static func newUUID() -> String { UUID().uuidString.lowercased() }

    /// Logs in to the event socket.
    static func connect(
        authentication: InboundConfiguration.Authentication = TestSwitch.current.authentication
    ) async throws -> CommandSocket {
        try await CommandSocket.connect(
            host: FreeSWITCHAvailability.host,
            port: FreeSWITCHAvailability.port,
            authentication: authentication,
            timeout: .seconds(20),
            logger: logger
        )
    }

    /// Runs `body` with a logged-in command socket and closes the socket afterwards, also on error.
    static func withCommandSocket<Result: Sendable>(
        authentication: InboundConfiguration.Authentication = TestSwitch.current.authentication,
        _ body: (CommandSocket) async throws -> Result
    ) async throws -> Result {
        let socket = try await connect(authentication: authentication)
        do {
            let result = try await body(socket)
            await socket.close()
            return result
        } catch {
            await socket.close()
            throw error
        }
    }

    /// The dial string prefix that tags a call and fixes the UUID of its originating leg.
    static func callVariables(uuid: String, tag: String) -> String {
        "{origination_uuid=\(uuid),\(tagVariable)=\(tag)}"
    }

    /// Hangs up this test's own calls: the given UUIDs, then any channel whose tag variable equals `tag`.
    /// Never touches other channels (no `hupall`). Errors are ignored: the calls may have ended already.
    static func hangUpOwnCalls(tag: String, uuids: [String] = []) async {
        do {
            try await withCommandSocket { socket in
                for uuid in uuids {
                    _ = try? await socket.api("uuid_kill", uuid)
                }
                for uuid in try await channelUUIDs(socket) {
                    let value = try? await socket.api("uuid_getvar", "\(uuid) \(tagVariable)")
                    if value == tag { _ = try? await socket.api("uuid_kill", uuid) }
                }
            }
        } catch {
            logger.warning("cleanup of calls tagged \(tag) failed: \(error)")
        }
    }

    /// The UUIDs of all channels FreeSWITCH lists now (`show channels as json`).
    static func channelUUIDs(_ socket: CommandSocket) async throws -> [String] {
        let json = try await socket.api("show", "channels as json")
        guard
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let rows = object["rows"] as? [[String: Any]]
        else { return [] }
        return rows.compactMap { $0["uuid"] as? String }
    }

    /// Waits until `condition` holds, polling every 20 ms; throws ``IntegrationTimeout`` after `timeout`.
    static func eventually(
        timeout: Duration = .seconds(20),
        _ what: String,
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw IntegrationTimeout("waited \(timeout) for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Runs a listener for the duration of `body`, then cancels it and waits for it to stop. A `CancellationError`
    /// from the listener is its normal way of stopping (``OutboundListener/run()`` throws one when cancelled).
    static func withRunning<Result: Sendable>(
        _ listener: some RunnableListener,
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await listener.run()
                } catch is CancellationError {
                    // Stopped by cancelAll below.
                }
            }
            do {
                let result = try await body()
                group.cancelAll()
                try await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
        }
    }
}

/// A listener that runs until its task is cancelled.
protocol RunnableListener: Sendable {
    func run() async throws
}

extension InboundListener: RunnableListener {}
extension OutboundListener: RunnableListener {}

/// A wait that ran out of time.
struct IntegrationTimeout: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Collects values (events, outcomes) from hooks and handlers that run in other tasks.
actor Recorder<Value: Sendable> {
    private(set) var values: [Value] = []

    func record(_ value: Value) { values.append(value) }

    /// Waits until the values recorded so far satisfy `condition`; returns them.
    @discardableResult
    func wait(
        timeout: Duration = .seconds(20),
        for what: String,
        until condition: @Sendable ([Value]) -> Bool
    ) async throws -> [Value] {
        let deadline = ContinuousClock.now + timeout
        while !condition(values) {
            guard ContinuousClock.now < deadline else {
                throw IntegrationTimeout("waited \(timeout) for \(what); have \(values.count) values")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return values
    }
}
