import Testing
import WritIdentity

@Suite("AgentIdentity (SPIFFE ID)")
struct AgentIdentityTests {
    @Test(
        "valid IDs parse and print back unchanged",
        arguments: [
            "spiffe://acme.dev/agent/researcher/7",
            "spiffe://acme.dev",
            "spiffe://a/b",
            "spiffe://trust_domain-1.example/Path.With-Mixed_Case/0",
            "spiffe://acme.dev/..a/.b/a..",
        ]
    )
    func valid(text: String) throws {
        let id = try AgentIdentity(text)
        #expect(id.description == text)
        #expect(try AgentIdentity(wireForm: id.wireForm) == id)
    }

    @Test(
        "invalid IDs are rejected with the rule they break",
        arguments: [
            ("", IdentityError.Code.invalidScheme),
            ("http://acme.dev/a", .invalidScheme),
            ("SPIFFE://acme.dev/a", .invalidScheme),
            ("spiffe:/acme.dev/a", .invalidScheme),
            ("spiffe://", .emptyTrustDomain),
            ("spiffe:///a", .emptyTrustDomain),
            ("spiffe://Acme.dev/a", .invalidTrustDomainCharacter),
            ("spiffe://acme.dev:443/a", .invalidTrustDomainCharacter),
            ("spiffe://user@acme.dev/a", .invalidTrustDomainCharacter),
            ("spiffe://acme dev/a", .invalidTrustDomainCharacter),
            ("spiffe://acme.dev/a/", .emptyPathSegment),
            ("spiffe://acme.dev/", .emptyPathSegment),
            ("spiffe://acme.dev//a", .emptyPathSegment),
            ("spiffe://acme.dev/a/./b", .dotPathSegment),
            ("spiffe://acme.dev/a/..", .dotPathSegment),
            ("spiffe://acme.dev/a%20b", .invalidPathCharacter),
            ("spiffe://acme.dev/a?x=1", .invalidPathCharacter),
            ("spiffe://acme.dev/a#f", .invalidPathCharacter),
            ("spiffe://acme.dev/é", .invalidPathCharacter),
        ]
    )
    func invalid(text: String, code: IdentityError.Code) {
        #expect(throws: IdentityError(code, "")) { try AgentIdentity(text) }
    }

    @Test("length limits: trust domain 255 bytes, whole ID 2048 bytes")
    func lengths() throws {
        let domain255 = String(repeating: "a", count: 255)
        #expect(throws: Never.self) { try AgentIdentity("spiffe://\(domain255)/x") }
        #expect(throws: IdentityError(.trustDomainTooLong, "")) { try AgentIdentity("spiffe://\(domain255)a/x") }
        let path = "/" + String(repeating: "p", count: 2048 - 9 - 2 - 1)
        #expect(throws: Never.self) { try AgentIdentity("spiffe://ab\(path)") }
        #expect(throws: IdentityError(.identityTooLong, "")) { try AgentIdentity("spiffe://ab\(path)p") }
    }
}
