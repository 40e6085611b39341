/// Typed helpers for the dialplan applications call-control code uses most. Each runs the application with
/// ``OutboundSession/execute(_:_:loops:eventLock:timeout:)`` and returns when FreeSWITCH reports it complete.
extension OutboundSession {
    /// Answers the call.
    public func answer() async throws { try await execute("answer") }

    /// Sends early media (183) without answering.
    public func preAnswer() async throws { try await execute("pre_answer") }

    /// Sends ringing (180).
    public func ringReady() async throws { try await execute("ring_ready") }

    /// Parks the call: it waits, with no media, until something else acts on it.
    public func park() async throws { try await execute("park") }

    /// Plays a file, tone stream or other source (`playback`); returns its `Application-Response`.
    @discardableResult
    public func playback(_ path: String) async throws -> String? { try await execute("playback", path).response }

    /// Plays a prompt and collects digits (`play_and_get_digits`); returns the digits, or `nil` when none matched.
    ///
    /// FreeSWITCH splits this application's arguments at spaces, so a prompt, variable, regex or terminator that is
    /// empty or holds a space or a quote is refused with ``SwitchboardError/Code/invalidArgument`` (it would shift
    /// every later argument).
    /// The call waits for as long as FreeSWITCH runs the application: its timers bound it, not Switchboard.
    /// - Parameters:
    ///   - timeout: FreeSWITCH's timer for each try: how long it waits for the caller's digits after the prompt
    ///     (milliseconds on the wire, rounded up).
    ///   - variable: The channel variable FreeSWITCH stores the digits in; read back from the completion event.
    ///   - digitTimeout: FreeSWITCH's timer between two digits; `nil` uses `timeout`.
    public func playAndGetDigits(
        minDigits: Int,
        maxDigits: Int,
        tries: Int,
        timeout: Duration,
        terminators: String = "#",
        prompt: String,
        invalidPrompt: String = "silence_stream://250",
        variable: String = "switchboard_digits",
        regex: String = "\\d+",
        digitTimeout: Duration? = nil
    ) async throws -> String? {
        let application = "play_and_get_digits"
        var arguments: [(String, String)] = [
            ("minDigits", String(minDigits)), ("maxDigits", String(maxDigits)), ("tries", String(tries)),
            ("timeout", try Self.timer(timeout, in: .milliseconds, of: application, "timeout")),
            ("terminators", terminators),
            ("prompt", prompt), ("invalidPrompt", invalidPrompt), ("variable", variable), ("regex", regex),
        ]
        if let digitTimeout {
            arguments.append(
                ("digitTimeout", try Self.timer(digitTimeout, in: .milliseconds, of: application, "digitTimeout"))
            )
        }
        let argument = try Self.words(of: "play_and_get_digits", arguments)
        let result = try await execute("play_and_get_digits", argument)
        return Self.digits(result.variable(variable))
    }

    /// Plays a prompt and reads digits into a variable (`read`); returns the digits, or `nil` when none came.
    ///
    /// Its arguments are split at spaces: a prompt, variable or terminator that is empty or holds a space or a quote
    /// is refused with ``SwitchboardError/Code/invalidArgument``.
    /// - Parameter timeout: FreeSWITCH's timer: how long it waits for the digits after the prompt (milliseconds on
    ///   the wire, rounded up). The call itself waits for as long as FreeSWITCH runs the application.
    public func read(
        minDigits: Int,
        maxDigits: Int,
        prompt: String,
        variable: String = "switchboard_digits",
        timeout: Duration,
        terminators: String = "#"
    ) async throws -> String? {
        let argument = try Self.words(
            of: "read",
            [
                ("minDigits", String(minDigits)), ("maxDigits", String(maxDigits)), ("prompt", prompt),
                ("variable", variable), ("timeout", try Self.timer(timeout, in: .milliseconds, of: "read", "timeout")),
                ("terminators", terminators),
            ]
        )
        let result = try await execute("read", argument)
        return Self.digits(result.variable(variable))
    }

    /// Bridges the call to one or more endpoints (`bridge`). Endpoints in one group ring at once (`,`); groups are
    /// tried in turn on failure (`|`). Channel variables apply to every leg (`{k=v}`), escaped so that each value
    /// arrives unchanged (commas, spaces, quotes, `=`, backslashes, non-ASCII text); a value that cannot be sent (a
    /// control character, `${`, `:_:`, unpaired braces) throws ``SwitchboardError/Code/invalidArgument`` naming the
    /// variable.
    @discardableResult
    public func bridge(
        _ endpointGroups: [[String]],
        variables: [String: String] = [:]
    ) async throws -> ApplicationResult {
        let dialString = endpointGroups.map { $0.joined(separator: ",") }.joined(separator: "|")
        return try await execute("bridge", try ChannelVariables(variables).prefix(for: .application) + dialString)
    }

    /// Bridges the call to one endpoint.
    @discardableResult
    public func bridge(_ endpoint: String, variables: [String: String] = [:]) async throws -> ApplicationResult {
        try await bridge([[endpoint]], variables: variables)
    }

    /// Attended transfer (`att_xfer`) to an endpoint.
    public func attendedTransfer(_ endpoint: String) async throws { try await execute("att_xfer", endpoint) }

    /// Binds a key sequence during a call to an application (`bind_meta_app`), e.g. `2 a s transfer::1000`. The key
    /// and the legs are single words; the application (last) may hold spaces.
    public func bindMetaApp(key: String, listenOn: String, respondOn: String, application: String) async throws {
        let words = try Self.words(
            of: "bind_meta_app",
            [("key", key), ("listenOn", listenOn), ("respondOn", respondOn)]
        )
        try await execute("bind_meta_app", "\(words) \(application)")
    }

    /// Removes a meta-app binding (`unbind_meta_app`), or all when `key` is `nil`.
    public func unbindMetaApp(key: String? = nil) async throws { try await execute("unbind_meta_app", key) }

    /// Redirects a ringing call with a SIP 302 (`deflect`).
    public func deflect(_ target: String) async throws { try await execute("deflect", target) }

    /// Sends a SIP redirect (`redirect`).
    public func redirect(_ target: String) async throws { try await execute("redirect", target) }

    /// Sends a SIP response such as `486 Busy Here` (`respond`).
    public func respond(_ response: String) async throws { try await execute("respond", response) }

    /// Sets a channel variable (`set`). The name must be one word without `=`; the value may hold anything.
    public func set(_ name: String, _ value: String) async throws {
        try Self.checkVariableName(name, of: "set")
        try await execute("set", "\(name)=\(value)")
    }

    /// Sets several channel variables at once (`multiset`). FreeSWITCH splits its argument at spaces, so names and
    /// values must be single words (use ``set(_:_:)`` for a value with spaces).
    public func multiset(_ variables: [String: String]) async throws {
        var pairs: [(String, String)] = []
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) {
            try Self.checkVariableName(name, of: "multiset")
            pairs.append((name, "\(name)=\(value)"))
        }
        try await execute("multiset", try Self.words(of: "multiset", pairs))
    }

    /// Sets a variable on this channel and on the bridged leg (`export`).
    public func export(_ name: String, _ value: String) async throws {
        try Self.checkVariableName(name, of: "export")
        try await execute("export", "\(name)=\(value)")
    }

    /// Unsets a channel variable (`unset`).
    public func unset(_ name: String) async throws { try await execute("unset", name) }

    /// Transfers the call to an extension in a dialplan and context (`transfer`).
    public func transfer(_ extensionNumber: String, dialplan: String = "XML", context: String? = nil) async throws {
        let arguments =
            [("extension", extensionNumber), ("dialplan", dialplan)] + (context.map { [("context", $0)] } ?? [])
        try await execute("transfer", try Self.words(of: "transfer", arguments))
    }

    /// Generates TGML tones (`gentones`), e.g. `%(500,0,800)`.
    public func gentones(_ tones: String) async throws { try await execute("gentones", tones) }

    /// Records to a file until silence, a terminator or the time limit (`record`). The path must not hold spaces.
    /// - Parameter limit: FreeSWITCH's timer: the longest recording, in whole seconds on the wire (rounded up);
    ///   `nil` records until silence or a terminator.
    public func record(_ path: String, limit: Duration? = nil) async throws {
        var arguments = [("path", path)]
        if let limit { arguments.append(("limit", try Self.timer(limit, in: .seconds, of: "record", "limit"))) }
        try await execute("record", try Self.words(of: "record", arguments))
    }

    /// Starts recording the whole session in the background (`record_session`).
    public func recordSession(_ path: String) async throws { try await execute("record_session", path) }

    /// Stops a background session recording (`stop_record_session`).
    public func stopRecordSession(_ path: String) async throws { try await execute("stop_record_session", path) }

    /// Sends DTMF digits to the caller (`send_dtmf`).
    public func sendDTMF(_ digits: String) async throws { try await execute("send_dtmf", digits) }

    /// Waits, keeping media flowing (`sleep`): FreeSWITCH's timer, in milliseconds on the wire (rounded up).
    public func sleep(for duration: Duration) async throws {
        try await execute("sleep", try Self.timer(duration, in: .milliseconds, of: "sleep", "duration"))
    }

    /// Speaks with a say module (`say`), e.g. `say(language: "en", type: "number", method: "pronounced", "42")`.
    /// Its arguments are split at spaces: each must be one word.
    public func say(language: String = "en", type: String, method: String, _ text: String) async throws {
        let arguments = [("language", language), ("type", type), ("method", method), ("text", text)]
        try await execute("say", try Self.words(of: "say", arguments))
    }

    /// Speaks text with a TTS engine (`speak`), e.g. `speak(engine: "flite", voice: "kal", "Hello")`.
    /// The engine and voice must not hold `|`, the separator; the text may hold anything.
    public func speak(engine: String, voice: String, _ text: String) async throws {
        for (name, value) in [("engine", engine), ("voice", voice)] where value.isEmpty || value.contains("|") {
            throw SwitchboardError(
                .invalidArgument,
                "speak: argument '\(name)' ('\(value)') is empty or holds '|', which separates speak's arguments"
            )
        }
        try await execute("speak", "\(engine)|\(voice)|\(text)")
    }

    /// Echoes the caller's media back (`echo`), until hangup.
    public func echo() async throws { try await execute("echo") }

    /// Joins a conference (`conference`), e.g. `room@default`.
    public func conference(_ name: String) async throws { try await execute("conference", name) }

    /// Mixes a file into the call in the background (`displace_session`). The path and flags must not hold spaces.
    public func displaceSession(_ path: String, flags: String? = nil) async throws {
        let arguments = [("path", path)] + (flags.map { [("flags", $0)] } ?? [])
        try await execute("displace_session", try Self.words(of: "displace_session", arguments))
    }

    /// Stops the application running on the channel now (`break`).
    public func breakApplication() async throws { try await execute("break") }

    static func digits(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value != "_none_" else { return nil }
        return value
    }

    /// The argument of an application that FreeSWITCH splits at spaces (`switch_separate_string`): the values joined
    /// with single spaces. A value that is empty or holds whitespace or a `'` (which FreeSWITCH reads as a quote
    /// spanning spaces) would not stay one argument and shift every later one: it is refused, naming the application
    /// and the argument.
    static func words(
        of application: String,
        _ arguments: [(name: String, value: String)]
    ) throws(SwitchboardError)
        -> String
    {
        for (name, value) in arguments {
            let problem: String? =
                if value.isEmpty {
                    "is empty"
                } else if value.unicodeScalars.contains(where: { $0 == " " || $0 == "\t" }) {
                    "holds a space"
                } else if value.contains("'") {
                    "holds a quote (')"
                } else {
                    nil
                }
            if let problem {
                throw SwitchboardError(
                    .invalidArgument,
                    "\(application): argument '\(name)' ('\(value)') \(problem); FreeSWITCH splits \(application)'s "
                        + "arguments at spaces, so it would shift every later argument"
                )
            }
        }
        return arguments.map(\.value).joined(separator: " ")
    }

    /// The units of FreeSWITCH's integer timers.
    enum TimerUnit: Int64 {
        case seconds = 1
        case milliseconds = 1000
    }

    /// `duration` as the whole `unit`s FreeSWITCH's timer takes, rounded up (at most `Int32.max`); a negative or too
    /// long one is refused, naming the application and the argument.
    static func timer(
        _ duration: Duration,
        in unit: TimerUnit,
        of application: String,
        _ argument: String
    ) throws(SwitchboardError) -> String {
        let unitsPerSecond = unit.rawValue
        guard duration >= .zero else {
            throw SwitchboardError(
                .invalidArgument,
                "\(application): '\(argument)' must not be negative, found \(duration)"
            )
        }
        let (seconds, attoseconds) = duration.components
        let attosecondsPerUnit = 1_000_000_000_000_000_000 / unitsPerSecond
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: unitsPerSecond)
        let units = whole + (attoseconds + attosecondsPerUnit - 1) / attosecondsPerUnit
        guard !overflow, units <= Int64(Int32.max) else {
            throw SwitchboardError(
                .invalidArgument,
                "\(application): '\(argument)' is too long for FreeSWITCH, found \(duration)"
            )
        }
        return String(units)
    }

    /// A variable name for `set`, `export` or `multiset`: one word without `=`.
    static func checkVariableName(_ name: String, of application: String) throws(SwitchboardError) {
        if name.isEmpty || name.contains("=") || name.unicodeScalars.contains(where: { $0 == " " || $0 == "\t" }) {
            throw SwitchboardError(
                .invalidArgument,
                "\(application): variable name '\(name)' must be one word without '='"
            )
        }
    }
}
