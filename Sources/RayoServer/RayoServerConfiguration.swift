/// Everything a Rayo server needs, as plain values: the XMPP side (domain, listeners, TLS, users, limits), the event
/// socket it controls FreeSWITCH over, the call-control settings, the admin console and the drain time.
///
/// The daemon fills it from the `rayo` object of its JSON configuration (validated there, key by key); tests build one
/// directly. ``RayoServer`` turns it into an XMPP server, a ``RayoService`` and a console.
public struct RayoServerConfiguration: Sendable, Hashable {
    /// One c2s listener (`listen[]`).
    public struct Listener: Sendable, Hashable {
        /// `bind`: the address to listen on. Default `127.0.0.1`.
        public var bind: String
        /// `port`: the port; 0 picks a free one. Default 5222.
        public var port: Int
        /// `acl`: CIDR blocks (`127.0.0.0/8`, `::1/128`) allowed to connect; empty allows every address.
        public var allow: [String]

        /// Creates a listener.
        public init(bind: String = "127.0.0.1", port: Int = 5222, allow: [String] = []) {
            self.bind = bind
            self.port = port
            self.allow = allow
        }
    }

    /// The certificate and key for STARTTLS (`tls`); when set, STARTTLS is required before SASL.
    public struct TLSFiles: Sendable, Hashable {
        /// `certificate`: a PEM file with the certificate chain, leaf first.
        public var certificate: String
        /// `privateKey`: a PEM file with the private key.
        public var privateKey: String

        /// Creates TLS file paths.
        public init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    /// One account that may log in (`users[]`).
    public struct User: Sendable, Hashable {
        /// `name`: the user name (the local part of the client's JID).
        public var name: String
        /// `password`: the clear password, when given that way; allows PLAIN and both SCRAM mechanisms.
        public var password: String?
        /// `passwordHash`: SCRAM stored keys in the text form `switchboard rayo hash-password` prints (one per hash
        /// function); allows the SCRAM mechanisms whose hash is listed, never PLAIN.
        public var passwordHashes: [String]

        /// Creates a user with a clear password or stored keys (exactly one of the two).
        public init(name: String, password: String? = nil, passwordHashes: [String] = []) {
            self.name = name
            self.password = password
            self.passwordHashes = passwordHashes
        }
    }

    /// FreeSWITCH's event socket (`eventSocket`).
    public struct EventSocketEndpoint: Sendable, Hashable {
        /// `host`. Default `127.0.0.1`.
        public var host: String
        /// `port`. Default 8021.
        public var port: Int
        /// `password`. Default `ClueCon`.
        public var password: String

        /// Creates an endpoint; the defaults match a stock FreeSWITCH on the same host.
        public init(host: String = "127.0.0.1", port: Int = 8021, password: String = "ClueCon") {
            self.host = host
            self.port = port
            self.password = password
        }
    }

    /// How offered calls are spread over available clients (`offerAlgorithm`).
    public enum OfferAlgorithmName: String, Sendable, Hashable, CaseIterable {
        /// Every available client at once (the default, as mod_rayo).
        case all
        /// One client at a time, always starting with the first available.
        case first
        /// One client at a time, chosen at random.
        case random
        /// One client at a time, the next one after the previous offer's.
        case roundRobin = "round-robin"
    }

    /// What happens to a call whose controlling client disconnects (`whenClientLeaves`).
    public enum ClientLeavePolicyName: String, Sendable, Hashable, CaseIterable {
        /// Hang the call up (the default).
        case hangup
        /// Offer it again to the clients still available.
        case reoffer
    }

    /// One `dialGateways[]` entry: a `<dial to>` URI starting with `uriPrefix` is dialled as `dialPrefix` plus the
    /// URI without its first `strip` characters. The longest matching prefix wins; `default` matches anything else.
    public struct DialGatewayRule: Sendable, Hashable {
        /// `uriPrefix`, e.g. `sip:`, `tel:` or `default`.
        public var uriPrefix: String
        /// `dialPrefix`, e.g. `sofia/gateway/outbound/`.
        public var dialPrefix: String
        /// `strip`: characters removed from the start of the URI. Default 0.
        public var strip: Int

        /// Creates a rule.
        public init(uriPrefix: String, dialPrefix: String, strip: Int = 0) {
            self.uriPrefix = uriPrefix
            self.dialPrefix = dialPrefix
            self.strip = strip
        }
    }

    /// What kind of entity an alias's command is sent to (`aliases[].target`).
    public enum AliasTarget: String, Sendable, Hashable, CaseIterable {
        /// A call: `<uuid>@domain` (a bare uuid is completed with the domain).
        case call
        /// A mixer: `<name>@domain`.
        case mixer
        /// A component: `<call-or-mixer>@domain/<component-id>`.
        case component
        /// The server itself: the domain.
        case server
    }

    /// A console shortcut (`aliases[]`): `switchboard rayo <name> <jid>` sends `xml` as an IQ set to the JID.
    public struct Alias: Sendable, Hashable {
        /// `name`: the console word.
        public var name: String
        /// `target`: the kind of JID the command is for.
        public var target: AliasTarget
        /// `xml`: the command element, e.g. `<answer xmlns="urn:xmpp:rayo:1"/>`.
        public var xml: String

        /// Creates an alias.
        public init(name: String, target: AliasTarget, xml: String) {
            self.name = name
            self.target = target
            self.xml = xml
        }
    }

    /// The admin console's Unix domain socket (`control`).
    public struct ControlSocket: Sendable, Hashable {
        /// `socket`: its path.
        public var path: String
        /// `mode`: its permission bits. Default `0o600` (owner only); `0o660` lets the daemon's group in.
        public var mode: UInt32

        /// Creates a control socket setting.
        public init(path: String, mode: UInt32 = 0o600) {
            self.path = path
            self.mode = mode
        }
    }

    /// XMPP limits (`limits`); every one has a default.
    public struct Limits: Sendable, Hashable {
        /// `maxStanzaBytes`: the largest stanza a client may send. Default 262,144.
        public var maxStanzaBytes: Int
        /// `maxDepth`: the deepest element nesting. Default 64.
        public var maxDepth: Int
        /// `maxAttributes`: attributes per element. Default 64.
        public var maxAttributes: Int
        /// `maxClients`: connections at once over all listeners. Default 1,000.
        public var maxClients: Int
        /// `failedLoginsPerMinute`: failed SASL attempts per client address and minute before it is refused. Default 10.
        public var failedLoginsPerMinute: Int

        /// Creates limits; the defaults suit a Rayo server with a few application clients.
        public init(
            maxStanzaBytes: Int = 262_144,
            maxDepth: Int = 64,
            maxAttributes: Int = 64,
            maxClients: Int = 1_000,
            failedLoginsPerMinute: Int = 10
        ) {
            self.maxStanzaBytes = maxStanzaBytes
            self.maxDepth = maxDepth
            self.maxAttributes = maxAttributes
            self.maxClients = maxClients
            self.failedLoginsPerMinute = failedLoginsPerMinute
        }
    }

    /// XMPP and event socket timeouts (`timeouts`); every one has a default.
    public struct Timeouts: Sendable, Hashable {
        /// `handshakeSeconds`: from TCP accept to a bound resource. Default 30 s.
        public var handshake: Duration
        /// `pingIntervalSeconds`: a client silent this long is pinged (XEP-0199). Default 60 s.
        public var pingInterval: Duration
        /// `pingTimeoutSeconds`: how long the ping's answer may take before the client is dropped. Default 30 s.
        public var pingTimeout: Duration
        /// `eventSocketCommandSeconds`: how long FreeSWITCH may take to answer one command (`api`, `sendmsg`) or a
        /// `bgapi` job. Default 30 s.
        public var eventSocketCommand: Duration

        /// Creates timeouts.
        public init(
            handshake: Duration = .seconds(30),
            pingInterval: Duration = .seconds(60),
            pingTimeout: Duration = .seconds(30),
            eventSocketCommand: Duration = .seconds(30)
        ) {
            self.handshake = handshake
            self.pingInterval = pingInterval
            self.pingTimeout = pingTimeout
            self.eventSocketCommand = eventSocketCommand
        }
    }

    /// `domain`: the XMPP domain; calls are `<uuid>@domain`.
    public var domain: String
    /// `listen[]`. Default one listener on 127.0.0.1:5222.
    public var listeners: [Listener]
    /// `tls`. Default none: passwords travel in clear (a warning is logged at start).
    public var tls: TLSFiles?
    /// `users[]`.
    public var users: [User]
    /// `eventSocket`.
    public var eventSocket: EventSocketEndpoint
    /// `maxIdleSeconds`: hang up a call without command, join or component for this long; `nil` (0 in the file)
    /// never does. Default 300 s.
    public var maxIdle: Duration?
    /// `offerURI`: put the caller's SIP URIs in `<offer to from>`. Default true.
    public var offerURI: Bool
    /// `addVariablesToOffer`: add the channel variables to offers as headers. Default false.
    public var addVariablesToOffer: Bool
    /// `addVariablesToEvents`: add the channel variables to call events. Default false.
    public var addVariablesToEvents: Bool
    /// `offerAlgorithm`. Default ``OfferAlgorithmName/all``.
    public var offerAlgorithm: OfferAlgorithmName
    /// `offerTimeoutMs`: how long an offer waits for a command before the next client is tried. Default 5 s.
    public var offerTimeout: Duration
    /// `mixerConferenceProfile`: the conference profile of mixers. Default `default`.
    public var mixerConferenceProfile: String
    /// `dialGateways[]`. Default none: `<dial to>` is used as the dial string.
    public var dialGateways: [DialGatewayRule]
    /// `aliases[]`. Default none.
    public var aliases: [Alias]
    /// `whenClientLeaves`. Default ``ClientLeavePolicyName/hangup``.
    public var whenClientLeaves: ClientLeavePolicyName
    /// `control`. Default none: no admin console.
    public var control: ControlSocket?
    /// `drainSeconds`: on SIGTERM, how long controlled calls may go on. Default 30 s.
    public var drainTime: Duration
    /// `limits`.
    public var limits: Limits
    /// `timeouts`.
    public var timeouts: Timeouts

    /// Creates a configuration; only the domain and the users have no default.
    public init(
        domain: String,
        listeners: [Listener] = [Listener()],
        tls: TLSFiles? = nil,
        users: [User],
        eventSocket: EventSocketEndpoint = EventSocketEndpoint(),
        maxIdle: Duration? = .seconds(300),
        offerURI: Bool = true,
        addVariablesToOffer: Bool = false,
        addVariablesToEvents: Bool = false,
        offerAlgorithm: OfferAlgorithmName = .all,
        offerTimeout: Duration = .seconds(5),
        mixerConferenceProfile: String = "default",
        dialGateways: [DialGatewayRule] = [],
        aliases: [Alias] = [],
        whenClientLeaves: ClientLeavePolicyName = .hangup,
        control: ControlSocket? = nil,
        drainTime: Duration = .seconds(30),
        limits: Limits = Limits(),
        timeouts: Timeouts = Timeouts()
    ) {
        self.domain = domain
        self.listeners = listeners
        self.tls = tls
        self.users = users
        self.eventSocket = eventSocket
        self.maxIdle = maxIdle
        self.offerURI = offerURI
        self.addVariablesToOffer = addVariablesToOffer
        self.addVariablesToEvents = addVariablesToEvents
        self.offerAlgorithm = offerAlgorithm
        self.offerTimeout = offerTimeout
        self.mixerConferenceProfile = mixerConferenceProfile
        self.dialGateways = dialGateways
        self.aliases = aliases
        self.whenClientLeaves = whenClientLeaves
        self.control = control
        self.drainTime = drainTime
        self.limits = limits
        self.timeouts = timeouts
    }

    /// The console's own JID, `console@<domain>/console`: the admin console's IQs come from it.
    public var consoleJIDText: String { "console@\(domain)/console" }
}
