import Rayo
import RayoServer
import Switchboard
import SwitchboardDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

private let rayoListener = #"{ "name": "rayo-calls", "kind": "outbound", "handler": "rayo", "port": 8085 }"#

/// A configuration with one outbound `rayo` listener and a `rayo` object made of `members` (a minimal one by default).
private func rayoConfiguration(_ members: String = "", users: String? = nil, listener: String = rayoListener) -> String
{
    let userList = users ?? #"[{ "name": "usera", "password": "1" }]"#
    return """
        {
          "listeners": [ \(listener) ],
          "rayo": { "domain": "rayo.example.com", "users": \(userList)\(members) }
        }
        """
}

private func bad(
    _ name: String,
    _ json: String,
    _ code: ConfigurationProblem.Code,
    _ keyPath: String
) -> BadConfiguration {
    BadConfiguration(name: name, json: json, code: code, keyPath: keyPath)
}

private let badRayoConfigurations: [BadConfiguration] = [
    bad("rayo not an object", #"{ "listeners": [\#(rayoListener)], "rayo": [] }"#, .wrongType, "rayo"),
    bad("unknown rayo key", rayoConfiguration(#", "ofer-uri": true"#), .unknownKey, "rayo.ofer-uri"),
    bad(
        "domain missing",
        #"{ "listeners": [\#(rayoListener)], "rayo": { "users": [{ "name": "a", "password": "1" }] } }"#,
        .missingKey,
        "rayo.domain"
    ),
    bad(
        "domain with a slash",
        #"{ "listeners": [\#(rayoListener)], "rayo": { "domain": "a/b", "users": [{ "name": "a", "password": "1" }] } }"#,
        .invalidValue,
        "rayo.domain"
    ),
    bad("users missing", #"{ "listeners": [\#(rayoListener)], "rayo": { "domain": "d" } }"#, .missingKey, "rayo.users"),
    bad("no users", rayoConfiguration(users: "[]"), .invalidValue, "rayo.users"),
    bad("users not an array", rayoConfiguration(users: #"{ "name": "a" }"#), .wrongType, "rayo.users"),
    bad("user not an object", rayoConfiguration(users: #"["usera"]"#), .wrongType, "rayo.users[0]"),
    bad(
        "unknown user key",
        rayoConfiguration(users: #"[{ "name": "a", "password": "1", "pass": "2" }]"#),
        .unknownKey,
        "rayo.users[0].pass"
    ),
    bad("user name missing", rayoConfiguration(users: #"[{ "password": "1" }]"#), .missingKey, "rayo.users[0].name"),
    bad(
        "user name with @",
        rayoConfiguration(users: #"[{ "name": "a@b", "password": "1" }]"#),
        .invalidValue,
        "rayo.users[0].name"
    ),
    bad(
        "neither password nor hash",
        rayoConfiguration(users: #"[{ "name": "a" }]"#),
        .missingKey,
        "rayo.users[0].password"
    ),
    bad(
        "password and hash",
        rayoConfiguration(users: #"[{ "name": "a", "password": "1", "passwordHash": "x" }]"#),
        .invalidValue,
        "rayo.users[0].passwordHash"
    ),
    bad(
        "empty password",
        rayoConfiguration(users: #"[{ "name": "a", "password": "" }]"#),
        .invalidValue,
        "rayo.users[0].password"
    ),
    bad(
        "hash not a string",
        rayoConfiguration(users: #"[{ "name": "a", "passwordHash": 7 }]"#),
        .wrongType,
        "rayo.users[0].passwordHash"
    ),
    bad(
        "bad hash",
        rayoConfiguration(users: #"[{ "name": "a", "passwordHash": "" }]"#),
        .invalidValue,
        "rayo.users[0].passwordHash"
    ),
    bad(
        "bad hash in a list",
        rayoConfiguration(users: #"[{ "name": "a", "passwordHash": [""] }]"#),
        .invalidValue,
        "rayo.users[0].passwordHash[0]"
    ),
    bad(
        "duplicate user",
        rayoConfiguration(users: #"[{ "name": "a", "password": "1" }, { "name": "a", "password": "2" }]"#),
        .duplicateName,
        "rayo.users[1].name"
    ),
    bad("listen not an array", rayoConfiguration(#", "listen": {}"#), .wrongType, "rayo.listen"),
    bad(
        "unknown listen key",
        rayoConfiguration(#", "listen": [{ "prot": 5222 }]"#),
        .unknownKey,
        "rayo.listen[0].prot"
    ),
    bad("listen port zero", rayoConfiguration(#", "listen": [{ "port": 0 }]"#), .invalidValue, "rayo.listen[0].port"),
    bad("listen bind empty", rayoConfiguration(#", "listen": [{ "bind": "" }]"#), .invalidValue, "rayo.listen[0].bind"),
    bad(
        "acl not a CIDR",
        rayoConfiguration(#", "listen": [{ "acl": ["127.0.0.0/8", "localhost"] }]"#),
        .invalidValue,
        "rayo.listen[0].acl[1]"
    ),
    bad(
        "acl prefix too long",
        rayoConfiguration(#", "listen": [{ "acl": ["10.0.0.0/33"] }]"#),
        .invalidValue,
        "rayo.listen[0].acl[0]"
    ),
    bad("acl empty", rayoConfiguration(#", "listen": [{ "acl": [] }]"#), .invalidValue, "rayo.listen[0].acl"),
    bad(
        "two XMPP listeners on one port",
        rayoConfiguration(#", "listen": [{ "port": 5222 }, { "port": 5222, "bind": "0.0.0.0" }]"#),
        .duplicatePort,
        "rayo.listen[1].port"
    ),
    bad(
        "XMPP listener on the outbound listener's port",
        rayoConfiguration(#", "listen": [{ "port": 8085 }]"#),
        .duplicatePort,
        "rayo.listen[0].port"
    ),
    bad(
        "tls certificate missing",
        rayoConfiguration(#", "tls": { "privateKey": "/etc/hostname" }"#),
        .missingKey,
        "rayo.tls.certificate"
    ),
    bad(
        "tls file unreadable",
        rayoConfiguration(#", "tls": { "certificate": "/nonexistent/rayo.crt", "privateKey": "/etc/hostname" }"#),
        .invalidValue,
        "rayo.tls.certificate"
    ),
    bad(
        "tls key is a directory",
        rayoConfiguration(#", "tls": { "certificate": "/etc/hostname", "privateKey": "/etc" }"#),
        .invalidValue,
        "rayo.tls.privateKey"
    ),
    bad(
        "unknown tls key",
        rayoConfiguration(
            #", "tls": { "certificate": "/etc/hostname", "privateKey": "/etc/hostname", "cert": "/x" }"#
        ),
        .unknownKey,
        "rayo.tls.cert"
    ),
    bad(
        "event socket port as string",
        rayoConfiguration(#", "eventSocket": { "port": "8021" }"#),
        .wrongType,
        "rayo.eventSocket.port"
    ),
    bad(
        "unknown event socket key",
        rayoConfiguration(#", "eventSocket": { "pasword": "x" }"#),
        .unknownKey,
        "rayo.eventSocket.pasword"
    ),
    bad(
        "event socket password empty",
        rayoConfiguration(#", "eventSocket": { "password": "" }"#),
        .invalidValue,
        "rayo.eventSocket.password"
    ),
    bad("negative idle", rayoConfiguration(#", "maxIdleSeconds": -1"#), .invalidValue, "rayo.maxIdleSeconds"),
    bad("offerURI as string", rayoConfiguration(#", "offerURI": "yes""#), .wrongType, "rayo.offerURI"),
    bad(
        "addVariablesToOffer as number",
        rayoConfiguration(#", "addVariablesToOffer": 1"#),
        .wrongType,
        "rayo.addVariablesToOffer"
    ),
    bad(
        "addVariablesToEvents as null",
        rayoConfiguration(#", "addVariablesToEvents": null"#),
        .wrongType,
        "rayo.addVariablesToEvents"
    ),
    bad(
        "unknown offer algorithm",
        rayoConfiguration(#", "offerAlgorithm": "roundrobin""#),
        .invalidValue,
        "rayo.offerAlgorithm"
    ),
    bad("zero offer timeout", rayoConfiguration(#", "offerTimeoutMs": 0"#), .invalidValue, "rayo.offerTimeoutMs"),
    bad("fractional offer timeout", rayoConfiguration(#", "offerTimeoutMs": 1.5"#), .wrongType, "rayo.offerTimeoutMs"),
    bad(
        "conference profile with a space",
        rayoConfiguration(#", "mixerConferenceProfile": "a b""#),
        .invalidValue,
        "rayo.mixerConferenceProfile"
    ),
    bad(
        "gateway without dial prefix",
        rayoConfiguration(#", "dialGateways": [{ "uriPrefix": "sip:" }]"#),
        .missingKey,
        "rayo.dialGateways[0].dialPrefix"
    ),
    bad(
        "gateway negative strip",
        rayoConfiguration(#", "dialGateways": [{ "uriPrefix": "tel:", "dialPrefix": "sofia/gw/x/", "strip": -1 }]"#),
        .invalidValue,
        "rayo.dialGateways[0].strip"
    ),
    bad(
        "unknown gateway key",
        rayoConfiguration(#", "dialGateways": [{ "uriPrefix": "a", "dialPrefix": "b", "stripp": 1 }]"#),
        .unknownKey,
        "rayo.dialGateways[0].stripp"
    ),
    bad(
        "duplicate gateway prefix",
        rayoConfiguration(
            #", "dialGateways": [{ "uriPrefix": "sip:", "dialPrefix": "a/" }, { "uriPrefix": "sip:", "dialPrefix": "b/" }]"#
        ),
        .invalidValue,
        "rayo.dialGateways[1].uriPrefix"
    ),
    bad(
        "alias with a bad target",
        rayoConfiguration(#", "aliases": [{ "name": "answer", "target": "channel", "xml": "<answer/>" }]"#),
        .invalidValue,
        "rayo.aliases[0].target"
    ),
    bad(
        "alias that is not XML",
        rayoConfiguration(#", "aliases": [{ "name": "answer", "target": "call", "xml": "answer" }]"#),
        .invalidValue,
        "rayo.aliases[0].xml"
    ),
    bad(
        "alias named like a console command",
        rayoConfiguration(#", "aliases": [{ "name": "status", "target": "server", "xml": "<x/>" }]"#),
        .invalidValue,
        "rayo.aliases[0].name"
    ),
    bad(
        "duplicate alias",
        rayoConfiguration(
            #", "aliases": [{ "name": "a", "target": "call", "xml": "<x/>" }, { "name": "a", "target": "call", "xml": "<y/>" }]"#
        ),
        .duplicateName,
        "rayo.aliases[1].name"
    ),
    bad(
        "unknown client policy",
        rayoConfiguration(#", "whenClientLeaves": "park""#),
        .invalidValue,
        "rayo.whenClientLeaves"
    ),
    bad("control without socket", rayoConfiguration(#", "control": {}"#), .missingKey, "rayo.control.socket"),
    bad(
        "relative control socket",
        rayoConfiguration(#", "control": { "socket": "control.sock" }"#),
        .invalidValue,
        "rayo.control.socket"
    ),
    bad(
        "control mode not octal",
        rayoConfiguration(#", "control": { "socket": "/run/s.sock", "mode": "0680" }"#),
        .invalidValue,
        "rayo.control.mode"
    ),
    bad(
        "control mode open to others",
        rayoConfiguration(#", "control": { "socket": "/run/s.sock", "mode": "0666" }"#),
        .invalidValue,
        "rayo.control.mode"
    ),
    bad(
        "control mode as number",
        rayoConfiguration(#", "control": { "socket": "/run/s.sock", "mode": 660 }"#),
        .wrongType,
        "rayo.control.mode"
    ),
    bad("negative drain", rayoConfiguration(#", "drainSeconds": -1"#), .invalidValue, "rayo.drainSeconds"),
    bad(
        "tiny stanza limit",
        rayoConfiguration(#", "limits": { "maxStanzaBytes": 10 }"#),
        .invalidValue,
        "rayo.limits.maxStanzaBytes"
    ),
    bad("unknown limit", rayoConfiguration(#", "limits": { "maxStanza": 10 }"#), .unknownKey, "rayo.limits.maxStanza"),
    bad(
        "zero clients",
        rayoConfiguration(#", "limits": { "maxClients": 0 }"#),
        .invalidValue,
        "rayo.limits.maxClients"
    ),
    bad(
        "zero handshake timeout",
        rayoConfiguration(#", "timeouts": { "handshakeSeconds": 0 }"#),
        .invalidValue,
        "rayo.timeouts.handshakeSeconds"
    ),
    bad(
        "unknown timeout",
        rayoConfiguration(#", "timeouts": { "idleSeconds": 5 }"#),
        .unknownKey,
        "rayo.timeouts.idleSeconds"
    ),
    bad(
        "rayo handler without the rayo object",
        #"{ "listeners": [\#(rayoListener)] }"#,
        .missingKey,
        "listeners[0].handler"
    ),
    bad(
        "rayo handler on an inbound listener",
        rayoConfiguration(listener: #"{ "name": "x", "kind": "inbound", "handler": "rayo" }"#),
        .wrongHandlerKind,
        "listeners[0].handler"
    ),
]

private let hashA =
    "SCRAM-SHA-256$i=4096$MDEyMzQ1Njc4OWFiY2RlZg==$5ZYEbgx2oIM3fZnh8TduMjqml9cWqbXQbEZWmn915Ik=$6sv9J26dRZ6UzzzrfUNYjbMnEf5W9S+QtAvKkuddjcI="
private let hashB =
    "SCRAM-SHA-1$i=4096$MDEyMzQ1Njc4OWFiY2RlZg==$xg2VxtGC3siGoohZOQpmNNvcUKc=$8vh1ybC2PdKayUUGCfjcc0Ec1F8="

@Suite("Rayo configuration")
struct RayoConfigurationTests {
    let loader = ConfigurationLoader(registry: testRegistry)

    @Test("the shipped etc/switchboard-rayo.json is valid")
    func shippedExample() throws {
        let configuration = try loader.load(contentsOf: Repository.path("etc/switchboard-rayo.json"))
        let rayo = try #require(configuration.rayo)
        #expect(rayo.domain == "rayo.example.com")
        #expect(configuration.outboundListeners.contains { $0.handler == "rayo" })
        #expect(!rayo.dialGateways.isEmpty)
        #expect(!rayo.aliases.isEmpty)
    }

    @Test("keys left out take the documented defaults")
    func defaults() throws {
        let configuration = try loader.load(json: rayoConfiguration())
        let rayo = try #require(configuration.rayo)
        #expect(rayo.listeners == [.init(bind: "127.0.0.1", port: 5222, allow: [])])
        #expect(rayo.tls == nil)
        #expect(rayo.users == [.init(name: "usera", password: "1")])
        #expect(rayo.eventSocket == .init(host: "127.0.0.1", port: 8021, password: "ClueCon"))
        #expect(rayo.maxIdle == .seconds(300))
        #expect(rayo.offerURI == true)
        #expect(rayo.addVariablesToOffer == false)
        #expect(rayo.addVariablesToEvents == false)
        #expect(rayo.offerAlgorithm == .all)
        #expect(rayo.offerTimeout == .seconds(5))
        #expect(rayo.mixerConferenceProfile == "default")
        #expect(rayo.dialGateways.isEmpty)
        #expect(rayo.aliases.isEmpty)
        #expect(rayo.whenClientLeaves == .hangup)
        #expect(rayo.control == nil)
        #expect(rayo.drainTime == .seconds(30))
        #expect(rayo.limits == RayoServerConfiguration.Limits())
        #expect(rayo.limits.maxStanzaBytes == 262_144)
        #expect(rayo.timeouts == RayoServerConfiguration.Timeouts())
        #expect(rayo.timeouts.eventSocketCommand == .seconds(30))
    }

    @Test("without a rayo object, the configuration has none")
    func absent() throws {
        let configuration = try loader.load(
            json: #"{ "listeners": [{ "name": "ivr", "kind": "outbound", "handler": "demo-ivr" }] }"#
        )
        #expect(configuration.rayo == nil)
    }

    @Test("every key can be set")
    func everyKey() throws {
        let directory = try TemporaryDirectory()
        let certificate = directory.file("rayo.crt")
        let key = directory.file("rayo.key")
        for path in [certificate, key] {
            let descriptor = open(path, O_CREAT | O_WRONLY, 0o600)
            #expect(descriptor >= 0)
            close(descriptor)
        }
        let members = """
            , "listen": [ { "bind": "0.0.0.0", "port": 5223, "acl": ["127.0.0.0/8", "::1/128", "10.1.2.3"] },
                          { "bind": "::1", "port": 5224 } ],
              "tls": { "certificate": "\(certificate)", "privateKey": "\(key)" },
              "eventSocket": { "host": "10.0.0.5", "port": 8022, "password": "secret" },
              "maxIdleSeconds": 0, "offerURI": false, "addVariablesToOffer": true, "addVariablesToEvents": true,
              "offerAlgorithm": "round-robin", "offerTimeoutMs": 2500, "mixerConferenceProfile": "wideband",
              "dialGateways": [ { "uriPrefix": "default", "dialPrefix": "sofia/gateway/outbound/" },
                                { "uriPrefix": "tel:", "dialPrefix": "sofia/gateway/pstn/", "strip": 4 } ],
              "aliases": [ { "name": "answer", "target": "call", "xml": "<answer xmlns='urn:xmpp:rayo:1'/>" },
                           { "name": "ping", "target": "server", "xml": "<ping xmlns='urn:xmpp:ping'/>" } ],
              "whenClientLeaves": "reoffer",
              "control": { "socket": "/run/switchboard/rayo.sock", "mode": "0660" },
              "drainSeconds": 12.5,
              "limits": { "maxStanzaBytes": 65536, "maxDepth": 32, "maxAttributes": 16, "maxClients": 50,
                          "failedLoginsPerMinute": 3 },
              "timeouts": { "handshakeSeconds": 5, "pingIntervalSeconds": 20, "pingTimeoutSeconds": 4,
                            "eventSocketCommandSeconds": 7 }
            """
        let users =
            #"[{ "name": "usera", "password": "1" }, { "name": "userb", "passwordHash": ["SCRAM-SHA-256$i=4096$MDEyMzQ1Njc4OWFiY2RlZg==$5ZYEbgx2oIM3fZnh8TduMjqml9cWqbXQbEZWmn915Ik=$6sv9J26dRZ6UzzzrfUNYjbMnEf5W9S+QtAvKkuddjcI=", "SCRAM-SHA-1$i=4096$MDEyMzQ1Njc4OWFiY2RlZg==$xg2VxtGC3siGoohZOQpmNNvcUKc=$8vh1ybC2PdKayUUGCfjcc0Ec1F8="] }]"#
        let configuration = try loader.load(json: rayoConfiguration(members, users: users))
        let rayo = try #require(configuration.rayo)
        #expect(
            rayo.listeners == [
                .init(bind: "0.0.0.0", port: 5223, allow: ["127.0.0.0/8", "::1/128", "10.1.2.3"]),
                .init(bind: "::1", port: 5224, allow: []),
            ]
        )
        #expect(rayo.tls == .init(certificate: certificate, privateKey: key))
        #expect(
            rayo.users == [.init(name: "usera", password: "1"), .init(name: "userb", passwordHashes: [hashA, hashB])]
        )
        #expect(rayo.eventSocket == .init(host: "10.0.0.5", port: 8022, password: "secret"))
        #expect(rayo.maxIdle == nil)
        #expect(rayo.offerURI == false)
        #expect(rayo.addVariablesToOffer == true)
        #expect(rayo.addVariablesToEvents == true)
        #expect(rayo.offerAlgorithm == .roundRobin)
        #expect(rayo.offerTimeout == .milliseconds(2500))
        #expect(rayo.mixerConferenceProfile == "wideband")
        #expect(
            rayo.dialGateways == [
                .init(uriPrefix: "default", dialPrefix: "sofia/gateway/outbound/", strip: 0),
                .init(uriPrefix: "tel:", dialPrefix: "sofia/gateway/pstn/", strip: 4),
            ]
        )
        #expect(rayo.aliases.map(\.name) == ["answer", "ping"])
        #expect(rayo.aliases.map(\.target) == [.call, .server])
        #expect(rayo.whenClientLeaves == .reoffer)
        #expect(rayo.control == .init(path: "/run/switchboard/rayo.sock", mode: 0o660))
        #expect(rayo.drainTime == .milliseconds(12_500))
        #expect(
            rayo.limits
                == .init(
                    maxStanzaBytes: 65_536,
                    maxDepth: 32,
                    maxAttributes: 16,
                    maxClients: 50,
                    failedLoginsPerMinute: 3
                )
        )
        #expect(
            rayo.timeouts
                == .init(
                    handshake: .seconds(5),
                    pingInterval: .seconds(20),
                    pingTimeout: .seconds(4),
                    eventSocketCommand: .seconds(7)
                )
        )
    }

    @Test("each kind of mistake is reported once, at its key path", arguments: badRayoConfigurations)
    func badValue(_ example: BadConfiguration) {
        do {
            let configuration = try loader.load(json: example.json)
            Issue.record("accepted: \(configuration)")
        } catch {
            #expect(error.problems.count == 1, "\(error)")
            #expect(error.problems.first?.code == example.code, "\(error)")
            #expect(error.problems.first?.keyPath == example.keyPath, "\(error)")
        }
    }

    @Test("every problem in the rayo object is reported at once")
    func allAtOnce() {
        let json = rayoConfiguration(
            #", "offerAlgorithm": "best", "offerTimeoutMs": -1, "control": { "socket": "x" }, "limits": { "maxDepth": 1 }"#,
            users: #"[{ "name": "" , "password": "1" }]"#
        )
        do {
            _ = try loader.load(json: json)
            Issue.record("accepted")
        } catch {
            #expect(
                error.problems.map(\.keyPath) == [
                    "rayo.users[0].name", "rayo.offerAlgorithm", "rayo.offerTimeoutMs", "rayo.control.socket",
                    "rayo.limits.maxDepth",
                ],
                "\(error)"
            )
        }
    }

    @Test("an unreadable TLS file is named with the reason")
    func unreadableTLSMessage() {
        let json = rayoConfiguration(
            #", "tls": { "certificate": "/nonexistent/rayo.crt", "privateKey": "/etc/hostname" }"#
        )
        do {
            _ = try loader.load(json: json)
            Issue.record("accepted")
        } catch {
            let message = error.problems.first?.message ?? ""
            #expect(message.contains("/nonexistent/rayo.crt"), "\(message)")
            #expect(message.contains("no such file"), "\(message)")
        }
    }

    @Test("the rayo handler without a rayo object says what is missing")
    func rayoHandlerNeedsRayo() {
        do {
            _ = try loader.load(json: #"{ "listeners": [\#(rayoListener)] }"#)
            Issue.record("accepted")
        } catch {
            #expect(error.problems.first?.message.contains("top-level \"rayo\" object") == true, "\(error)")
        }
    }
}
