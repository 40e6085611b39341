import EventSocket

/// An event the simulated switch sends: decoded header values in order, and an optional body.
public struct FakeEvent: Sendable {
    /// Headers with decoded values; the switch encodes them for the subscriber's format.
    public var headers: [(name: String, value: String)]
    /// The body, sent after an inner `Content-Length`.
    public var body: String?

    /// Creates an event from headers (include `Event-Name`).
    public init(headers: [(name: String, value: String)], body: String? = nil) {
        self.headers = headers
        self.body = body
    }

    /// The value of a header.
    public subscript(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Sets (replaces or appends) a header.
    public mutating func set(_ name: String, _ value: String) {
        if let index = headers.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
            headers[index].value = value
        } else {
            headers.append((name, value))
        }
    }

    /// A CHANNEL_* event for a channel, with the ~100 headers of a real FreeSWITCH 1.10 channel and the given
    /// channel variables (`variable_<name>`).
    public static func channel(
        _ name: String,
        uuid: String,
        variables: [String: String] = [:],
        extra: [(name: String, value: String)] = []
    ) -> FakeEvent {
        channel(name, headers: ChannelTemplate.headers(uuid: uuid), variables: variables, extra: extra)
    }

    /// A CHANNEL_* event from a channel's headers (a template already filled in), its variables and more headers.
    static func channel(
        _ name: String,
        headers: [(name: String, value: String)],
        variables: [String: String],
        extra: [(name: String, value: String)] = []
    ) -> FakeEvent {
        var event = FakeEvent(headers: headers)
        event.set("Event-Name", name)
        for (key, value) in variables.sorted(by: { $0.key < $1.key }) { event.set("variable_\(key)", value) }
        for (key, value) in extra { event.set(key, value) }
        return event
    }

    /// A CUSTOM event of a subclass, e.g. `sofia::register`.
    public static func custom(
        subclass: String,
        headers: [(name: String, value: String)] = [],
        body: String? = nil
    )
        -> FakeEvent
    {
        FakeEvent(
            headers: [("Event-Name", "CUSTOM"), ("Event-Subclass", subclass), ("Core-UUID", "fake-core")] + headers,
            body: body
        )
    }

    /// A HEARTBEAT like the one FreeSWITCH sends every 20 seconds.
    public static func heartbeat() -> FakeEvent {
        FakeEvent(headers: [
            ("Event-Name", "HEARTBEAT"), ("Core-UUID", "fake-core"), ("FreeSWITCH-Hostname", "fake"),
            ("Up-Time", "0 years, 0 days, 0 hours, 1 minute, 0 seconds"), ("Event-Info", "System Ready"),
        ])
    }
}

extension ChannelTemplate {
    /// The template's lines split and decoded once (`{{UUID}}` still in place): building an event then costs a copy
    /// and a few replacements, not a parse of ~100 lines.
    private static let decodedLines: [(name: String, value: String, hasUUID: Bool)] =
        headerLines.split(separator: "\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = PercentDecoding.decode(String(line[line.index(after: colon)...].drop { $0 == " " }))
            return (String(line[..<colon]), value, value.contains("{{UUID}}"))
        }

    /// The template's headers for a channel, values decoded.
    static func headers(uuid: String) -> [(name: String, value: String)] {
        decodedLines.map { line in (line.name, line.hasUUID ? line.value.replacingUUID(with: uuid) : line.value) }
    }

    /// The template's headers for a channel with the script's caller, destination and headers, placed where
    /// FreeSWITCH puts them (a caller's name just before the matching number).
    static func headers(uuid: String, script: CallScript) -> [(name: String, value: String)] {
        var headers = headers(uuid: uuid)
        func set(_ name: String, _ value: String, before next: String? = nil) {
            if let index = headers.firstIndex(where: { $0.name == name }) {
                headers[index].value = value
            } else if let next, let index = headers.firstIndex(where: { $0.name == next }) {
                headers.insert((name, value), at: index)
            } else {
                headers.append((name, value))
            }
        }
        for prefix in ["Channel-", "Caller-"] {
            if let number = script.callerIDNumber {
                for field in ["Caller-ID-Number", "Orig-Caller-ID-Number", "ANI"] { set(prefix + field, number) }
            }
            if let name = script.callerIDName {
                for field in ["Caller-ID", "Orig-Caller-ID"] {
                    set(prefix + field + "-Name", name, before: prefix + field + "-Number")
                }
            }
            if let destination = script.destination { set(prefix + "Destination-Number", destination) }
        }
        for (name, value) in script.headers.sorted(by: { $0.key < $1.key }) { set(name, value) }
        return headers
    }
}

extension String {
    func replacingUUID(with uuid: String) -> String {
        guard contains("{{UUID}}") else { return self }
        return split(separator: "{{UUID}}", omittingEmptySubsequences: false).joined(separator: uuid)
    }
}
