import EventSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwitchboardDiagnostics

/// One call handed over by FreeSWITCH's `socket` application: its channel data and the dialplan applications to run
/// on it, each awaited until FreeSWITCH reports that very application complete.
///
/// The channel data comes from the `connect` reply and is refreshed from every CHANNEL_EXECUTE_COMPLETE, so
/// ``variable(_:)`` sees what applications set (`play_and_get_digits` digits, for example).
public final class OutboundSession: Sendable {
    /// The event socket connection of this call.
    public let connection: EventSocketConnection
    /// How the dialplan invoked `socket` (`async full` is what Switchboard needs for everything it offers).
    public let socketMode: SocketMode
    /// The call's `Unique-ID`.
    public let uniqueID: String
    /// The session's logger (with `call.uuid`).
    public var logger: Logger { deferredLogger.logger }
    /// The same, its metadata attached on first use.
    let deferredLogger: DeferredLogger

    private let state: NIOLockedValueBox<State>

    private struct State {
        var channelData: EventSocketEvent
        var hungUp = false
    }

    init(connection: EventSocketConnection, channelData: ChannelData) {
        let uniqueID = channelData.uniqueID
        self.connection = connection
        self.socketMode = channelData.socketMode
        self.uniqueID = uniqueID
        self.deferredLogger = DeferredLogger(logLevel: connection.deferredLogger.logLevel) {
            var logger = connection.logger
            logger[metadataKey: "call.uuid"] = "\(uniqueID.loggable)"
            return logger
        }
        self.state = NIOLockedValueBox(State(channelData: channelData.event))
    }

    /// The latest channel data: from `connect`, then from each CHANNEL_EXECUTE_COMPLETE.
    public var channelData: EventSocketEvent { state.withLockedValue { $0.channelData } }

    /// A channel variable from the latest channel data (`variable_<name>`).
    public func variable(_ name: String) -> String? { channelData.variable(name) }

    /// A header of the latest channel data, e.g. `Caller-Caller-ID-Number`. The fields handlers read most are typed
    /// properties beside it (``EventSocket/ChannelFields``): `callerIDNumber`, `destinationNumber`, `direction`, ….
    public subscript(_ header: String) -> String? { channelData[header] }

    /// Whether FreeSWITCH reported the end of the call.
    public var hasHungUp: Bool { connection.shared.callHasEnded || state.withLockedValue { $0.hungUp } }

    /// Reads a channel variable from FreeSWITCH now (`getvar`); `nil` when it is unset.
    ///
    /// FreeSWITCH 1.10 answers `-ERR command not found` for an unset variable, which is read as `nil` on purpose.
    public func getVariable(_ name: String) async throws -> String? {
        let reply = try await connection.send(.getVar(name))
        if reply.isError { return nil }
        return reply.text
    }

    /// Runs a dialplan application and returns its CHANNEL_EXECUTE_COMPLETE event once it finished.
    ///
    /// The application is sent with a fresh `Event-UUID`, and only the completion whose `Application-UUID` equals it
    /// ends the wait; never "the next completion".
    ///
    /// An application the caller's hangup ends returns its result: its completion may follow the linger notice, and is
    /// awaited for ``EventSocketConnection/Options/hangupGracePeriod`` after it.
    /// - Parameters:
    ///   - eventLock: Ask FreeSWITCH not to start the next queued application before this one finishes.
    ///   - timeout: Switchboard's wait for the completion; `nil` waits until the call ends. FreeSWITCH keeps running
    ///     the application when it passes (stop it with ``breakApplication()`` or a hangup).
    /// - Throws: ``SwitchboardError/Code/callHungUp`` when the call had ended before the application was sent, or it
    ///   did not complete within the grace period after the end;
    ///   ``EventSocket/EventSocketError/Code/commandFailed`` when FreeSWITCH refused it.
    @discardableResult
    public func execute(
        _ application: String,
        _ argument: String? = nil,
        loops: Int? = nil,
        eventLock: Bool = false,
        timeout: Duration? = nil
    ) async throws -> ApplicationResult {
        if hasHungUp {
            throw SwitchboardError(.callHungUp, "'\(application)' not run: the call \(uniqueID) has ended")
        }
        let eventUUID = UUIDString.random()
        let execution = ApplicationExecution(
            application,
            argument: argument,
            loops: loops,
            eventLock: eventLock,
            eventUUID: eventUUID
        )
        let command = try EventSocketCommand.execute(execution)
        let completion = AwaitedResult<EventSocketEvent>()
        // In static (not async) mode FreeSWITCH replies only after the application finished.
        let replyTimeout = socketMode.isAsync ? connection.options.commandTimeout : timeout
        let reply = try await connection.submit(
            CommandRequest(
                command,
                timeout: replyTimeout,
                completion: .application(eventUUID, completion),
                completionTimeout: timeout
            )
        )
        if reply.isError {
            connection.forgetCompletion(eventUUID)
            if hasHungUp {
                throw SwitchboardError(.callHungUp, "'\(application)' not run: the call \(uniqueID) has ended")
            }
            try reply.check(for: command)
        }
        let event = try await connection.awaitCompletion(eventUUID, completion, of: command)
        refresh(from: event)
        return ApplicationResult(event: event)
    }

    /// Hangs up the call with a cause (the `hangup` application). A call that is already over counts as hung up.
    public func hangup(cause: String = "NORMAL_CLEARING") async throws {
        do {
            try await execute("hangup", cause)
        } catch let error as SwitchboardError where error.code == .callHungUp {
            // The goal is reached: on a static socket FreeSWITCH may close before the completion event arrives.
        }
    }

    /// Closes the socket now, before the call ends; FreeSWITCH continues the dialplan if `resume` was sent.
    public func end() async {
        await connection.close()
    }

    func refresh(from event: EventSocketEvent) {
        let name = event.name
        guard name == "CHANNEL_EXECUTE_COMPLETE" || name == "CHANNEL_DATA" else { return }
        state.withLockedValue { $0.channelData = event }
    }

    func markHungUp() {
        state.withLockedValue { $0.hungUp = true }
    }
}

/// The call's caller ID, destination, direction, context, channel name and answer state, typed, from the latest
/// channel data.
extension OutboundSession: ChannelFields {}

/// The outcome of a dialplan application: its CHANNEL_EXECUTE_COMPLETE event.
public struct ApplicationResult: Sendable {
    /// The completion event, with the channel's variables as the application left them.
    public let event: EventSocketEvent

    /// `Application-Response`: what the application reported (`FILE PLAYED`, `_none_`, …).
    public var response: String? { event["Application-Response"] }

    /// A channel variable as the application left it.
    public func variable(_ name: String) -> String? { event.variable(name) }
}
