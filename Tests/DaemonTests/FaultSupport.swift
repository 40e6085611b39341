import EventSocket
import Foundation
import Logging
import NIOConcurrencyHelpers
import Switchboard
import SwitchboardTesting

/// Warnings and errors of the fault tests' own connections, to standard error.
let faultLogger: Logger = {
    var logger = Logger(label: "switchboard.fault-tests") { label in StreamLogHandler.standardError(label: label) }
    logger.logLevel = .warning
    return logger
}()

/// The caller's side of loopback calls through a private FreeSWITCH: places calls into an outbound listener
/// (`loopback/outbound_<port>/peertest`), sends DTMF, hangs up, and records every event of its own calls (tagged
/// with `sbtest_tag`, which both legs carry) from one event socket connection.
final class LoopbackCaller: Sendable {
    static let tagVariable = "sbtest_tag"

    let socket: CommandSocket
    let tag: String
    private let recorded: Timeline<EventSocketEvent>
    private let reader: Task<Void, Never>

    private init(socket: CommandSocket, tag: String, recorded: Timeline<EventSocketEvent>, reader: Task<Void, Never>) {
        self.socket = socket
        self.tag = tag
        self.recorded = recorded
        self.reader = reader
    }

    /// Logs in to `freeswitch` and subscribes to the events of calls tagged with a fresh tag.
    ///
    /// - Parameter tag: The tag to follow; a fresh one when `nil`.
    static func connect(to freeswitch: PrivateFreeSWITCH, tag: String? = nil) async throws -> LoopbackCaller {
        let socket = try await CommandSocket.connect(
            port: freeswitch.port,
            authentication: .password(freeswitch.password),
            timeout: .seconds(20),
            logger: faultLogger
        )
        let tag = tag ?? "sbf" + UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(12)
        try await socket.connection.addFilter(header: "variable_\(tagVariable)", value: tag)
        try await socket.connection.subscribe(to: [
            "CHANNEL_EXECUTE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY", "BACKGROUND_JOB",
        ])
        let recorded = Timeline<EventSocketEvent>()
        let reader = Task {
            for await event in socket.events { recorded.record(event) }
        }
        return LoopbackCaller(socket: socket, tag: tag, recorded: recorded, reader: reader)
    }

    /// Every event of this caller's calls so far.
    var events: [EventSocketEvent] { recorded.values }

    /// Originates a call to the outbound listener on `port` in the background; returns leg A's UUID at once.
    ///
    /// - Parameter variables: Further channel variables (both legs get them; the handler reads them on leg B).
    @discardableResult
    func call(to port: Int, variables: [String: String] = [:]) -> String {
        call(extension: "outbound_\(port)", variables: variables)
    }

    /// Originates a loopback call to an extension of context `peertest` in the background; returns leg A's UUID.
    @discardableResult
    func call(extension: String, variables: [String: String] = [:]) -> String {
        let legA = UUID().uuidString.lowercased()
        var all = ["origination_uuid": legA, Self.tagVariable: tag]
        all.merge(variables) { $1 }
        let block = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let socket = self.socket
        Task {
            _ = try? await socket.backgroundAPI(
                "originate",
                "{\(block)}loopback/\(`extension`)/peertest &park()",
                timeout: .seconds(60)
            )
        }
        return legA
    }

    /// Waits for an event of this caller's calls that satisfies `condition`; throws after `timeout`.
    @discardableResult
    func waitForEvent(
        _ what: String,
        timeout: Duration = .seconds(20),
        where condition: (EventSocketEvent) -> Bool
    ) async throws -> EventSocketEvent {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let event = events.first(where: condition) { return event }
            guard ContinuousClock.now < deadline else { throw FaultTestTimeout("waited \(timeout) for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until leg B of the call whose leg A is `legA` runs `application`; returns leg B's UUID.
    @discardableResult
    func waitForApplication(
        _ application: String,
        legA: String,
        timeout: Duration = .seconds(20)
    ) async throws
        -> String
    {
        let event = try await waitForEvent("\(application) on the socket leg of \(legA)", timeout: timeout) {
            $0.name == "CHANNEL_EXECUTE" && $0["Application"] == application
                && $0.variable("other_loopback_leg_uuid") == legA
        }
        return event.uniqueID ?? ""
    }

    /// Waits until the channel `uuid` is gone from FreeSWITCH (its CHANNEL_DESTROY).
    func waitForDestroy(_ uuid: String, timeout: Duration = .seconds(20)) async throws {
        try await waitForEvent("CHANNEL_DESTROY of \(uuid)", timeout: timeout) {
            $0.name == "CHANNEL_DESTROY" && $0.uniqueID == uuid
        }
    }

    /// The CHANNEL_HANGUP_COMPLETE of the socket leg of the call whose leg A is `legA`, once it arrives.
    @discardableResult
    func waitForSocketLegHangup(legA: String, timeout: Duration = .seconds(20)) async throws -> EventSocketEvent {
        try await waitForEvent("the socket leg's CHANNEL_HANGUP_COMPLETE for \(legA)", timeout: timeout) {
            $0.name == "CHANNEL_HANGUP_COMPLETE" && $0.variable("other_loopback_leg_uuid") == legA
        }
    }

    /// Sends DTMF to leg A: the socket leg (B) hears it.
    func sendDTMF(_ digits: String, legA: String) async throws {
        _ = try await socket.api("uuid_send_dtmf", "\(legA) \(digits)")
    }

    /// Hangs up leg A: the caller hangs up.
    func hangUp(legA: String) async {
        _ = try? await socket.api("uuid_kill", legA)
    }

    /// FreeSWITCH's current session count (`status`), which includes channels held by a lingering socket.
    func sessionCount() async throws -> Int {
        let status = try await socket.api("status")
        guard let line = status.split(separator: "\n").first(where: { $0.contains("session(s) - peak") }),
            let count = Int(line.prefix { $0 != " " })
        else { throw FaultTestTimeout("no session count in: \(status)") }
        return count
    }

    /// Waits until FreeSWITCH holds no session at all (a private switch holds only the test's own).
    func waitForNoSessions(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        var count = try await sessionCount()
        while count > 0 {
            guard ContinuousClock.now < deadline else {
                throw FaultTestTimeout("FreeSWITCH still holds \(count) sessions after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
            count = try await sessionCount()
        }
    }

    func close() async {
        await socket.close()
        await reader.value
    }
}

/// A wait in a fault test that ran out of time.
struct FaultTestTimeout: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits until `condition` holds, polling every 20 ms; throws ``FaultTestTimeout`` after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw FaultTestTimeout("waited \(timeout) for \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Values recorded from other tasks (listener status changes, handler outcomes) with the time each arrived.
final class Timeline<Value: Sendable>: Sendable {
    private let entries = NIOLockedValueBox<[(at: ContinuousClock.Instant, value: Value)]>([])

    func record(_ value: Value) {
        let now = ContinuousClock.now
        entries.withLockedValue { $0.append((now, value)) }
    }

    var values: [Value] { entries.withLockedValue { $0.map(\.value) } }

    /// The values recorded since `start`.
    func values(after start: ContinuousClock.Instant) -> [Value] {
        entries.withLockedValue { $0.filter { $0.at >= start }.map(\.value) }
    }

    /// When the first value after `start` satisfying `condition` was recorded.
    func first(after start: ContinuousClock.Instant, where condition: (Value) -> Bool) -> ContinuousClock.Instant? {
        entries.withLockedValue { $0.first { $0.at >= start && condition($0.value) }?.at }
    }
}
