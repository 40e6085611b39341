/// What the Rayo layer needs to know about the deployment: the domain, how offers are made, where dials go.
///
/// Every setting has the default mod_rayo users knew; the daemon fills it from the `rayo` object of its JSON.
public struct RayoSettings: Sendable {
    /// The XMPP domain: the server JID, and the domain of call (`<uuid>@domain`) and mixer (`<name>@domain`) JIDs.
    public var domain: String
    /// Whether the offer's `from` and `to` are the SIP URIs of the call (mod_rayo `offer-uri`) rather than the
    /// caller id number and the destination number.
    public var offerURI: Bool
    /// Whether every channel variable is added to the offer as a `<header name='variable-<name>'>`.
    public var addVariablesToOffer: Bool
    /// Whether the channel variables of an event are added to the call events sent to clients.
    public var addVariablesToEvents: Bool
    /// Which available clients receive an offer.
    public var offerAlgorithm: OfferAlgorithm
    /// How long an offer waits for a client to take the call before it is offered to the clients not tried yet.
    public var offerTimeout: Duration
    /// The conference profile of mixers: `conference <name>@<profile>`.
    public var mixerConferenceProfile: String
    /// Where `<dial to>` goes: the gateway with the longest matching `uriPrefix`, else the `default` one.
    public var dialGateways: [DialGateway]
    /// A call with no command, join or live component for this long is hung up; `nil` never.
    public var maxIdle: Duration?
    /// What happens to the calls a client controls when it goes offline.
    public var whenClientLeaves: ClientLeavePolicy

    /// Creates settings with mod_rayo's defaults.
    public init(
        domain: String,
        offerURI: Bool = true,
        addVariablesToOffer: Bool = false,
        addVariablesToEvents: Bool = false,
        offerAlgorithm: OfferAlgorithm = .all,
        offerTimeout: Duration = .seconds(5),
        mixerConferenceProfile: String = "default",
        dialGateways: [DialGateway] = [],
        maxIdle: Duration? = .seconds(300),
        whenClientLeaves: ClientLeavePolicy = .hangup
    ) {
        self.domain = domain
        self.offerURI = offerURI
        self.addVariablesToOffer = addVariablesToOffer
        self.addVariablesToEvents = addVariablesToEvents
        self.offerAlgorithm = offerAlgorithm
        self.offerTimeout = offerTimeout
        self.mixerConferenceProfile = mixerConferenceProfile
        self.dialGateways = dialGateways
        self.maxIdle = maxIdle
        self.whenClientLeaves = whenClientLeaves
    }
}

/// Which available clients an inbound call is offered to.
public enum OfferAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// Every available client at once (mod_rayo's default); the first to command the call controls it.
    case all
    /// The longest-online available client; after the offer timeout, the next one.
    case first
    /// One available client chosen at random; after the offer timeout, another one.
    case random
    /// One client per call, rotating over the available clients in the order they came online.
    case roundRobin = "round-robin"
}

/// A route for `<dial to>`: a `to` starting with ``uriPrefix`` is dialed as ``dialPrefix`` followed by `to` without
/// its first ``strip`` characters.
public struct DialGateway: Sendable, Hashable {
    /// The prefix of `to` this gateway serves (`sip:`, `tel:`); ``defaultPrefix`` for the fallback.
    public var uriPrefix: String
    /// What the dial string starts with (`sofia/gateway/outbound/`).
    public var dialPrefix: String
    /// How many characters of `to` are dropped before `dialPrefix` is prepended (4 drops `tel:`).
    public var strip: Int

    /// The `uriPrefix` of the gateway used when no other prefix matches.
    public static let defaultPrefix = "default"

    /// Creates a gateway.
    public init(uriPrefix: String, dialPrefix: String, strip: Int = 0) {
        self.uriPrefix = uriPrefix
        self.dialPrefix = dialPrefix
        self.strip = strip
    }
}

/// What happens to the calls a client controls (or dialed) when its session ends.
public enum ClientLeavePolicy: String, Sendable, Hashable, CaseIterable {
    /// Hang them up (NORMAL_CLEARING).
    case hangup
    /// Offer inbound calls again to the other available clients (hang up when nobody can take them); dialed calls
    /// are hung up, since only their dialer knows what they are for.
    case reoffer
}
