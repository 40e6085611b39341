import Testing
import XMPP

@Suite("JID")
struct JIDTests {
    @Test(
        arguments: [
            ("usera@rayo.localhost/fixture", "usera", "rayo.localhost", "fixture"),
            ("rayo.localhost", nil, "rayo.localhost", nil),
            (
                "9bce73ea-2bfe-4d52-930e-80fb03a60f5d@rayo.localhost", "9bce73ea-2bfe-4d52-930e-80fb03a60f5d",
                "rayo.localhost", nil
            ),
            ("call@rayo.localhost/output-1", "call", "rayo.localhost", "output-1"),
            ("domain.example/resource with space", nil, "domain.example", "resource with space"),
            ("a@b/c/d@e", "a", "b", "c/d@e"),
            ("a@b/c@d", "a", "b", "c@d"),
            ("juliet@example.com.", "juliet", "example.com", nil),
            ("[::1]", nil, "[::1]", nil),
            ("user@192.0.2.1", "user", "192.0.2.1", nil),
            ("élise@exämple.org/Ré", "élise", "exämple.org", "Ré"),
        ] as [(String, String?, String, String?)]
    )
    func validForms(text: String, local: String?, domain: String, resource: String?) throws {
        let jid = try #require(JID(text))
        #expect(jid.localpart == local)
        #expect(jid.domainpart == domain)
        #expect(jid.resourcepart == resource)
    }

    @Test(
        arguments: [
            "", "@domain", "user@", "user@domain/", "/resource", "a@b@c", "us er@domain", "us\"er@domain",
            "us&er@domain", "us'er@domain", "us:er@domain", "us<er@domain", "us>er@domain", "dom ain", "dom..ain",
            ".domain", "[::1", "[zz::1]", "user@domain/\u{0}", "user@domain/a\u{7}b",
            String(repeating: "a", count: 1024) + "@domain", "user@" + String(repeating: "a", count: 64) + ".com",
            "user@domain/" + String(repeating: "r", count: 1024),
        ]
    )
    func invalidForms(text: String) {
        #expect(JID(text) == nil)
    }

    @Test func localAndDomainPartsAreCaseInsensitiveButResourcesAreNot() throws {
        let jid = try #require(JID("UserA@Rayo.LocalHost/Fixture"))
        #expect(jid.description == "usera@rayo.localhost/Fixture")
        #expect(jid == JID("usera@rayo.localhost/Fixture"))
        #expect(jid != JID("usera@rayo.localhost/fixture"))
        #expect(jid.bare == JID("USERA@rayo.localhost"))
        #expect(jid.bare.isBare && !jid.isBare)
    }

    @Test func buildingFromParts() throws {
        #expect(JID(localpart: "a", domainpart: "B.example", resourcepart: "r")?.description == "a@b.example/r")
        #expect(JID(localpart: "a@b", domainpart: "example") == nil)
        #expect(JID(localpart: nil, domainpart: "example")?.description == "example")
        let bare = try #require(JID("a@example"))
        #expect(bare.with(resource: "x")?.description == "a@example/x")
        #expect(bare.with(resource: "") == nil)
    }

    @Test func partsOfExactly1023BytesAreAllowed() {
        #expect(JID(String(repeating: "a", count: 1023) + "@domain") != nil)
        #expect(JID("user@domain/" + String(repeating: "r", count: 1023)) != nil)
    }
}
