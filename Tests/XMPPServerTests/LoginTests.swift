import Foundation
import NIOCore
import NIOSSL
import SwitchboardTesting
import Testing
import XMPP
import XMPPServer
import XMPPTesting

@Suite("Login: SASL, STARTTLS, binding, throttling")
struct LoginTests {
    @Test("each SASL mechanism logs in and binds", arguments: XMPPTestClient.Mechanism.allCases)
    func eachMechanism(_ mechanism: XMPPTestClient.Mechanism) async throws {
        try await withServer { harness in
            let client = try await harness.client()
            let features = try await client.openStream()
            let offered = features.child("mechanisms", namespace: XMPPNamespace.sasl)?.children("mechanism").map(\.text)
            #expect(offered == ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"])
            let restarted = try await client.authenticate(username: "usera", password: "1", mechanism: mechanism)
            #expect(restarted.child("bind", namespace: XMPPNamespace.bind) != nil)
            #expect(
                restarted.child("session", namespace: XMPPNamespace.session)?.child("optional") != nil
            )
            #expect(client.streamHeaders.map { $0[attribute: "to"] } == [nil, "usera@rayo.localhost"])
            let jid = try await client.bind(resource: "desk")
            #expect(jid == JID("usera@rayo.localhost/desk"))
            try await harness.service.waitFor(.online(jid))
            await client.close()
            try await harness.service.waitFor(.offline(jid))
        }
    }

    @Test(
        "SCRAM works against stored keys without a clear password",
        arguments: [
            XMPPTestClient.Mechanism.scramSHA1, .scramSHA256,
        ]
    )
    func storedKeys(_ mechanism: XMPPTestClient.Mechanism) async throws {
        try await withServer { harness in
            let client = try await harness.client()
            try await client.login(username: "userb", password: "secret-b", mechanism: mechanism)
            #expect(client.jid?.localpart == "userb")
            await client.close()
        }
    }

    @Test("a generated resource when none is asked for")
    func generatedResource() async throws {
        try await withServer { harness in
            let client = try await harness.client()
            let jid = try await client.login(username: "usera", password: "1")
            let resource = try #require(jid.resourcepart)
            #expect(resource.count == 36)
            #expect(jid.bare == JID("usera@rayo.localhost"))
            await client.close()
        }
    }

    @Test(
        "a bad password gets exactly <failure><not-authorized/></failure>",
        arguments: XMPPTestClient.Mechanism.allCases
    )
    func badPassword(_ mechanism: XMPPTestClient.Mechanism) async throws {
        try await withServer { harness in
            let client = try await harness.client()
            try await client.openStream()
            let error = await #expect(throws: XMPPTestClientError.self) {
                try await client.authenticate(username: "usera", password: "wrong", mechanism: mechanism)
            }
            let expected = try XMLElement.parse(
                "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
            )
            #expect(error?.code == .authenticationFailed)
            #expect(error?.element?.resolved() == expected.resolved())
            // The stream stays usable: a retry with the right password succeeds.
            try await client.authenticate(username: "usera", password: "1", mechanism: mechanism)
            await client.close()
        }
    }

    @Test(
        "an authzid naming another user is refused with invalid-authzid",
        arguments: XMPPTestClient.Mechanism.allCases
    )
    func impersonation(_ mechanism: XMPPTestClient.Mechanism) async throws {
        try await withServer { harness in
            let client = try await harness.client()
            try await client.openStream()
            let error = await #expect(throws: XMPPTestClientError.self) {
                try await client.authenticate(
                    username: "usera",
                    password: "1",
                    mechanism: mechanism,
                    authzid: "userb@rayo.localhost"
                )
            }
            #expect(error?.element?.conditionName == "invalid-authzid")
            // Naming oneself is fine.
            try await client.authenticate(
                username: "usera",
                password: "1",
                mechanism: mechanism,
                authzid: "usera@rayo.localhost"
            )
            let jid = try await client.bind()
            #expect(jid.localpart == "usera")
            await client.close()
        }
    }

    @Test("failed logins are throttled per address, across connections")
    func failedLoginRateLimit() async throws {
        var limits = XMPPServerConfiguration.Limits()
        limits.maxFailedLogins = 2
        try await withServer(limits: limits) { harness in
            for _ in 0..<2 {
                let client = try await harness.client()
                try await client.openStream()
                await #expect(throws: XMPPTestClientError.self) {
                    try await client.authenticate(username: "usera", password: "wrong", mechanism: .plain)
                }
                await client.close()
            }
            // Even the right password is refused now, and the stream ends.
            let client = try await harness.client()
            try await client.openStream()
            let error = await #expect(throws: XMPPTestClientError.self) {
                try await client.authenticate(username: "usera", password: "1", mechanism: .plain)
            }
            #expect(error?.element?.conditionName == "temporary-auth-failure")
            try await client.waitUntilClosed()
            #expect(harness.logs.all.contains { $0.contains("too many failed logins") })
        }
    }

    @Test("stanzas before authentication or binding end the stream with not-authorized")
    func stanzasBeforeBinding() async throws {
        try await withServer { harness in
            let early = try await harness.client()
            try await early.openStream()
            early.send(ping(to: testDomain))
            try await early.waitUntilClosed()
            #expect(early.streamErrorCondition == "not-authorized")

            let unbound = try await harness.client()
            try await unbound.openStream()
            try await unbound.authenticate(username: "usera", password: "1")
            unbound.send(XMLElement("presence"))
            try await unbound.waitUntilClosed()
            #expect(unbound.streamErrorCondition == "not-authorized")
            #expect(harness.service.events.isEmpty)
        }
    }

    @Test("a second login with the same full JID replaces the first")
    func resourceConflict() async throws {
        try await withServer { harness in
            let first = try await harness.loggedInClient(resource: "phone")
            let jid = try #require(first.jid)
            let second = try await harness.loggedInClient(resource: "phone")
            #expect(second.jid == jid)
            try await first.waitUntilClosed()
            #expect(first.streamErrorCondition == "conflict")
            try await harness.service.waitUntil { $0.count >= 3 }
            #expect(harness.service.events == [.online(jid), .offline(jid), .online(jid)])
            // The new session is the one that is reachable.
            let pong = try await second.iq(ping())
            #expect(pong[attribute: "type"] == "result")
            await second.close()
            try await harness.service.waitUntil { $0.count >= 4 }
            #expect(harness.service.events.last == .offline(jid))
            #expect(harness.service.events.count == 4)
        }
    }

    @Test("the handshake must finish within the handshake timeout")
    func handshakeTimeout() async throws {
        var limits = XMPPServerConfiguration.Limits()
        limits.handshakeTimeout = .milliseconds(300)
        try await withServer(limits: limits) { harness in
            let client = try await harness.client()
            client.send(raw: StreamHeader.client(to: testDomain))
            try await client.waitUntilClosed()
            #expect(client.streamErrorCondition == "connection-timeout")
            #expect(client.streamHeaders.count == 1)
        }
    }
}

@Suite("STARTTLS")
struct STARTTLSTests {
    @Test("STARTTLS with a certificate made for the test, then SCRAM over TLS")
    func startTLS() async throws {
        let certificate = try TestCertificate.make(domain: testDomain)
        defer { certificate.remove() }
        try await withServer(tls: certificate.configuration) { harness in
            let client = try await harness.client()
            let features = try await client.openStream()
            // Before TLS only STARTTLS is offered, and it is required.
            #expect(features.elements.count == 1)
            #expect(features.child("starttls", namespace: XMPPNamespace.tls)?.child("required") != nil)
            let trusted = try NIOSSLCertificate.fromPEMFile(certificate.certificatePath)
            let secured = try await client.startTLS(.certificates(trusted))
            #expect(secured.child("mechanisms", namespace: XMPPNamespace.sasl) != nil)
            #expect(secured.child("starttls", namespace: XMPPNamespace.tls) == nil)
            try await client.authenticate(username: "usera", password: "1", mechanism: .scramSHA256)
            let jid = try await client.bind(resource: "tls")
            try await harness.service.waitFor(.online(jid))
            let pong = try await client.iq(ping(to: testDomain))
            #expect(pong[attribute: "type"] == "result")
            await client.close()
        }
    }

    @Test("with TLS configured, authentication before STARTTLS is refused")
    func tlsRequired() async throws {
        let certificate = try TestCertificate.make(domain: testDomain)
        defer { certificate.remove() }
        try await withServer(tls: certificate.configuration) { harness in
            let client = try await harness.client()
            try await client.openStream()
            await #expect(throws: XMPPTestClientError.self) {
                try await client.authenticate(username: "usera", password: "1", mechanism: .plain)
            }
            try await client.waitUntilClosed()
            #expect(client.streamErrorCondition == "policy-violation")
            #expect(harness.service.events.isEmpty)
        }
    }

    @Test("unreadable TLS files fail run() with a clear error")
    func badTLSFiles() async throws {
        let server = XMPPServer(
            configuration: XMPPServerConfiguration(
                domain: testDomain,
                listeners: [.init(host: "127.0.0.1", port: 0)],
                tls: .init(certificateChainPath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
            ),
            credentials: testCredentials,
            service: RecordingService(),
            logger: LogRecorder(includesMetadata: true).logger()
        )
        let error = await #expect(throws: XMPPServerError.self) { try await server.run() }
        #expect(error?.code == .tlsSetupFailed)
        #expect(error?.message.contains("/nonexistent/cert.pem") == true)
    }
}

/// A self-signed certificate and key made with the `openssl` command in a temporary directory.
struct TestCertificate {
    let directory: URL
    var certificatePath: String { directory.appendingPathComponent("cert.pem").path }
    var keyPath: String { directory.appendingPathComponent("key.pem").path }
    var configuration: XMPPServerConfiguration.TLS {
        .init(certificateChainPath: certificatePath, privateKeyPath: keyPath)
    }

    static func make(domain: String) throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xmpp-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = TestCertificate(directory: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-subj", "/CN=\(domain)", "-addext", "subjectAltName=DNS:\(domain)",
            "-keyout", certificate.keyPath, "-out", certificate.certificatePath,
        ]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw TestFailure("openssl failed: \(message)")
        }
        return certificate
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
