import NIOCore
import Testing
import XMPP

@testable import XMPPServer

@Suite("XMPPStreamStateMachine without a socket")
struct StateMachineTests {
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private func machine(tls: Bool = false, limiter: FailedLoginLimiter? = nil) -> XMPPStreamStateMachine {
        XMPPStreamStateMachine(
            settings: .init(
                domain: JID("rayo.localhost")!,
                tlsRequired: tls,
                credentials: testCredentials,
                limiter: limiter ?? FailedLoginLimiter(maxFailures: 5, window: .seconds(60)),
                discoFeatures: [],
                handshakeTimeout: .seconds(30),
                pingInterval: .seconds(60),
                pingTimeout: .seconds(30)
            ),
            peer: [127, 0, 0, 1],
            now: start
        )
    }

    private func streamStart(to: String = "rayo.localhost") -> XMLStreamEvent {
        .streamStart(
            XMLElement("stream", namespace: XMPPNamespace.stream, ["to": to, "version": "1.0"])
        )
    }

    private func sent(_ actions: [XMPPStreamStateMachine.Action]) -> String {
        actions.compactMap {
            if case .send(let text) = $0 { return text }
            return nil
        }.joined()
    }

    @Test("header → server header and SASL features")
    func header() {
        var machine = machine()
        let actions = machine.handle(streamStart())
        let text = sent(actions)
        #expect(text.hasPrefix("<?xml version='1.0'?><stream:stream "))
        #expect(text.contains("from='rayo.localhost'"))
        #expect(
            text.hasSuffix(
                "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256"
                    + "</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>"
                    + "</stream:features>"
            )
        )
        #expect(!actions.contains(.close))
    }

    @Test("with TLS required, only STARTTLS is offered, and <starttls/> proceeds")
    func tlsRequired() {
        var machine = machine(tls: true)
        let text = sent(machine.handle(streamStart()))
        #expect(
            text.hasSuffix(
                "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                    + "</stream:features>"
            )
        )
        let actions = machine.handle(.stanza(XMLElement("starttls", namespace: XMPPNamespace.tls)))
        #expect(actions == [.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), .startTLS])
        #expect(sent(machine.handle(streamStart())).contains("<mechanism>PLAIN</mechanism>"))
    }

    @Test("a wrong host gets the server header, then host-unknown and the close")
    func hostUnknown() {
        var machine = machine()
        let actions = machine.handle(streamStart(to: "example.org"))
        let text = sent(actions)
        #expect(text.hasPrefix("<?xml version='1.0'?><stream:stream "))
        #expect(text.contains("<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))
        #expect(text.hasSuffix("</stream:error></stream:stream>"))
        #expect(actions.last == .close)
        #expect(machine.isClosed)
        #expect(machine.handle(.streamEnd).isEmpty)
    }

    @Test("PLAIN success → restart → bind → session → presence")
    func plainLogin() {
        var machine = machine()
        _ = machine.handle(streamStart())
        var auth = XMLElement("auth", namespace: XMPPNamespace.sasl, ["mechanism": "PLAIN"])
        auth.append(text: "AHVzZXJhADE=")
        let success = machine.handle(.stanza(auth))
        #expect(success.first == .send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"))
        #expect(success.contains(.resetParser))
        let features = sent(machine.handle(streamStart()))
        #expect(
            features.hasSuffix(
                "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session "
                    + "xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session></stream:features>"
            )
        )
        let bindRequest = XMLElement(
            "iq",
            namespace: XMPPNamespace.client,
            ["type": "set", "id": "bind1"],
            children: [
                .element(
                    XMLElement(
                        "bind",
                        namespace: XMPPNamespace.bind,
                        children: [.element(XMLElement("resource", children: [.text("r")]))]
                    )
                )
            ]
        )
        let jid = JID("usera@rayo.localhost/r")!
        let bound = machine.handle(.stanza(bindRequest))
        #expect(bound.dropFirst().first == .bind(jid))
        #expect(
            sent(bound)
                == "<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>"
                + "usera@rayo.localhost/r</jid></bind></iq>"
        )
        var presence = XMLElement("presence", namespace: XMPPNamespace.client)
        presence.append(XMLElement("show", namespace: XMPPNamespace.client, children: [.text("away")]))
        #expect(machine.handle(.stanza(presence)) == [.report(.presence(jid, .available(show: .away)))])
    }

    @Test("the timer: handshake timeout before binding")
    func handshakeTimer() {
        var machine = machine()
        _ = machine.handle(streamStart())
        #expect(machine.nextDeadline == start + .seconds(30))
        let early = machine.timerFired(now: start + .seconds(10))
        #expect(early.actions.isEmpty)
        #expect(early.next == start + .seconds(30))
        let due = machine.timerFired(now: start + .seconds(30))
        #expect(sent(due.actions).contains("<connection-timeout "))
        #expect(due.next == nil)
        #expect(machine.isClosed)
    }

    @Test("SASL: unknown mechanism, bad base64, abort; the stream stays open")
    func saslFailures() {
        var machine = machine()
        _ = machine.handle(streamStart())
        let unknown = machine.handle(
            .stanza(XMLElement("auth", namespace: XMPPNamespace.sasl, ["mechanism": "DIGEST-MD5"]))
        )
        #expect(sent(unknown).contains("<invalid-mechanism/>"))
        var bad = XMLElement("auth", namespace: XMPPNamespace.sasl, ["mechanism": "PLAIN"])
        bad.append(text: "not base64!")
        #expect(sent(machine.handle(.stanza(bad))).contains("<incorrect-encoding/>"))
        // SCRAM's first step is a challenge; <abort/> ends the exchange.
        var scram = XMLElement("auth", namespace: XMPPNamespace.sasl, ["mechanism": "SCRAM-SHA-1"])
        scram.append(text: SASLBase64.encode(Array("n,,n=usera,r=abcdefgh".utf8)))
        #expect(sent(machine.handle(.stanza(scram))).hasPrefix("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"))
        let aborted = machine.handle(.stanza(XMLElement("abort", namespace: XMPPNamespace.sasl)))
        #expect(sent(aborted) == "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure>")
        #expect(!machine.isClosed)
    }

    @Test("the timer: ping after silence, drop after an unanswered ping, any traffic resets")
    func pingTimer() {
        var machine = machine()
        _ = machine.handle(streamStart())
        var auth = XMLElement("auth", namespace: XMPPNamespace.sasl, ["mechanism": "PLAIN"])
        auth.append(text: "AHVzZXJhADE=")
        _ = machine.handle(.stanza(auth))
        _ = machine.handle(streamStart())
        let bind = XMLElement(
            "iq",
            namespace: XMPPNamespace.client,
            ["type": "set", "id": "b"],
            children: [.element(XMLElement("bind", namespace: XMPPNamespace.bind))]
        )
        _ = machine.handle(.stanza(bind))
        #expect(machine.nextDeadline == start + .seconds(60))
        let ping = machine.timerFired(now: start + .seconds(60))
        #expect(sent(ping.actions).contains("<ping xmlns='urn:xmpp:ping'/>"))
        #expect(sent(ping.actions).contains("id='sb-ping-1'"))
        #expect(ping.next == start + .seconds(90))
        let answered = machine.received(now: start + .seconds(70))
        #expect(answered)
        #expect(machine.nextDeadline == start + .seconds(130))
        let again = machine.received(now: start + .seconds(70))
        #expect(!again)
        let quiet = machine.timerFired(now: start + .seconds(90))
        #expect(quiet.actions.isEmpty)
        #expect(quiet.next == start + .seconds(130))
        _ = machine.timerFired(now: start + .seconds(130))
        let drop = machine.timerFired(now: start + .seconds(160))
        #expect(sent(drop.actions).contains("<connection-timeout "))
        #expect(drop.actions.last == .close)
    }

    @Test("the failed-login limiter counts per address within its window")
    func limiter() {
        let limiter = FailedLoginLimiter(maxFailures: 2, window: .seconds(60))
        let address: [UInt8] = [10, 0, 0, 1]
        limiter.recordFailure(address, now: start)
        #expect(!limiter.isBlocked(address, now: start))
        limiter.recordFailure(address, now: start + .seconds(1))
        #expect(limiter.isBlocked(address, now: start + .seconds(2)))
        #expect(!limiter.isBlocked([10, 0, 0, 2], now: start + .seconds(2)))
        #expect(!limiter.isBlocked(address, now: start + .seconds(61)))
    }
}

@Suite("CIDR")
struct CIDRTests {
    @Test("parses and matches IPv4 and IPv6 blocks")
    func parsing() throws {
        let loopback = try CIDR("127.0.0.0/8")
        #expect(loopback.contains(addressBytes: [127, 1, 2, 3]))
        #expect(!loopback.contains(addressBytes: [128, 0, 0, 1]))
        #expect(loopback.description == "127.0.0.0/8")
        let host = try CIDR("10.1.2.3")
        #expect(host.prefixLength == 32)
        let v6 = try CIDR("fd00::/8")
        #expect(v6.contains(addressBytes: [0xFD] + [UInt8](repeating: 7, count: 15)))
        #expect(v6.description == "fd00::/8")
        #expect(try CIDR("::1").description == "::1/128")
        #expect(try CIDR("2001:db8::ff00:42:8329/128").description == "2001:db8::ff00:42:8329/128")
        // IPv4-mapped IPv6 peers match IPv4 blocks.
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1]
        #expect(loopback.contains(addressBytes: mapped))
        #expect(try CIDR("::ffff:127.0.0.1").contains(addressBytes: mapped))
        #expect(try CIDR("0.0.0.0/0").contains(addressBytes: [8, 8, 8, 8]))
        let socket = try SocketAddress(ipAddress: "127.0.0.1", port: 5222)
        #expect(loopback.contains(socket))
        #expect(!v6.contains(socket))
    }

    @Test(
        "bad blocks fail with a clear error",
        arguments: [
            ("300.0.0.1/8", "is not an IPv4 address"), ("10.0.0.0/33", "from 0 to 32"),
            ("10.0.0.1/8", "did you mean '10.0.0.0/8'"),
            ("fe80::1::2", "is not an IPv6 address"), ("10.0.0/8", "is not an IPv4 address"), ("::/x", "not 'x'"),
            ("", "is not an IPv4 address"),
        ]
    )
    func errors(_ text: String, _ fragment: String) {
        let error = #expect(throws: XMPPServerError.self) { try CIDR(text) }
        #expect(error?.code == .invalidCIDR)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }

    @Test("configuration validation lists every problem")
    func validation() {
        var configuration = XMPPServerConfiguration(domain: "bad domain", listeners: [])
        configuration.limits.maxFailedLogins = 0
        let error = #expect(throws: XMPPServerError.self) { try configuration.validate() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("bad domain") == true)
        #expect(error?.message.contains("no listener") == true)
        #expect(error?.message.contains("maxFailedLogins") == true)
    }
}
