import Foundation
import Testing
import WritCrypto
import WritIdentity
import WritTesting

@Suite("Agent classes and trust bundles")
struct ClassAndBundleTests {
    @Test("agent classes validate their limits")
    func agentClass() throws {
        let c = try AgentClass(
            name: "researcher",
            defaultTTL: .seconds(60),
            maximumTTL: .seconds(300),
            maximumDelegationDepth: 2,
            mayDelegate: true,
            refreshLimit: 3
        )
        #expect(c.effectiveDelegationDepth == 2)
        let decoded = try JSONDecoder().decode(AgentClass.self, from: JSONEncoder().encode(c))
        #expect(decoded == c)
        #expect(
            try AgentClass(name: "x", defaultTTL: .seconds(1), maximumTTL: .seconds(1), maximumDelegationDepth: 5)
                .effectiveDelegationDepth == 0
        )
        let bad: [() throws -> AgentClass] = [
            { try AgentClass(name: "", defaultTTL: .seconds(1), maximumTTL: .seconds(1)) },
            { try AgentClass(name: "Upper", defaultTTL: .seconds(1), maximumTTL: .seconds(1)) },
            {
                try AgentClass(
                    name: String(repeating: "a", count: 65),
                    defaultTTL: .seconds(1),
                    maximumTTL: .seconds(1)
                )
            },
            { try AgentClass(name: "a", defaultTTL: .seconds(10), maximumTTL: .seconds(5)) },
            { try AgentClass(name: "a", defaultTTL: .zero, maximumTTL: .seconds(5)) },
            { try AgentClass(name: "a", defaultTTL: .seconds(1), maximumTTL: .seconds(5), refreshLimit: -1) },
        ]
        for make in bad { #expect(throws: IdentityError(.invalidAgentClass, "")) { try make() } }
    }

    @Test("trust bundles find keys by id and rotate with overlap")
    func bundle() {
        let a = Ed25519.PrivateKey().publicKey
        let b = Ed25519.PrivateKey().publicKey
        let t = Timestamp(secondsSinceEpoch: 1_000_000)
        let bundle = TrustBundle(trusting: a).adding(TrustedKey(b, validFrom: t))
        #expect(bundle.key(for: a.keyID)?.publicKey == a)
        #expect(bundle.key(for: b.keyID)?.accepts(issuedAt: t.advanced(by: .seconds(-1))) == false)
        #expect(bundle.key(for: b.keyID)?.accepts(issuedAt: t) == true)
        let rotated = bundle.rotatingOut(a.keyID, at: t.advanced(by: .seconds(60)))
        #expect(rotated.key(for: a.keyID)?.accepts(issuedAt: t.advanced(by: .seconds(59))) == true)
        #expect(rotated.key(for: a.keyID)?.accepts(issuedAt: t.advanced(by: .seconds(60))) == false)
        #expect(rotated.removing(a.keyID).key(for: a.keyID) == nil)
        #expect(rotated.count == 2)
    }
}

@Suite("Identity documents")
struct IdentityDocumentTests {
    let issuer = Ed25519.PrivateKey()
    let agentKey = Ed25519.PrivateKey()
    let clock = ManualClock()
    let identity = try! AgentIdentity("spiffe://acme.dev/agent/helper/1")
    let supervisor = try! AgentIdentity("spiffe://acme.dev/agent/researcher/7")

    func issue(by key: Ed25519.PrivateKey? = nil, ttl: Duration = .seconds(3600)) throws -> IdentityDocument {
        try IdentityDocument.issue(
            identity: identity,
            publicKey: agentKey.publicKey,
            agentClass: "helper",
            supervisor: supervisor,
            issuedAt: clock.now(),
            expiresAt: clock.now().advanced(by: ttl),
            issuerKey: key ?? issuer
        )
    }

    @Test("a document round-trips and verifies")
    func roundTrip() throws {
        let doc = try issue()
        let parsed = try IdentityDocument(text: doc.text)
        #expect(parsed == doc)
        #expect(parsed.identity == identity)
        #expect(parsed.supervisor == supervisor)
        #expect(parsed.agentClass == "helper")
        #expect(parsed.publicKey == agentKey.publicKey)
        try parsed.verify(trustBundle: TrustBundle(trusting: issuer.publicKey), at: clock.now())
        let bare = try IdentityDocument.issue(
            identity: identity,
            publicKey: agentKey.publicKey,
            issuedAt: clock.now(),
            expiresAt: clock.now().advanced(by: .seconds(60)),
            issuerKey: issuer
        )
        #expect(try IdentityDocument(bytes: bare.bytes).supervisor == nil)
    }

    @Test("every single-bit flip of a document is rejected")
    func bitFlips() throws {
        let doc = try issue()
        let bundle = TrustBundle(trusting: issuer.publicKey)
        for index in doc.bytes.indices {
            for bit in 0..<8 {
                var bytes = doc.bytes
                bytes[index] ^= 1 << bit
                #expect(throws: IdentityError.self) {
                    try IdentityDocument(bytes: bytes).verify(trustBundle: bundle, at: clock.now())
                }
            }
        }
        #expect(throws: IdentityError(.malformed, "")) { try IdentityDocument(bytes: doc.bytes + [0]) }
        #expect(throws: IdentityError(.malformed, "")) { try IdentityDocument(bytes: Array(doc.bytes.dropLast())) }
    }

    @Test("unknown or rotated-out issuers, expiry and future issue are rejected")
    func rejections() throws {
        let doc = try issue()
        let bundle = TrustBundle(trusting: issuer.publicKey)
        #expect(throws: IdentityError(.unknownIssuerKey, "")) {
            try doc.verify(trustBundle: TrustBundle(trusting: Ed25519.PrivateKey().publicKey), at: clock.now())
        }
        let rotated = bundle.rotatingOut(issuer.publicKey.keyID, at: clock.now())
        #expect(throws: IdentityError(.issuerKeyNotValid, "")) { try doc.verify(trustBundle: rotated, at: clock.now()) }
        #expect(throws: IdentityError(.expired, "")) {
            try doc.verify(trustBundle: bundle, at: clock.now().advanced(by: .seconds(3630)))
        }
        #expect(throws: IdentityError(.notYetValid, "")) {
            try doc.verify(trustBundle: bundle, at: clock.now().advanced(by: .seconds(-31)))
        }
        // A document signed by an untrusted key that claims a trusted key id does not verify.
        let forger = Ed25519.PrivateKey()
        var forged = try issue(by: forger).bytes
        let idOffset = 1 + 1 + identity.wireForm.count + 32
        forged.replaceSubrange(idOffset..<idOffset + 8, with: issuer.publicKey.keyID.bytes)
        #expect(throws: IdentityError(.invalidSignature, "")) {
            try IdentityDocument(bytes: forged).verify(trustBundle: bundle, at: clock.now())
        }
    }
}

@Suite("Join-token attestor")
struct JoinTokenAttestorTests {
    let identity = try! AgentIdentity("spiffe://acme.dev/agent/researcher/7")

    @Test("a join token attests its workload once")
    func oneTime() async throws {
        let clock = ManualClock()
        let attestor = JoinTokenAttestor(clock: clock)
        let token = try await attestor.issueJoinToken(for: identity, agentClass: "researcher")
        let key = Ed25519.PrivateKey()
        let parsed = try JoinToken(text: token.text)
        let workload = try await attestor.attest(parsed.evidence(signingKey: key))
        #expect(workload.identity == identity)
        #expect(workload.agentClass == "researcher")
        #expect(workload.publicKey == key.publicKey)
        await #expect(throws: IdentityError(.attestationFailed, "")) {
            try await attestor.attest(token.evidence(signingKey: key))
        }
        #expect(try await attestor.outstandingCount == 0)
    }

    @Test("expired, unknown, unsigned or other-kind evidence is rejected")
    func rejections() async throws {
        let clock = ManualClock()
        let attestor = JoinTokenAttestor(clock: clock, maximumTTL: .seconds(60))
        let key = Ed25519.PrivateKey()
        let token = try await attestor.issueJoinToken(for: identity, ttl: .seconds(3600))  // capped at 60 s
        clock.advance(by: .seconds(60))
        await #expect(throws: IdentityError(.expired, "")) {
            try await attestor.attest(token.evidence(signingKey: key))
        }
        let unknown = try JoinToken(text: JoinToken.textPrefix + Base64URL.encode([UInt8](repeating: 7, count: 32)))
        await #expect(throws: IdentityError(.attestationFailed, "")) {
            try await attestor.attest(unknown.evidence(signingKey: key))
        }
        let fresh = try await attestor.issueJoinToken(for: identity)
        let good = fresh.evidence(signingKey: key)
        let stolen = AttestationEvidence(
            kind: good.kind,
            payload: good.payload,
            publicKey: Ed25519.PrivateKey().publicKey,
            signature: good.signature
        )
        await #expect(throws: IdentityError(.attestationFailed, "")) { try await attestor.attest(stolen) }
        let otherKind = AttestationEvidence(kind: "k8s_psat", payload: good.payload, signingKey: key)
        await #expect(throws: IdentityError(.attestationFailed, "")) { try await attestor.attest(otherKind) }
        #expect(throws: IdentityError(.malformed, "")) { try JoinToken(text: "writjoin1_abc") }
    }

    @Test("join tokens and evidence never print their secret")
    func redaction() async throws {
        let attestor = JoinTokenAttestor(clock: ManualClock())
        let token = try await attestor.issueJoinToken(for: identity)
        let secretText = String(token.text.dropFirst(JoinToken.textPrefix.count))
        let evidence = token.evidence(signingKey: Ed25519.PrivateKey())
        for printed in ["\(token)", String(reflecting: token), "\(evidence)", String(reflecting: evidence)] {
            #expect(!printed.contains(secretText))
        }
    }
}
