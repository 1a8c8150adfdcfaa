import Testing
import WritCrypto
import WritIdentity
import WritTesting

@testable import WritTokens

/// Parses and verifies the chain; returns the error or nil when the token is accepted.
func chainError(_ bytes: [UInt8], _ verifier: TokenVerifier) -> TokenError? {
    do {
        _ = try verifier.verifyChain(try CapabilityToken(bytes: bytes))
        return nil
    } catch {
        return error
    }
}

@Suite("Tampering")
struct TamperingTests {
    @Test("every single-bit flip of a two-block token is rejected (exhaustive)")
    func everyBitFlip() throws {
        let f = Fixture()
        let token = try f.twoBlock()
        let verifier = f.verifier
        #expect(chainError(token.bytes, verifier) == nil)
        var accepted: [(Int, Int)] = []
        var codes: Set<TokenError.Code> = []
        for index in token.bytes.indices {
            for bit in 0..<8 {
                var bytes = token.bytes
                bytes[index] ^= 1 << bit
                if let error = chainError(bytes, verifier) {
                    codes.insert(error.code)
                } else {
                    accepted.append((index, bit))
                }
            }
        }
        #expect(accepted.isEmpty, "accepted flips: \(accepted)")
        #expect(codes.contains(.invalidSignature))
        #expect(codes.contains(.unsupportedVersion))
        #expect(codes.contains(.malformed))
        #expect(token.bytes.count * 8 > 3000)
    }

    @Test("every truncation is rejected; cutting at a block boundary leaves a token the sub-agent cannot prove")
    func truncation() throws {
        let f = Fixture()
        let token = try f.twoBlock()
        let boundary = token.spans[0].end
        for length in 0..<token.bytes.count {
            let prefix = Array(token.bytes.prefix(length))
            if length == boundary {
                // The shorter token is the delegator's own token: valid, but held by the delegator's key.
                let verified = try f.verifier.verifyChain(bytes: prefix)
                let proof = f.proof(try CapabilityToken(bytes: prefix), key: f.subAgent)
                #expect(throws: TokenError(.proofInvalid, "")) {
                    try verified.authorize(
                        f.request,
                        proof: proof,
                        at: f.now,
                        replayCache: InMemoryReplayCache(),
                        revocation: NoRevocationChecker()
                    )
                }
            } else {
                #expect(chainError(prefix, f.verifier) != nil, "prefix of \(length) bytes accepted")
            }
        }
    }

    @Test(
        "appended bytes are rejected",
        arguments: [[0x00], [0x01], [0x02], [0xff], Array(repeating: 0, count: 64), Array(repeating: 0x01, count: 200)]
            as [[UInt8]]
    )
    func appended(suffix: [UInt8]) throws {
        let f = Fixture()
        let token = try f.twoBlock()
        #expect(chainError(token.bytes + suffix, f.verifier) != nil)
    }

    @Test("blocks cannot be reordered, dropped from the middle or spliced from another token")
    func splicing() throws {
        let f = Fixture()
        let third = Ed25519.PrivateKey()
        let token = try f.twoBlock().delegating(
            Attenuation(holder: third.publicKey, actions: ["read"]),
            holderKey: f.subAgent
        )
        let s = token.spans
        let b0 = Array(token.bytes[0..<s[0].end])
        let b1 = Array(token.bytes[s[1].start..<s[1].end])
        let b2 = Array(token.bytes[s[2].start..<s[2].end])
        #expect(chainError(b0 + b2 + b1, f.verifier)?.code == .invalidSignature)
        #expect(chainError(b0 + b2, f.verifier)?.code == .invalidSignature)
        // The same delegation, made on another token, does not fit this one.
        let other = try f.mint().delegating(
            Attenuation(holder: f.subAgent.publicKey, actions: ["read"]),
            holderKey: f.agent
        )
        let foreign = Array(other.bytes[other.spans[1].start..<other.spans[1].end])
        #expect(chainError(b0 + foreign, f.verifier)?.code == .invalidSignature)
    }
}

@Suite("Narrowing")
struct NarrowingTests {
    static let wideningCases: [(String, @Sendable (Fixture) -> Attenuation)] = [
        ("audience", { Attenuation(holder: $0.subAgent.publicKey, audiences: ["evil.example"]) }),
        (
            "extra audience",
            { Attenuation(holder: $0.subAgent.publicKey, audiences: ["api.acme.dev", "evil.example"]) }
        ),
        ("action", { Attenuation(holder: $0.subAgent.publicKey, actions: ["delete"]) }),
        ("resource outside", { Attenuation(holder: $0.subAgent.publicKey, resources: ["secrets/*"]) }),
        ("resource broader prefix", { Attenuation(holder: $0.subAgent.publicKey, resources: ["doc*"]) }),
        ("resource wildcard", { Attenuation(holder: $0.subAgent.publicKey, resources: ["*"]) }),
        ("exact resource to prefix", { Attenuation(holder: $0.subAgent.publicKey, resources: ["reports/q3.pdf*"]) }),
        (
            "later expiry",
            { Attenuation(holder: $0.subAgent.publicKey, expiresAt: $0.now.advanced(by: .seconds(3600))) }
        ),
        (
            "earlier not-before",
            { f in
                Attenuation(holder: f.subAgent.publicKey, notBefore: f.now)
            }
        ),
    ]

    @Test("a validly signed block that widens anything is rejected", arguments: 0..<wideningCases.count)
    func widening(index: Int) throws {
        let (name, make) = Self.wideningCases[index]
        let f = Fixture()
        // A root that starts 10 s after issue, so an earlier not-before is expressible.
        var claims = f.claims()
        claims.notBefore = f.now.advanced(by: .seconds(10))
        let token = try CapabilityToken.mint(claims, agentClass: f.researcher, issuerKey: f.issuer)
        let attenuation = make(f)
        let bytes = Craft.delegate(token, attenuation, key: f.agent)
        let error = chainError(bytes, f.verifier)
        #expect(error?.code == .wideningAttempt, "\(name): \(String(describing: error))")
        #expect(error?.blockIndex == 1)
        // The honest API refuses to make such a block in the first place.
        #expect(throws: TokenError(.wideningAttempt, "")) { try token.delegating(attenuation, holderKey: f.agent) }
    }

    @Test("a widening block after a narrowing block is rejected at its own index")
    func wideningAfterNarrowing() throws {
        let f = Fixture()
        let third = Ed25519.PrivateKey()
        let token = try f.mint().delegating(
            Attenuation(holder: f.subAgent.publicKey, actions: ["read"]),
            holderKey: f.agent
        )
        // "write" was allowed by block 0 but removed by block 1.
        let bytes = Craft.delegate(
            token,
            Attenuation(holder: third.publicKey, actions: ["read", "write"]),
            key: f.subAgent
        )
        let error = chainError(bytes, f.verifier)
        #expect(error?.code == .wideningAttempt)
        #expect(error?.blockIndex == 2)
    }

    @Test("narrowing in every dimension is accepted and yields the effective claims")
    func narrowing() throws {
        let f = Fixture()
        let expiry = f.now.advanced(by: .seconds(120))
        let token = try f.mint().delegating(
            Attenuation(
                holder: f.subAgent.publicKey,
                delegate: f.delegate,
                delegateClass: "helper",
                audiences: ["api.acme.dev"],
                actions: ["read", "list"],
                resources: ["docs/a/*", "docs/b", "reports/q3.pdf"],
                notBefore: f.now.advanced(by: .seconds(5)),
                expiresAt: expiry,
                caveats: [.maximumProofAge(seconds: 10)]
            ),
            holderKey: f.agent
        )
        let v = try f.verifier.verifyChain(bytes: token.bytes)
        #expect(v.audiences == ["api.acme.dev"])
        #expect(v.actions == ["read", "list"])
        #expect(v.resources == ["docs/a/*", "docs/b", "reports/q3.pdf"])
        #expect(v.expiresAt == expiry)
        #expect(v.notBefore == f.now.advanced(by: .seconds(5)))
        #expect(v.delegateClass == f.helper)
        #expect(v.caveats == [.maximumProofAge(seconds: 10)])
        #expect(v.subject == f.subject)
        #expect(v.taskID == "task-42")
        #expect(v.step == 3)
        #expect(v.intent == "summarise Q3 reports")
        #expect(v.revocationIDs == token.revocationIDs)
        #expect(v.digest == token.digest)
    }

    @Test("resource pattern coverage and matching")
    func patterns() throws {
        let prefix: ResourcePattern = "docs/*"
        #expect(prefix.matches("docs/a"))
        #expect(prefix.matches("docs/"))
        #expect(!prefix.matches("docs"))
        #expect(!prefix.matches("doc/a"))
        #expect(prefix.covers("docs/a/*"))
        #expect(prefix.covers("docs/*"))
        #expect(prefix.covers("docs/x"))
        #expect(!prefix.covers("doc*"))
        #expect(!prefix.covers("*"))
        let exact: ResourcePattern = "docs/a"
        #expect(exact.matches("docs/a"))
        #expect(!exact.matches("docs/ab"))
        #expect(exact.covers("docs/a"))
        #expect(!exact.covers("docs/a*"))
        #expect(ResourcePattern("*").matches("anything"))
        for bad in ["", "a*b", "**", "a b", "é", String(repeating: "a", count: 1025)] {
            #expect(throws: TokenError(.invalidClaims, "")) { try ResourcePattern(bad) }
        }
    }
}

@Suite("Holders and delegation depth")
struct DelegationRuleTests {
    @Test("a sub-agent without its own key is rejected (hand-crafted and through the API)")
    func holderReuse() throws {
        let f = Fixture()
        let token = try f.mint()
        let same = Attenuation(holder: f.agent.publicKey, actions: ["read"])
        #expect(chainError(Craft.delegate(token, same, key: f.agent), f.verifier)?.code == .holderKeyReused)
        #expect(throws: TokenError(.holderKeyReused, "")) { try token.delegating(same, holderKey: f.agent) }
        // Handing back to an earlier holder is rejected too.
        let two = try token.delegating(Attenuation(holder: f.subAgent.publicKey), holderKey: f.agent)
        let back = Attenuation(holder: f.agent.publicKey)
        #expect(chainError(Craft.delegate(two, back, key: f.subAgent), f.verifier)?.code == .holderKeyReused)
    }

    @Test("only the current holder can delegate")
    func wrongHolderDelegates() throws {
        let f = Fixture()
        let token = try f.mint()
        #expect(throws: TokenError(.wrongHolder, "")) {
            try token.delegating(Attenuation(holder: f.subAgent.publicKey), holderKey: f.subAgent)
        }
        // A block signed by someone else than the holder does not verify.
        let bytes = Craft.delegate(token, Attenuation(holder: Ed25519.PrivateKey().publicKey), key: f.subAgent)
        #expect(chainError(bytes, f.verifier)?.code == .invalidSignature)
    }

    func chain(_ f: Fixture, depth: Int, rootClass: AgentClass, caveat: Caveat? = nil) throws -> CapabilityToken {
        var claims = f.claims(caveats: caveat.map { [$0] } ?? [])
        claims.agentClass = rootClass.name
        var token = try CapabilityToken.mint(claims, agentClass: rootClass, issuerKey: f.issuer)
        var key = f.agent
        for _ in 0..<depth {
            let next = Ed25519.PrivateKey()
            token = try token.delegating(Attenuation(holder: next.publicKey), holderKey: key)
            key = next
        }
        return token
    }

    @Test("delegation depth is capped by the root class")
    func depthCap() throws {
        let f = Fixture()
        #expect(chainError(try chain(f, depth: 3, rootClass: f.researcher).bytes, f.verifier) == nil)
        let error = chainError(try chain(f, depth: 4, rootClass: f.researcher).bytes, f.verifier)
        #expect(error?.code == .delegationTooDeep)
        #expect(error?.blockIndex == 4)
    }

    @Test("a class that may not delegate cannot be delegated")
    func mayNotDelegate() throws {
        let f = Fixture()
        let verifier = TokenVerifier(trustBundle: f.bundle, agentClasses: [f.researcher, f.helper])
        #expect(chainError(try chain(f, depth: 0, rootClass: f.helper).bytes, verifier) == nil)
        #expect(chainError(try chain(f, depth: 1, rootClass: f.helper).bytes, verifier)?.code == .delegationNotAllowed)
    }

    @Test("a delegate class that may not delegate stops the chain; depth caveats cap it")
    func delegateClassAndCaveat() throws {
        let f = Fixture()
        let token = try f.twoBlock()  // names delegate class "helper", which may not delegate
        let further = try token.delegating(Attenuation(holder: Ed25519.PrivateKey().publicKey), holderKey: f.subAgent)
        #expect(chainError(further.bytes, f.verifier)?.code == .delegationNotAllowed)
        let capped = try chain(f, depth: 2, rootClass: f.researcher, caveat: .maximumDelegationDepth(1))
        #expect(chainError(capped.bytes, f.verifier)?.code == .delegationTooDeep)
        let fine = try chain(f, depth: 1, rootClass: f.researcher, caveat: .maximumDelegationDepth(1))
        #expect(chainError(fine.bytes, f.verifier) == nil)
    }

    @Test("unknown root or delegate classes are rejected; lifetimes beyond the class cap are rejected")
    func classes() throws {
        let f = Fixture()
        let onlyHelper = TokenVerifier(trustBundle: f.bundle, agentClasses: [f.helper])
        #expect(chainError(try f.mint().bytes, onlyHelper)?.code == .unknownAgentClass)
        let onlyResearcher = TokenVerifier(trustBundle: f.bundle, agentClasses: [f.researcher])
        let unknownDelegate = chainError(try f.twoBlock().bytes, onlyResearcher)
        #expect(unknownDelegate?.code == .unknownAgentClass)
        #expect(unknownDelegate?.blockIndex == 1)
        // A verifier whose class allows only 60 s rejects a 300 s token.
        let strict = try AgentClass(
            name: "researcher",
            defaultTTL: .seconds(30),
            maximumTTL: .seconds(60),
            maximumDelegationDepth: 3,
            mayDelegate: true
        )
        let strictVerifier = TokenVerifier(trustBundle: f.bundle, agentClasses: [strict, f.helper])
        #expect(chainError(try f.mint().bytes, strictVerifier)?.code == .lifetimeExceedsClass)
        #expect(throws: TokenError(.lifetimeExceedsClass, "")) { try f.mint(ttl: .seconds(901)) }
    }
}
