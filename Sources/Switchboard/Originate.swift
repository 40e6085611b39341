/// An `originate` command: whom to call, with which channel variables, and what the answered call does.
///
/// ```swift
/// var call = Originate("sofia/gateway/carrier/15551234567", then: .application("park"))
///     .variable("origination_caller_id_number", "15550000000")
/// call.timeout = .seconds(30)
/// let uuid = try await connection.originate(call)
/// ```
public struct Originate: Sendable, Hashable {
    /// What the answered call does.
    public enum Destination: Sendable, Hashable {
        /// Run one application: `&name(argument)`. The argument may hold spaces and quotes (escaped for originate's
        /// split at spaces); FreeSWITCH ends it at the first `)`, so one holding `)` is refused.
        case application(String, argument: String? = nil)
        /// Enter the dialplan at an extension: `extension [dialplan [context]]`.
        case `extension`(String, dialplan: String? = nil, context: String? = nil)
    }

    /// One or more endpoints (`sofia/…`, `loopback/…`, `user/…`). Several in one group ring at once; groups are
    /// tried in turn.
    public var endpointGroups: [[String]]
    /// What the answered call does.
    public var destination: Destination
    /// Channel variables for the new call (`{name=value,…}`), escaped so that each value arrives unchanged (commas,
    /// spaces, quotes, `=`, backslashes, non-ASCII text). ``arguments`` refuses a value that cannot be sent (a
    /// control character, `${`, `:_:`, unpaired braces) with ``SwitchboardError/Code/invalidArgument``.
    public var variables: [String: String]
    /// The caller ID name and number to present, when set.
    public var callerIDName: String?
    /// The caller ID number to present, when set.
    public var callerIDNumber: String?
    /// FreeSWITCH's timer: how long the endpoints may ring before FreeSWITCH gives up with `NO_ANSWER` (whole
    /// seconds on the wire, rounded up); `nil` leaves it to FreeSWITCH (`originate_timeout`, 60 s by default).
    ///
    /// It also bounds Switchboard's wait for the result: ``EventSocketConnection/originate(_:)`` waits this long plus
    /// ``resultGracePeriod``, then throws ``SwitchboardError/Code/timedOut``. Without it, the wait lasts as long as
    /// the connection.
    public var timeout: Duration?

    /// How much longer than ``timeout`` ``EventSocketConnection/originate(_:)`` waits for FreeSWITCH's result: the
    /// time FreeSWITCH takes to end the ringing legs and report.
    public static let resultGracePeriod: Duration = .seconds(10)

    /// Calls one endpoint.
    public init(_ endpoint: String, then destination: Destination) {
        self.init(endpointGroups: [[endpoint]], then: destination)
    }

    /// Calls groups of endpoints with failover.
    public init(endpointGroups: [[String]], then destination: Destination) {
        self.endpointGroups = endpointGroups
        self.destination = destination
        self.variables = [:]
    }

    /// Returns a copy with one more channel variable.
    public func variable(_ name: String, _ value: String) -> Self {
        var copy = self
        copy.variables[name] = value
        return copy
    }

    /// The argument string of `originate`.
    ///
    /// - Throws: ``SwitchboardError/Code/invalidArgument`` naming a channel variable whose name or value cannot be
    ///   sent.
    public var arguments: String {
        get throws {
            try makeArguments()
        }
    }

    private func makeArguments() throws(SwitchboardError) -> String {
        let dialString = endpointGroups.map { $0.joined(separator: ",") }.joined(separator: "|")
        var words = [try ChannelVariables(variables).prefix(for: .originate) + dialString]
        var dialplan: String?
        var context: String?
        switch destination {
        case .application(let name, let argument):
            let argument = argument ?? ""
            try Self.checkApplication(name, argument: argument)
            // originate splits its arguments at spaces: the application's argument is escaped for that split.
            words.append("&\(name)(\(ChannelVariables.escape(argument, separator: nil)))")
        case .extension(let number, let extensionDialplan, let extensionContext):
            words.append(try OutboundSession.words(of: "originate", [("extension", number)]))
            dialplan = extensionDialplan ?? (extensionContext == nil ? nil : "XML")
            context = extensionContext
        }
        // originate reads the rest by position: dialplan, context, caller ID name, caller ID number, timeout;
        // `undef` fills a position left to FreeSWITCH's default.
        var positional: [(name: String, value: String?)] = [
            ("dialplan", dialplan), ("context", context), ("callerIDName", nil), ("callerIDNumber", callerIDNumber),
            ("timeout", nil),
        ]
        for index in positional.indices {
            guard let value = positional[index].value else { continue }
            positional[index].value = try OutboundSession.words(of: "originate", [(positional[index].name, value)])
        }
        // Quoted: FreeSWITCH reads `'…'` as one argument; a quote or backslash inside is escaped.
        positional[2].value = callerIDName.map { "'\(ChannelVariables.escapingQuotes($0))'" }
        if let timeout {
            positional[4].value = try OutboundSession.timer(timeout, in: .seconds, of: "originate", "timeout")
        }
        while let last = positional.last, last.value == nil { positional.removeLast() }
        words += positional.map { $0.value ?? "undef" }
        return words.joined(separator: " ")
    }

    /// FreeSWITCH ends `&name(argument)` at the first `)`, and reads no control characters in it.
    private static func checkApplication(_ name: String, argument: String) throws(SwitchboardError) {
        let nameIsWord =
            !name.isEmpty && !name.unicodeScalars.contains { $0.value <= 0x20 || "()'\\".unicodeScalars.contains($0) }
        guard nameIsWord else {
            throw SwitchboardError(.invalidArgument, "originate: application name '\(name)' must be one word")
        }
        if argument.contains(")") {
            throw SwitchboardError(
                .invalidArgument,
                "originate: the argument of '\(name)' ('\(argument)') holds ')', where FreeSWITCH ends it"
            )
        }
        if argument.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw SwitchboardError(
                .invalidArgument,
                "originate: the argument of '\(name)' holds a control character (CR, LF, tab, …)"
            )
        }
    }
}

/// An `originate` that did not give an answered call: the UUID the call was placed with and FreeSWITCH's hangup cause.
///
/// ```swift
/// do {
///     try await connection.originate(call)
/// } catch let failure as OriginateError {
///     logger.info("\(failure.uuid) failed: \(failure.hangupCause ?? failure.message)")
/// }
/// ```
public struct OriginateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call's UUID (`origination_uuid`): the one given, or the one Switchboard chose.
    public var uuid: String
    /// FreeSWITCH's hangup cause, e.g. `NO_ROUTE_DESTINATION`, `USER_BUSY`, `NO_ANSWER`, `INVALID_GATEWAY`; `nil`
    /// when FreeSWITCH refused the command itself (`-USAGE`).
    public var hangupCause: String?
    /// FreeSWITCH's answer as it came, without the final newline (`-ERR NO_ROUTE_DESTINATION`).
    public var message: String

    /// Creates an error.
    public init(uuid: String, hangupCause: String?, message: String) {
        self.uuid = uuid
        self.hangupCause = hangupCause
        self.message = message
    }

    /// Reads FreeSWITCH's `originate` output: `-ERR <CAUSE>` carries the hangup cause.
    init(uuid: String, output: String) {
        let message = output.trimmingCharacters(in: "\n")
        var cause: String?
        if message.hasPrefix("-ERR ") {
            let word = message.dropFirst(5)
            let isCause = !word.isEmpty && word.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || $0 == "_" }
            if isCause { cause = String(word) }
        }
        self.init(uuid: uuid, hangupCause: cause, message: message)
    }

    /// The call's UUID and why it failed.
    public var description: String {
        "OriginateError: the call \(uuid) failed: \(hangupCause ?? message)"
    }
}
