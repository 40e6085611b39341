/// Which way a call goes, seen from FreeSWITCH (`Call-Direction`).
public enum CallDirection: String, Sendable, Hashable, CaseIterable {
    /// The call came in to FreeSWITCH: a phone or a trunk dialled it.
    case inbound
    /// FreeSWITCH placed the call: `originate`, or the other leg of a `bridge`.
    case outbound
}

/// How far a channel has got towards being answered (`Answer-State`).
public enum AnswerState: String, Sendable, Hashable, CaseIterable {
    /// Not answered, no early media.
    case ringing
    /// Early media (183 Session Progress), not answered.
    case early
    /// Answered.
    case answered
    /// Hung up.
    case hangup
}

/// Something that carries a channel's headers: a channel event (``EventSocketEvent``), or the channel data of an
/// outbound call. It gets typed properties for the fields handlers read most, beside the raw headers; each is `nil`
/// when the header is absent (an event about no channel, such as HEARTBEAT) or holds a value FreeSWITCH does not
/// document.
public protocol ChannelFields {
    /// A header's value, decoded (`Caller-Caller-ID-Number`).
    subscript(_ header: String) -> String? { get }
}

extension ChannelFields {
    /// The caller ID name (`Caller-Caller-ID-Name`).
    public var callerIDName: String? { self["Caller-Caller-ID-Name"] }

    /// The caller ID number (`Caller-Caller-ID-Number`).
    public var callerIDNumber: String? { self["Caller-Caller-ID-Number"] }

    /// The number the caller dialled (`Caller-Destination-Number`).
    public var destinationNumber: String? { self["Caller-Destination-Number"] }

    /// The dialplan context the call is in (`Caller-Context`).
    public var context: String? { self["Caller-Context"] }

    /// The channel's name, e.g. `sofia/internal/1000@example.com` (`Channel-Name`).
    public var channelName: String? { self["Channel-Name"] }

    /// Whether FreeSWITCH received or placed the call (`Call-Direction`).
    public var direction: CallDirection? { self["Call-Direction"].flatMap(CallDirection.init(rawValue:)) }

    /// Ringing, early media, answered or hung up (`Answer-State`).
    public var answerState: AnswerState? { self["Answer-State"].flatMap(AnswerState.init(rawValue:)) }

    /// Why the channel hung up, e.g. `NORMAL_CLEARING`, `USER_BUSY` (`Hangup-Cause`); `nil` while it is up.
    public var hangupCause: String? { self["Hangup-Cause"] }
}

extension EventSocketEvent: ChannelFields {}
