import EventSocket

/// Typed helpers for the API commands call-control code uses most. Slow commands (`originate`) run as `bgapi`, so
/// they never stall events on this connection.
extension EventSocketConnection {
    /// `status`: FreeSWITCH's uptime and session counts.
    public func status() async throws -> String { try await api("status") }

    /// Places a call (`bgapi originate`) and returns the new channel's UUID once it was answered.
    ///
    /// The UUID is chosen here (`origination_uuid`) unless the caller set one, so it is known even on failure: a call
    /// that FreeSWITCH could not place or that was not answered throws ``OriginateError`` with that UUID and the
    /// hangup cause.
    ///
    /// The wait for the result is bounded by the call's own ``Originate/timeout`` (FreeSWITCH's ringing timer) plus
    /// ``Originate/resultGracePeriod``; without one, it lasts as long as the connection.
    /// - Throws: ``OriginateError`` when FreeSWITCH answered `-ERR`/`-USAGE`; ``SwitchboardError/Code/invalidArgument``
    ///   for a channel variable that cannot be sent; ``SwitchboardError`` when the connection failed or timed out.
    @discardableResult
    public func originate(_ originate: Originate) async throws -> String {
        var call = originate
        let uuid = call.variables["origination_uuid"] ?? UUIDString.random()
        call.variables["origination_uuid"] = uuid
        let wait = call.timeout.map { $0 + Originate.resultGracePeriod }
        let output = try await backgroundJobOutput("originate", try call.arguments, timeout: wait)
        if output.hasPrefix("+OK") {
            let answered = String(output.dropFirst(3)).trimmingCharacters(in: " ").trimmingCharacters(in: "\n")
            return answered.isEmpty ? uuid : answered
        }
        throw OriginateError(uuid: uuid, output: output)
    }

    /// Hangs up a channel (`uuid_kill`) with a cause.
    public func kill(_ uuid: String, cause: String = "NORMAL_CLEARING") async throws {
        _ = try await api("uuid_kill", "\(uuid) \(cause)")
    }

    /// Bridges two existing channels (`uuid_bridge`).
    public func bridge(_ uuid: String, to other: String) async throws {
        _ = try await api("uuid_bridge", "\(uuid) \(other)")
    }

    /// Parks a channel (`uuid_park`).
    public func park(_ uuid: String) async throws { _ = try await api("uuid_park", uuid) }

    /// Transfers a channel to an extension (`uuid_transfer`); `bothLegs` moves the bridged leg too.
    public func transfer(
        _ uuid: String,
        to extensionNumber: String,
        dialplan: String = "XML",
        context: String? = nil,
        bothLegs: Bool = false
    ) async throws {
        var words = [uuid]
        if bothLegs { words.append("-both") }
        words += [extensionNumber, dialplan]
        if let context { words.append(context) }
        _ = try await api("uuid_transfer", words.joined(separator: " "))
    }

    /// Answers a channel (`uuid_answer`).
    public func answer(_ uuid: String) async throws { _ = try await api("uuid_answer", uuid) }

    /// Stops what a channel is playing (`uuid_break`); `all` also clears its queue.
    public func breakPlayback(_ uuid: String, all: Bool = false) async throws {
        _ = try await api("uuid_break", all ? "\(uuid) all" : uuid)
    }

    /// Sets a channel variable (`uuid_setvar`).
    public func setVariable(_ name: String, _ value: String, on uuid: String) async throws {
        _ = try await api("uuid_setvar", "\(uuid) \(name) \(value)")
    }

    /// Reads a channel variable (`uuid_getvar`); `nil` when unset (FreeSWITCH answers `_undef_`).
    public func variable(_ name: String, on uuid: String) async throws -> String? {
        let value = try await api("uuid_getvar", "\(uuid) \(name)").trimmingCharacters(in: "\n")
        return value == "_undef_" ? nil : value
    }

    /// Dumps a channel's headers and variables (`uuid_dump`), decoded.
    public func dump(_ uuid: String) async throws -> EventSocketEvent {
        let text = try await api("uuid_dump", uuid)
        var headers = EventSocketHeaders()
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " })
            headers.append(name: String(line[..<colon]), value: PercentDecoding.decode(String(value)))
        }
        return EventSocketEvent(headers: headers)
    }

    /// Sends DTMF to a channel (`uuid_send_dtmf`).
    public func sendDTMF(_ digits: String, to uuid: String) async throws {
        _ = try await api("uuid_send_dtmf", "\(uuid) \(digits)")
    }

    /// Starts or stops recording a channel (`uuid_record <uuid> start|stop <path> [limit]`).
    /// - Parameter limit: FreeSWITCH's timer: the longest recording, in whole seconds on the wire (rounded up).
    public func record(_ uuid: String, start: Bool, path: String, limit: Duration? = nil) async throws {
        var words = [uuid, start ? "start" : "stop", path]
        if let limit { words.append(try OutboundSession.timer(limit, in: .seconds, of: "uuid_record", "limit")) }
        _ = try await api("uuid_record", words.joined(separator: " "))
    }

    /// Hangs up every channel (`hupall`), or those whose variable matches. Affects other users of the switch.
    public func hangupAll(cause: String = "NORMAL_CLEARING", variable: String? = nil, value: String? = nil) async throws
    {
        _ = try await api("hupall", [cause, variable, value].compactMap { $0 }.joined(separator: " "))
    }

    /// Runs `fsctl` (e.g. `pause`, `resume`, `shutdown elegant`, `loglevel debug`).
    public func fsctl(_ arguments: String) async throws -> String { try await api("fsctl", arguments) }

    /// Reloads the XML configuration (`reloadxml`).
    public func reloadXML() async throws { _ = try await api("reloadxml") }
}
