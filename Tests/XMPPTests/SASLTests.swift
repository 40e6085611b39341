import Foundation
import TestSupport
import Testing
import XMPP

@Suite("SASL", .cpuBound)
struct SASLTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The RFC 5802 §5 and RFC 7677 §3 examples: user `user`, password `pencil`.
    struct Vector: Sendable, CustomTestStringConvertible {
        var hash: SCRAMHash
        var salt: String
        var clientNonce: String
        var serverNonce: String
        var clientFirst: String
        var serverFirst: String
        var clientFinal: String
        var serverFinal: String

        var testDescription: String { hash.rawValue }

        var keys: SCRAMStoredKeys {
            SCRAMStoredKeys.derive(password: "pencil", hash: hash, salt: SASLBase64.decode(salt)!, iterations: 4096)
        }
    }

    static let vectors = [
        Vector(
            hash: .sha1,
            salt: "QSXCR+Q6sek8bf92",
            clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
            serverNonce: "3rfcNHYJY1ZVvWVs7j",
            clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
        ),
        Vector(
            hash: .sha256,
            salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
            clientNonce: "rOprNGfwEbeRWgbNEkqO",
            serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            clientFinal:
                "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        ),
    ]

    // MARK: - SCRAM vectors

    @Test(arguments: vectors)
    func theServerReproducesTheRFCExample(vector: Vector) {
        let store = StaticCredentialStore(["user": UserCredentials(scram: [vector.keys])])
        var server = SCRAMServer(hash: vector.hash, credentials: store, serverNonce: vector.serverNonce)
        #expect(
            server.start(initialResponse: Self.bytes(vector.clientFirst)) == .challenge(Self.bytes(vector.serverFirst))
        )
        #expect(
            server.respond(Self.bytes(vector.clientFinal))
                == .success(username: "user", additionalData: Self.bytes(vector.serverFinal))
        )
    }

    @Test(arguments: vectors)
    func theClientReproducesTheRFCExample(vector: Vector) throws {
        var client = SCRAMClient(hash: vector.hash, username: "user", password: "pencil", nonce: vector.clientNonce)
        #expect(Self.text(client.clientFirstMessage()) == vector.clientFirst)
        #expect(
            Self.text(try client.clientFinalMessage(serverFirst: Self.bytes(vector.serverFirst))) == vector.clientFinal
        )
        try client.verify(serverFinal: Self.bytes(vector.serverFinal))
        let forged = #expect(throws: SASLClientError.self) {
            try client.verify(serverFinal: Self.bytes("v=" + SASLBase64.encodeText([UInt8](repeating: 1, count: 20))))
        }
        #expect(forged?.code == .serverNotAuthenticated)
    }

    @Test(arguments: SCRAMHash.allCases)
    func clientAndServerAgreeWithAClearPassword(hash: SCRAMHash) throws {
        let store = StaticCredentialStore(["alice": UserCredentials(password: "s3cret")])
        for _ in 0..<2 {  // the second login uses the cached keys
            var server = try #require(SASLMechanisms.server(named: hash.mechanismName, credentials: store))
            var client = SCRAMClient(hash: hash, username: "alice", password: "s3cret")
            guard case .challenge(let serverFirst) = server.start(initialResponse: client.clientFirstMessage()) else {
                Issue.record("no challenge")
                return
            }
            let step = server.respond(try client.clientFinalMessage(serverFirst: serverFirst))
            guard case .success(let username, let data?) = step else {
                Issue.record("no success: \(step)")
                return
            }
            #expect(username == "alice")
            try client.verify(serverFinal: data)
        }
    }

    @Test func scramWithoutAnInitialResponseAsksForIt() throws {
        let store = StaticCredentialStore(["alice": UserCredentials(password: "pw")])
        var server = SCRAMServer(hash: .sha256, credentials: store)
        #expect(server.start(initialResponse: nil) == .challenge([]))
        var client = SCRAMClient(hash: .sha256, username: "alice", password: "pw")
        guard case .challenge(let serverFirst) = server.respond(client.clientFirstMessage()) else {
            Issue.record("no challenge")
            return
        }
        guard case .success = server.respond(try client.clientFinalMessage(serverFirst: serverFirst)) else {
            Issue.record("no success")
            return
        }
    }

    /// Runs a full SCRAM exchange and returns the server's last step.
    static func scram(
        _ hash: SCRAMHash,
        store: any SASLCredentialStore,
        username: String,
        password: String,
        authzid: String? = nil,
        domain: String? = nil,
        tamper: (([UInt8]) -> [UInt8])? = nil
    ) throws -> SASLStep {
        var server = SCRAMServer(hash: hash, credentials: store, domain: domain)
        var client = SCRAMClient(hash: hash, username: username, password: password, authzid: authzid)
        let first = server.start(initialResponse: client.clientFirstMessage())
        guard case .challenge(let serverFirst) = first else { return first }
        let final = try client.clientFinalMessage(serverFirst: serverFirst)
        return server.respond(tamper?(final) ?? final)
    }

    static func condition(_ step: SASLStep) -> SASLFailure.Condition? {
        if case .failure(let failure) = step { return failure.condition }
        return nil
    }

    @Test(arguments: SCRAMHash.allCases)
    func aWrongPasswordIsNotAuthorized(hash: SCRAMHash) throws {
        let store = StaticCredentialStore(["alice": UserCredentials(password: "right")])
        let step = try Self.scram(hash, store: store, username: "alice", password: "wrong")
        #expect(Self.condition(step) == .notAuthorized)
    }

    @Test func anUnknownUserLooksLikeAWrongPassword() throws {
        let store = StaticCredentialStore([:])
        var first = SCRAMServer(hash: .sha256, credentials: store)
        var second = SCRAMServer(hash: .sha256, credentials: store)
        let client = SCRAMClient(hash: .sha256, username: "mallory", password: "x")
        guard case .challenge(let a) = first.start(initialResponse: client.clientFirstMessage()),
            case .challenge(let b) = second.start(initialResponse: client.clientFirstMessage())
        else {
            Issue.record("an unknown user must get a challenge")
            return
        }
        // Same salt for the same unknown user, like a real account.
        #expect(Self.text(a).split(separator: ",")[1] == Self.text(b).split(separator: ",")[1])
        #expect(
            Self.condition(try Self.scram(.sha256, store: store, username: "mallory", password: "x")) == .notAuthorized
        )
    }

    @Test func aTamperedProofIsNotAuthorized() throws {
        let store = StaticCredentialStore(["alice": UserCredentials(password: "pw")])
        let step = try Self.scram(.sha256, store: store, username: "alice", password: "pw") { final in
            var text = Self.text(final)
            let proof = text.range(of: ",p=")!.upperBound
            let replacement: Character = text[proof] == "A" ? "B" : "A"
            text.replaceSubrange(proof...proof, with: String(replacement))
            return Self.bytes(text)
        }
        #expect(Self.condition(step) == .notAuthorized)
    }

    @Test func aChangedNonceIsRefused() throws {
        let store = StaticCredentialStore(["alice": UserCredentials(password: "pw")])
        let step = try Self.scram(.sha256, store: store, username: "alice", password: "pw") { final in
            Self.bytes(Self.text(final).replacingOccurrences(of: ",r=", with: ",r=x"))
        }
        #expect(Self.condition(step) == .malformedRequest)
    }

    @Test(
        arguments: [
            "", "n", "n,,", "x,,n=user,r=abc", "n,,r=abc,n=user", "n,,n=,r=abc", "n,,n=us=2Xer,r=abc", "n,,n=user,r=",
            "n,,n=user", "n,,m=ext,n=user,r=abc", "n,b=x,n=user,r=abc", "n,,n=user,r=ab c",
        ]
    )
    func aMalformedClientFirstMessageIsRefused(message: String) {
        let store = StaticCredentialStore(["user": UserCredentials(password: "pencil")])
        var server = SCRAMServer(hash: .sha256, credentials: store)
        let step = server.start(initialResponse: message.isEmpty ? [0xFF] : Self.bytes(message))
        #expect(Self.condition(step) == .malformedRequest)
        #expect(Self.condition(server.respond(Self.bytes("n,,n=user,r=abc"))) == .malformedRequest)
    }

    @Test func channelBindingIsRefusedButTheYFlagIsAccepted() {
        let store = StaticCredentialStore(["user": UserCredentials(password: "pencil")])
        var plus = SCRAMServer(hash: .sha256, credentials: store)
        #expect(
            Self.condition(plus.start(initialResponse: Self.bytes("p=tls-unique,,n=user,r=abc"))) == .malformedRequest
        )
        var yes = SCRAMServer(hash: .sha256, credentials: store)
        guard case .challenge = yes.start(initialResponse: Self.bytes("y,,n=user,r=abc")) else {
            Issue.record("y must be accepted")
            return
        }
    }

    @Test(
        arguments: [
            "c=biws,r=abc", "c=biws,p=AAAA", "r=abc,c=biws,p=AAAA", "c=!!!!,r=abc,p=AAAA", "c=biws,r=abc,p=!!",
            "c=eSws,r=abc,p=AAAA",
        ]
    )
    func aMalformedClientFinalMessageIsRefused(message: String) {
        let store = StaticCredentialStore(["user": UserCredentials(password: "pencil")])
        var server = SCRAMServer(hash: .sha1, credentials: store, serverNonce: "S")
        _ = server.start(initialResponse: Self.bytes("n,,n=user,r=abc"))
        let step = server.respond(Self.bytes(message.replacingOccurrences(of: "r=abc", with: "r=abcS")))
        #expect(Self.condition(step) == .malformedRequest)
    }

    @Test func escapedNamesAreUnescaped() throws {
        let store = StaticCredentialStore(["a,b=c": UserCredentials(password: "pw")])
        let client = SCRAMClient(hash: .sha256, username: "a,b=c", password: "pw")
        #expect(Self.text(client.clientFirstMessage()).hasPrefix("n,,n=a=2Cb=3Dc,r="))
        let step = try Self.scram(.sha256, store: store, username: "a,b=c", password: "pw")
        #expect(step.isSuccess(username: "a,b=c"))
    }

    @Test(arguments: SCRAMHash.allCases)
    func scramRefusesImpersonation(hash: SCRAMHash) throws {
        let store = StaticCredentialStore([
            "alice": UserCredentials(password: "pw"), "bob": UserCredentials(password: "pw2"),
        ])
        let domain = "rayo.localhost"
        for authzid in ["bob", "bob@rayo.localhost", "alice@elsewhere", "alice@rayo.localhost/res"] {
            let step = try Self.scram(
                hash,
                store: store,
                username: "alice",
                password: "pw",
                authzid: authzid,
                domain: domain
            )
            #expect(Self.condition(step) == .invalidAuthzid, "\(authzid)")
        }
        for authzid in ["alice", "alice@rayo.localhost", "Alice@Rayo.Localhost"] {
            let step = try Self.scram(
                hash,
                store: store,
                username: "alice",
                password: "pw",
                authzid: authzid,
                domain: domain
            )
            #expect(step.isSuccess(username: "alice"), "\(authzid)")
        }
    }

    @Test func scramOfAHashWithoutStoredKeysFails() throws {
        let keys = SCRAMStoredKeys.derive(password: "pw", hash: .sha256)
        let store = StaticCredentialStore(["alice": UserCredentials(scram: [keys])])
        #expect(try Self.scram(.sha256, store: store, username: "alice", password: "pw").isSuccess(username: "alice"))
        #expect(
            Self.condition(try Self.scram(.sha1, store: store, username: "alice", password: "pw")) == .notAuthorized
        )
    }

    @Test func aResponseAfterTheEndIsRefused() throws {
        var server = SCRAMServer(hash: .sha256, credentials: StaticCredentialStore([:]))
        #expect(Self.condition(server.respond([1, 2, 3])) == .malformedRequest)
    }

    // MARK: - PLAIN

    static func plain(
        _ store: any SASLCredentialStore,
        authzid: String? = nil,
        username: String,
        password: String,
        domain: String? = nil
    ) throws -> SASLStep {
        var server = try #require(SASLMechanisms.server(named: "PLAIN", domain: domain, credentials: store))
        return server.start(
            initialResponse: PLAINClient.initialResponse(authzid: authzid, username: username, password: password)
        )
    }

    @Test func plainAgainstAClearPassword() throws {
        let store = StaticCredentialStore(["usera": UserCredentials(password: "1")])
        #expect(try Self.plain(store, username: "usera", password: "1").isSuccess(username: "usera"))
        #expect(Self.condition(try Self.plain(store, username: "usera", password: "2")) == .notAuthorized)
        #expect(Self.condition(try Self.plain(store, username: "userb", password: "1")) == .notAuthorized)
        #expect(Self.condition(try Self.plain(store, username: "usera", password: "11")) == .notAuthorized)
    }

    @Test func plainMatchesTheFixtureLogin() throws {
        // `AHVzZXJhADE=` is what the fixtures' client sent in <auth mechanism='PLAIN'>.
        let response = try #require(try SASLBase64.decodeInitialResponse("AHVzZXJhADE="))
        #expect(response == PLAINClient.initialResponse(username: "usera", password: "1"))
        var server = PLAINServer(credentials: StaticCredentialStore(["usera": UserCredentials(password: "1")]))
        #expect(server.start(initialResponse: response).isSuccess(username: "usera"))
    }

    @Test(arguments: SCRAMHash.allCases)
    func plainAgainstStoredKeys(hash: SCRAMHash) throws {
        let keys = SCRAMStoredKeys.derive(password: "correct horse", hash: hash, iterations: 1000)
        let store = StaticCredentialStore(["alice": UserCredentials(scram: [keys])])
        #expect(try Self.plain(store, username: "alice", password: "correct horse").isSuccess(username: "alice"))
        #expect(Self.condition(try Self.plain(store, username: "alice", password: "wrong")) == .notAuthorized)
    }

    @Test func plainRefusesImpersonation() throws {
        let store = StaticCredentialStore(["alice": UserCredentials(password: "pw")])
        let domain = "rayo.localhost"
        #expect(
            Self.condition(try Self.plain(store, authzid: "bob", username: "alice", password: "pw", domain: domain))
                == .invalidAuthzid
        )
        #expect(
            Self.condition(
                try Self.plain(store, authzid: "bob@rayo.localhost", username: "alice", password: "pw", domain: domain)
            ) == .invalidAuthzid
        )
        #expect(
            try Self.plain(store, authzid: "alice@rayo.localhost", username: "alice", password: "pw", domain: domain)
                .isSuccess(username: "alice")
        )
        // Without a domain only the bare username is accepted.
        #expect(
            Self.condition(try Self.plain(store, authzid: "alice@rayo.localhost", username: "alice", password: "pw"))
                == .invalidAuthzid
        )
    }

    @Test(arguments: [
        [] as [UInt8], [0], [0, 0], [0x61, 0, 0x62], [0, 0x61, 0], [0, 0, 0x62], [0, 0x61, 0, 0x62, 0, 0x63],
    ])
    func malformedPlainIsRefused(message: [UInt8]) {
        var server = PLAINServer(credentials: StaticCredentialStore(["a": UserCredentials(password: "b")]))
        #expect(Self.condition(server.start(initialResponse: message)) == .malformedRequest)
    }

    @Test func plainWithoutAnInitialResponseSendsAnEmptyChallenge() {
        var server = PLAINServer(credentials: StaticCredentialStore(["a": UserCredentials(password: "b")]))
        #expect(server.start(initialResponse: nil) == .challenge([]))
        #expect(server.respond(PLAINClient.initialResponse(username: "a", password: "b")).isSuccess(username: "a"))
        #expect(Self.condition(server.respond([0, 0x61, 0, 0x62])) == .malformedRequest)
    }

    @Test func invalidUTF8InPlainIsMalformed() {
        var server = PLAINServer(credentials: StaticCredentialStore(["a": UserCredentials(password: "b")]))
        #expect(Self.condition(server.start(initialResponse: [0, 0xC0, 0xAF, 0, 0x62])) == .malformedRequest)
    }

    // MARK: - Mechanisms, base64, stored keys

    @Test func mechanismsByName() {
        let store = StaticCredentialStore([:])
        for name in SASLMechanisms.supported {
            #expect(SASLMechanisms.server(named: name, credentials: store)?.name == name)
        }
        #expect(SASLMechanisms.server(named: "DIGEST-MD5", credentials: store) == nil)
        #expect(SASLMechanisms.server(named: "plain", credentials: store) == nil)
    }

    @Test func base64FollowsRFC4648AndTheEmptyConvention() throws {
        #expect(SASLBase64.encode([]) == "=")
        #expect(SASLBase64.encodeText(Self.bytes("foobar")) == "Zm9vYmFy")
        #expect(SASLBase64.encodeText(Self.bytes("fooba")) == "Zm9vYmE=")
        #expect(SASLBase64.encodeText(Self.bytes("foob")) == "Zm9vYg==")
        #expect(SASLBase64.decode("Zm9vYg==") == Self.bytes("foob"))
        #expect(SASLBase64.decode("Zm9vYmE=") == Self.bytes("fooba"))
        #expect(SASLBase64.decode("") == [])
        for bad in ["Zm9vYg=", "Zm9v Yg==", "Zm9vYh==", "Zm9=Yg==", "Zm9vY===", "====", "Zm9v\nYg==", "Zm9vYg*="] {
            #expect(SASLBase64.decode(bad) == nil, "\(bad)")
        }
        #expect(try SASLBase64.decodeInitialResponse("") == nil)
        #expect(try SASLBase64.decodeInitialResponse("=") == [])
        #expect(try SASLBase64.decodeResponse("") == [])
        let failure = #expect(throws: SASLFailure.self) { try SASLBase64.decodeResponse("not base64!") }
        #expect(failure?.condition == .incorrectEncoding)
        let random = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for length in 0..<40 {
            #expect(SASLBase64.decode(SASLBase64.encodeText(random.prefix(length))) == Array(random.prefix(length)))
        }
    }

    @Test(arguments: SCRAMHash.allCases)
    func storedKeysRoundTripThroughTheirOneLineForm(hash: SCRAMHash) throws {
        let keys = SCRAMStoredKeys.derive(password: "pw", hash: hash)
        #expect(keys.salt.count == 16 && keys.iterations == 4096)
        #expect(keys.encoded.hasPrefix(hash.rawValue + "$i=4096$"))
        #expect(SCRAMStoredKeys(encoded: keys.encoded) == keys)
        #expect(keys.matches(password: "pw") && !keys.matches(password: "pW"))
        #expect(SCRAMStoredKeys.derive(password: "pw", hash: hash).salt != keys.salt)
    }

    @Test func theRFCVectorsKeysEncodeAsDocumented() {
        let keys = Self.vectors[1].keys
        #expect(keys.encoded.hasPrefix("SCRAM-SHA-256$i=4096$W22ZaJ0SNY7soEsUEjb6gQ==$"))
        #expect(keys.encoded.split(separator: "$").count == 5)
    }

    @Test(
        arguments: [
            "", "SCRAM-SHA-256", "SCRAM-SHA-512$i=4096$AA==$AA==$AA==",
            "SCRAM-SHA-1$i=0$QQ==$"
                + String(repeating: "A", count: 27) + "=$" + String(repeating: "A", count: 27) + "=",
            "SCRAM-SHA-1$4096$QQ==$AA==$AA==", "SCRAM-SHA-1$i=4096$QQ==$AA==$AA==", "SCRAM-SHA-1$i=x$QQ==$AA==$AA==",
        ]
    )
    func malformedStoredKeysAreRefused(encoded: String) {
        #expect(SCRAMStoredKeys(encoded: encoded) == nil)
    }

    @Test func failureElements() {
        #expect(
            SASLFailure(.notAuthorized).element.serialized()
                == "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
        )
        #expect(
            SASLFailure(.invalidAuthzid, text: "no").element.serialized()
                == "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-authzid/><text xml:lang='en'>no</text>"
                + "</failure>"
        )
    }
}

extension SASLStep {
    func isSuccess(username expected: String) -> Bool {
        if case .success(let username, _) = self { return username == expected }
        return false
    }
}
