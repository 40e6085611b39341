import NIOCore

/// A command to FreeSWITCH, ready to be written to the socket.
///
/// Commands are built by the static functions below, which check every value they put on a line: a CR or LF inside
/// a value would let it smuggle in another header or command, so it is rejected with
/// ``EventSocketError/Code/invalidCommand``. Text that may span lines (application arguments, event bodies) travels
/// as a body with its own `Content-Length`, which is safe.
public struct EventSocketCommand: Sendable, Hashable, CustomStringConvertible {
    /// The command line, e.g. `api status`.
    public let line: String
    /// Header lines sent after the command line, in order.
    public let headers: EventSocketHeaders
    /// A body, sent after `Content-Length` (and the caller's `Content-Type`, when given).
    public let body: String?

    /// Builds a command from parts, validating each one.
    public init(line: String, headers: EventSocketHeaders = EventSocketHeaders(), body: String? = nil) throws {
        try Self.checkValue(line, what: "command line")
        guard !line.isEmpty else { throw EventSocketError(.invalidCommand, "the command line is empty") }
        for (name, value) in headers {
            try Self.checkValue(name, what: "header name")
            try Self.checkValue(value, what: "header '\(name)'")
            if name.isEmpty || ByteScan.contains(UInt8(ascii: ":"), in: name) {
                throw EventSocketError(.invalidCommand, "header name '\(name)' is empty or holds a colon")
            }
            if EventSocketHeaders.namesMatch(name, "Content-Length") {
                throw EventSocketError(
                    .invalidCommand,
                    "Content-Length is set from the body; do not pass it as a header"
                )
            }
        }
        self.line = line
        self.headers = headers
        self.body = body
    }

    /// What is sent, for logs and errors: the command line (passwords masked) and, for `sendmsg`, what it asks for
    /// (`sendmsg execute playback`, `sendmsg hangup`), never argument values.
    public var description: String {
        if line.hasPrefix("auth ") { return "auth ******" }
        if line.hasPrefix("userauth ") { return "userauth ******" }
        if line.hasPrefix("sendmsg"), let callCommand = headers["call-command"] {
            guard let application = headers["execute-app-name"] else { return "\(line) \(callCommand)" }
            return "\(line) \(callCommand) \(application)"
        }
        return line
    }

    /// Writes the command in wire form: the line, the headers, `Content-Length` when there is a body, a blank line,
    /// then the body.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeString(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
        for (name, value) in headers {
            buffer.writeString(name)
            buffer.writeString(": ")
            buffer.writeString(value)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        if let body {
            buffer.writeString("Content-Length: \(body.utf8.count)\n\n")
            buffer.writeString(body)
        } else {
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
    }

    /// The command in wire form as bytes.
    public var encoded: ByteBuffer {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return buffer
    }

    // Both check bytes, not characters (a `Character` walk costs far more than the command's encoding), and build
    // the description of what they check only when it fails.

    static func checkValue(_ value: String, what: @autoclosure () -> String) throws {
        if ByteScan.containsLineBreak(value) {
            throw EventSocketError(.invalidCommand, "\(what()) holds CR or LF, which would inject a header: '\(value)'")
        }
    }

    static func checkWord(_ value: String, what: @autoclosure () -> String) throws {
        try checkValue(value, what: what())
        if value.isEmpty || ByteScan.contains(UInt8(ascii: " "), in: value) {
            throw EventSocketError(.invalidCommand, "\(what()) must be one non-empty word: '\(value)'")
        }
    }
}

// MARK: - Connection and subscription commands

extension EventSocketCommand {
    /// `auth <password>`: the answer to `auth/request` on an inbound connection.
    public static func auth(password: String) throws -> Self {
        try checkValue(password, what: "password")
        return try Self(line: "auth \(password)")
    }

    /// `userauth <user>@<domain>:<password>`: log in as a directory user with `esl-password`.
    public static func userAuth(user: String, domain: String, password: String) throws -> Self {
        try checkWord(user, what: "user")
        try checkWord(domain, what: "domain")
        try checkValue(password, what: "password")
        return try Self(line: "userauth \(user)@\(domain):\(password)")
    }

    /// `event <format> <names…> [CUSTOM <subclasses…>]`.
    ///
    /// FreeSWITCH reads every word after `CUSTOM` as a subclass, so `CUSTOM` and the subclasses always go last,
    /// whatever order the caller gave: `["CUSTOM", "CHANNEL_EXECUTE"]` subscribes to CHANNEL_EXECUTE and all CUSTOM
    /// events, not to a subclass named CHANNEL_EXECUTE. Names holding `::` are taken as subclasses.
    public static func event(
        _ format: EventSocketEvent.Format,
        names: [String],
        customSubclasses: [String] = []
    ) throws -> Self {
        let subscription = try EventSubscription(names: names, customSubclasses: customSubclasses)
        return try Self(line: "event \(format.rawValue) \(subscription.words.joined(separator: " "))")
    }

    /// `nixevent <names…>`: stop receiving these events.
    public static func nixEvent(names: [String], customSubclasses: [String] = []) throws -> Self {
        let subscription = try EventSubscription(names: names, customSubclasses: customSubclasses)
        return try Self(line: "nixevent \(subscription.words.joined(separator: " "))")
    }

    /// `noevents`: stop receiving all events.
    public static let noEvents = try! Self(line: "noevents")

    /// `myevents [uuid [format]]`: on an outbound socket, this channel's events; on an inbound one, those of `uuid`
    /// (FreeSWITCH then closes the socket when that channel ends).
    public static func myEvents(uuid: String? = nil, format: EventSocketEvent.Format? = nil) throws -> Self {
        var line = "myevents"
        if let uuid {
            try checkWord(uuid, what: "uuid")
            line += " \(uuid)"
            if let format { line += " \(format.rawValue)" }
        } else if let format {
            line += " \(format.rawValue)"
        }
        return try Self(line: line)
    }

    /// `divert_events on|off`: deliver events from the session's input callbacks to the socket.
    public static func divertEvents(_ on: Bool) -> Self {
        try! Self(line: "divert_events \(on ? "on" : "off")")
    }

    /// `filter <header> <value>`: once any filter exists, only matching events pass. `/regex/` values match by
    /// regular expression.
    public static func filter(header: String, value: String) throws -> Self {
        try checkWord(header, what: "filter header")
        try checkValue(value, what: "filter value")
        return try Self(line: "filter \(header) \(value)")
    }

    /// `filter delete <header> [value]`, or `filter delete all` when `header` is `nil`.
    public static func filterDelete(header: String?, value: String? = nil) throws -> Self {
        guard let header else { return try Self(line: "filter delete all") }
        try checkWord(header, what: "filter header")
        if let value {
            try checkValue(value, what: "filter value")
            return try Self(line: "filter delete \(header) \(value)")
        }
        return try Self(line: "filter delete \(header)")
    }

    /// `sendevent <name>` with headers and an optional body: fire an event into FreeSWITCH. For a CUSTOM event pass
    /// its `Event-Subclass` among the headers.
    public static func sendEvent(_ name: String, headers: EventSocketHeaders, body: String? = nil) throws -> Self {
        try checkWord(name, what: "event name")
        return try Self(line: "sendevent \(name)", headers: headers, body: body)
    }

    /// `log <level>`: receive log lines at this level and above (0 to 7, or a name such as `DEBUG`).
    public static func log(level: String) throws -> Self {
        try checkWord(level, what: "log level")
        return try Self(line: "log \(level)")
    }

    /// `nolog`: stop receiving log lines.
    public static let noLog = try! Self(line: "nolog")

    /// `linger [seconds]`: keep an outbound socket open after hangup until `exit` (or the given time).
    public static func linger(seconds: Int? = nil) -> Self {
        try! Self(line: seconds.map { "linger \($0)" } ?? "linger")
    }

    /// `nolinger`: close the outbound socket at hangup.
    public static let noLinger = try! Self(line: "nolinger")

    /// `getvar <name>`: read a channel variable on an outbound socket.
    public static func getVar(_ name: String) throws -> Self {
        try checkWord(name, what: "variable name")
        return try Self(line: "getvar \(name)")
    }

    /// `resume`: let the dialplan continue after the socket application when the socket closes.
    public static let resume = try! Self(line: "resume")

    /// `connect`: the first command on an outbound socket; the reply carries the channel data.
    public static let connect = try! Self(line: "connect")

    /// `exit`: FreeSWITCH answers `+OK bye` and closes the socket.
    public static let exit = try! Self(line: "exit")
}

// MARK: - API commands

extension EventSocketCommand {
    /// `api <command> [arguments]`: run an API command and wait for its output. It blocks this socket until done;
    /// prefer ``backgroundAPI(_:arguments:jobUUID:)`` for anything slow.
    public static func api(_ command: String, arguments: String? = nil) throws -> Self {
        try checkWord(command, what: "api command")
        if let arguments { try checkValue(arguments, what: "api arguments") }
        let words = ["api", command, arguments?.isEmpty == true ? nil : arguments]
        return try Self(line: words.compactMap { $0 }.joined(separator: " "))
    }

    /// `bgapi <command> [arguments]` with a `Job-UUID` header chosen by the caller, so the BACKGROUND_JOB event that
    /// carries the result can be matched to it.
    public static func backgroundAPI(_ command: String, arguments: String? = nil, jobUUID: String) throws -> Self {
        try checkWord(command, what: "bgapi command")
        if let arguments { try checkValue(arguments, what: "bgapi arguments") }
        try checkWord(jobUUID, what: "Job-UUID")
        let words = ["bgapi", command, arguments?.isEmpty == true ? nil : arguments]
        return try Self(
            line: words.compactMap { $0 }.joined(separator: " "),
            headers: ["Job-UUID": jobUUID]
        )
    }
}

// MARK: - sendmsg

/// An application for FreeSWITCH to run on a channel, sent with `sendmsg … call-command: execute`.
public struct ApplicationExecution: Sendable, Hashable {
    /// The dialplan application, e.g. `playback`.
    public var application: String
    /// Its argument string; multi-line or long arguments travel as a `text/plain` body.
    public var argument: String?
    /// How many times to run it (`loops`), when not once.
    public var loops: Int?
    /// `event-lock: true`: FreeSWITCH starts the next queued application only after this one finished.
    public var eventLock: Bool
    /// `Event-UUID`: comes back as `Application-UUID` in CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE.
    public var eventUUID: String?
    /// `async: true`: run the application from the socket thread, without queueing.
    public var async: Bool
    /// `hold-bleg: true`: keep the bridged leg on hold meanwhile.
    public var holdBLeg: Bool

    /// Describes an application run.
    public init(
        _ application: String,
        argument: String? = nil,
        loops: Int? = nil,
        eventLock: Bool = false,
        eventUUID: String? = nil,
        async: Bool = false,
        holdBLeg: Bool = false
    ) {
        self.application = application
        self.argument = argument
        self.loops = loops
        self.eventLock = eventLock
        self.eventUUID = eventUUID
        self.async = async
        self.holdBLeg = holdBLeg
    }
}

extension EventSocketCommand {
    /// Arguments longer than this travel in a body rather than an `execute-app-arg` header.
    public static let maxHeaderArgumentBytes = 2048

    /// `sendmsg [uuid]` with `call-command: execute`: run a dialplan application on a channel. `uuid` may be
    /// omitted on an outbound socket (the socket's own channel).
    public static func execute(_ execution: ApplicationExecution, uuid: String? = nil) throws -> Self {
        try checkWord(execution.application, what: "application name")
        var headers: EventSocketHeaders = ["call-command": "execute", "execute-app-name": execution.application]
        var body: String?
        if let argument = execution.argument {
            let multiline = ByteScan.containsLineBreak(argument)
            if multiline || argument.utf8.count > maxHeaderArgumentBytes {
                headers.append(name: "content-type", value: "text/plain")
                body = argument
            } else {
                headers.append(name: "execute-app-arg", value: argument)
            }
        }
        if let loops = execution.loops { headers.append(name: "loops", value: String(loops)) }
        if execution.eventLock { headers.append(name: "event-lock", value: "true") }
        if execution.async { headers.append(name: "async", value: "true") }
        if execution.holdBLeg { headers.append(name: "hold-bleg", value: "true") }
        if let eventUUID = execution.eventUUID {
            try checkWord(eventUUID, what: "Event-UUID")
            headers.append(name: "Event-UUID", value: eventUUID)
        }
        return try Self(line: try sendmsgLine(uuid), headers: headers, body: body)
    }

    /// `sendmsg [uuid]` with `call-command: hangup` and a cause such as `NORMAL_CLEARING`.
    public static func hangup(cause: String = "NORMAL_CLEARING", uuid: String? = nil) throws -> Self {
        try checkWord(cause, what: "hangup cause")
        return try Self(line: try sendmsgLine(uuid), headers: ["call-command": "hangup", "hangup-cause": cause])
    }

    /// `sendmsg [uuid]` with any `call-command` (`unicast`, `nomedia`, `xferext`, …) and its headers.
    public static func sendMessage(uuid: String? = nil, headers: EventSocketHeaders, body: String? = nil) throws -> Self
    {
        try Self(line: try sendmsgLine(uuid), headers: headers, body: body)
    }

    private static func sendmsgLine(_ uuid: String?) throws -> String {
        guard let uuid else { return "sendmsg" }
        try checkWord(uuid, what: "uuid")
        return "sendmsg \(uuid)"
    }
}

/// The words of an `event` or `nixevent` command in the order FreeSWITCH needs: plain event names, then `CUSTOM`
/// and its subclasses.
struct EventSubscription {
    var words: [String]

    init(names: [String], customSubclasses: [String]) throws {
        var plain: [String] = []
        var subclasses: [String] = []
        var custom = !customSubclasses.isEmpty
        for name in names {
            try EventSocketCommand.checkWord(name, what: "event name")
            if name == "CUSTOM" {
                custom = true
            } else if name.contains("::") {
                custom = true
                subclasses.append(name)
            } else if !plain.contains(name) {
                plain.append(name)
            }
        }
        for subclass in customSubclasses {
            try EventSocketCommand.checkWord(subclass, what: "CUSTOM subclass")
            if !subclasses.contains(subclass) { subclasses.append(subclass) }
        }
        words = plain + (custom ? ["CUSTOM"] + subclasses : [])
        guard !words.isEmpty else { throw EventSocketError(.invalidCommand, "no event names to subscribe to") }
    }
}
