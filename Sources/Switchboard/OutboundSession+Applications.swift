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
    /// - Parameters:
    ///   - variable: The channel variable FreeSWITCH stores the digits in; read back from the completion event.
    ///   - timeout: Milliseconds to wait for each try.
    public func playAndGetDigits(
        minDigits: Int,
        maxDigits: Int,
        tries: Int,
        timeout: Int,
        terminators: String = "#",
        prompt: String,
        invalidPrompt: String = "silence_stream://250",
        variable: String = "switchboard_digits",
        regex: String = "\\d+",
        digitTimeout: Int? = nil
    ) async throws -> String? {
        var argument =
            "\(minDigits) \(maxDigits) \(tries) \(timeout) \(terminators) \(prompt) \(invalidPrompt) \(variable) \(regex)"
        if let digitTimeout { argument += " \(digitTimeout)" }
        let result = try await execute("play_and_get_digits", argument)
        return Self.digits(result.variable(variable))
    }

    /// Plays a prompt and reads digits into a variable (`read`); returns the digits, or `nil` when none came.
    public func read(
        minDigits: Int,
        maxDigits: Int,
        prompt: String,
        variable: String = "switchboard_digits",
        timeout: Int,
        terminators: String = "#"
    ) async throws -> String? {
        let result = try await execute(
            "read",
            "\(minDigits) \(maxDigits) \(prompt) \(variable) \(timeout) \(terminators)"
        )
        return Self.digits(result.variable(variable))
    }

    /// Bridges the call to one or more endpoints (`bridge`). Endpoints in one group ring at once (`,`); groups are
    /// tried in turn on failure (`|`). Channel variables apply to every leg (`{k=v}`).
    @discardableResult
    public func bridge(
        _ endpointGroups: [[String]],
        variables: [String: String] = [:]
    ) async throws -> ApplicationResult {
        let dialString = endpointGroups.map { $0.joined(separator: ",") }.joined(separator: "|")
        return try await execute("bridge", ChannelVariables(variables).prefix + dialString)
    }

    /// Bridges the call to one endpoint.
    @discardableResult
    public func bridge(_ endpoint: String, variables: [String: String] = [:]) async throws -> ApplicationResult {
        try await bridge([[endpoint]], variables: variables)
    }

    /// Attended transfer (`att_xfer`) to an endpoint.
    public func attendedTransfer(_ endpoint: String) async throws { try await execute("att_xfer", endpoint) }

    /// Binds a key sequence during a call to an application (`bind_meta_app`), e.g. `2 a s transfer::1000`.
    public func bindMetaApp(key: String, listenOn: String, respondOn: String, application: String) async throws {
        try await execute("bind_meta_app", "\(key) \(listenOn) \(respondOn) \(application)")
    }

    /// Removes a meta-app binding (`unbind_meta_app`), or all when `key` is `nil`.
    public func unbindMetaApp(key: String? = nil) async throws { try await execute("unbind_meta_app", key) }

    /// Redirects a ringing call with a SIP 302 (`deflect`).
    public func deflect(_ target: String) async throws { try await execute("deflect", target) }

    /// Sends a SIP redirect (`redirect`).
    public func redirect(_ target: String) async throws { try await execute("redirect", target) }

    /// Sends a SIP response such as `486 Busy Here` (`respond`).
    public func respond(_ response: String) async throws { try await execute("respond", response) }

    /// Sets a channel variable (`set`).
    public func set(_ name: String, _ value: String) async throws { try await execute("set", "\(name)=\(value)") }

    /// Sets several channel variables at once (`multiset`).
    public func multiset(_ variables: [String: String]) async throws {
        let pairs = variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        try await execute("multiset", pairs.joined(separator: " "))
    }

    /// Sets a variable on this channel and on the bridged leg (`export`).
    public func export(_ name: String, _ value: String) async throws {
        try await execute("export", "\(name)=\(value)")
    }

    /// Unsets a channel variable (`unset`).
    public func unset(_ name: String) async throws { try await execute("unset", name) }

    /// Transfers the call to an extension in a dialplan and context (`transfer`).
    public func transfer(_ extensionNumber: String, dialplan: String = "XML", context: String? = nil) async throws {
        try await execute("transfer", [extensionNumber, dialplan, context].compactMap { $0 }.joined(separator: " "))
    }

    /// Generates TGML tones (`gentones`), e.g. `%(500,0,800)`.
    public func gentones(_ tones: String) async throws { try await execute("gentones", tones) }

    /// Records to a file until silence, a terminator or the time limit (`record`).
    public func record(_ path: String, limitSeconds: Int? = nil) async throws {
        try await execute("record", [path, limitSeconds.map(String.init)].compactMap { $0 }.joined(separator: " "))
    }

    /// Starts recording the whole session in the background (`record_session`).
    public func recordSession(_ path: String) async throws { try await execute("record_session", path) }

    /// Stops a background session recording (`stop_record_session`).
    public func stopRecordSession(_ path: String) async throws { try await execute("stop_record_session", path) }

    /// Sends DTMF digits to the caller (`send_dtmf`).
    public func sendDTMF(_ digits: String) async throws { try await execute("send_dtmf", digits) }

    /// Waits, keeping media flowing (`sleep`), in milliseconds.
    public func sleep(milliseconds: Int) async throws { try await execute("sleep", String(milliseconds)) }

    /// Speaks with a say module (`say`), e.g. `say(language: "en", type: "number", method: "pronounced", "42")`.
    public func say(language: String = "en", type: String, method: String, _ text: String) async throws {
        try await execute("say", "\(language) \(type) \(method) \(text)")
    }

    /// Speaks text with a TTS engine (`speak`), e.g. `speak(engine: "flite", voice: "kal", "Hello")`.
    public func speak(engine: String, voice: String, _ text: String) async throws {
        try await execute("speak", "\(engine)|\(voice)|\(text)")
    }

    /// Echoes the caller's media back (`echo`), until hangup.
    public func echo() async throws { try await execute("echo") }

    /// Joins a conference (`conference`), e.g. `room@default`.
    public func conference(_ name: String) async throws { try await execute("conference", name) }

    /// Mixes a file into the call in the background (`displace_session`).
    public func displaceSession(_ path: String, flags: String? = nil) async throws {
        try await execute("displace_session", [path, flags].compactMap { $0 }.joined(separator: " "))
    }

    /// Stops the application running on the channel now (`break`).
    public func breakApplication() async throws { try await execute("break") }

    static func digits(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value != "_none_" else { return nil }
        return value
    }
}

/// Channel variables in FreeSWITCH's `{name=value,…}` dial string prefix. Values with commas are quoted with `^^:`.
struct ChannelVariables {
    var variables: [String: String]

    init(_ variables: [String: String]) { self.variables = variables }

    /// `{a=1,b=2}`, or `""` when there are none.
    var prefix: String {
        guard !variables.isEmpty else { return "" }
        let pairs = variables.sorted { $0.key < $1.key }.map { key, value in
            value.contains(",") ? "\(key)=^^:\(value.replacingOccurrences(",", with: ":"))" : "\(key)=\(value)"
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }
}

extension String {
    func replacingOccurrences(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { result += character == target ? replacement : String(character) }
        return result
    }
}
