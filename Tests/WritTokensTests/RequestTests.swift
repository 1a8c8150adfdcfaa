import Testing
import WritCrypto
import WritIdentity
import WritTesting

@testable import WritTokens

/// Verifies the chain and authorises `request` with `proof` at the fixture's clock; returns the error, if any.
func authorizeError(
    _ f: Fixture,
    _ token: CapabilityToken,
    request: TokenRequest? = nil,
    proof: ProofOfPossession? = nil,
    verifier: TokenVerifier? = nil,
    cache: InMemoryReplayCache = InMemoryReplayCache(),
    revocation: any RevocationChecker = NoRevocationChecker()
) -> TokenError? {
    do {
        let request = request ?? f.request
        let verified = try (verifier ?? f.verifier).verifyChain(token)
        try verified.authorize(
            request,
            proof: proof ?? f.proof(token, key: f.agent, request: request),
            at: f.now,
            replayCache: cache,
            revocation: revocation
        )
        return nil
    } catch {
        return error
    }
}

@Suite("Per-request checks")
struct RequestTests {
    @Test("a fresh proof by the holder for the request is accepted")
    func accepted() throws {
        let f = Fixture()
        #expect(authorizeError(f, try f.mint()) == nil)
    }

    @Test("a proof by another key than the holder's is rejected")
    func wrongHolder() throws {
        let f = Fixture()
        let token = try f.mint()
        #expect(authorizeError(f, token, proof: f.proof(token, key: f.subAgent))?.code == .proofInvalid)
        // In a delegated token the delegator's key no longer proves possession.
        let two = try f.twoBlock()
        #expect(authorizeError(f, two, proof: f.proof(two, key: f.agent))?.code == .proofInvalid)
        #expect(authorizeError(f, two, proof: f.proof(two, key: f.subAgent)) == nil)
    }

    @Test("a proof for another request, token or time is rejected")
    func proofBinding() throws {
        let f = Fixture()
        let token = try f.mint()
        let other = TokenRequest(audience: "api.acme.dev", action: "read", resource: "docs/other")
        #expect(
            authorizeError(f, token, request: f.request, proof: f.proof(token, request: other))?.code == .proofInvalid
        )
        let otherToken = try f.mint()
        #expect(authorizeError(f, token, proof: f.proof(otherToken))?.code == .proofInvalid)
        let proof = f.proof(token)
        let shifted = try ProofOfPossession(
            timestamp: proof.timestamp.advanced(by: .seconds(1)),
            nonce: proof.nonce,
            signature: proof.signature
        )
        #expect(authorizeError(f, token, proof: shifted)?.code == .proofInvalid)
        let renonced = try ProofOfPossession(timestamp: proof.timestamp, nonce: .random(), signature: proof.signature)
        #expect(authorizeError(f, token, proof: renonced)?.code == .proofInvalid)
    }

    @Test("a replayed nonce is rejected")
    func replay() throws {
        let f = Fixture()
        let token = try f.mint()
        let cache = InMemoryReplayCache()
        let proof = f.proof(token)
        #expect(authorizeError(f, token, proof: proof, cache: cache) == nil)
        #expect(authorizeError(f, token, proof: proof, cache: cache)?.code == .replayedNonce)
        #expect(authorizeError(f, token, proof: f.proof(token), cache: cache) == nil)
    }

    @Test("stale and future-dated proofs are rejected; skew is tolerated")
    func freshness() throws {
        let f = Fixture()
        let token = try f.mint()
        // Default: 60 s freshness + 30 s skew.
        #expect(authorizeError(f, token, proof: f.proof(token, at: f.now.advanced(by: .seconds(-90)))) == nil)
        #expect(
            authorizeError(f, token, proof: f.proof(token, at: f.now.advanced(by: .seconds(-91))))?.code == .proofStale
        )
        #expect(authorizeError(f, token, proof: f.proof(token, at: f.now.advanced(by: .seconds(30)))) == nil)
        #expect(
            authorizeError(f, token, proof: f.proof(token, at: f.now.advanced(by: .seconds(31))))?.code == .proofStale
        )
        // A proof-age caveat tightens the window.
        let tight = try f.mint(caveats: [.maximumProofAge(seconds: 5)])
        #expect(
            authorizeError(f, tight, proof: f.proof(tight, at: f.now.advanced(by: .seconds(-36))))?.code == .proofStale
        )
        #expect(authorizeError(f, tight, proof: f.proof(tight, at: f.now.advanced(by: .seconds(-35)))) == nil)
    }

    /// The security report's crash input: a captured (even expired) token plus 89 bytes whose timestamp lies in
    /// `[Int64.min, Int64.min + 86_399_998]` ms trapped the verifier before the signature was checked.
    @Test("a proof dated near Int64.min is refused by its signature, without trapping", arguments: [0, 1, 86_399_998])
    func extremeProofTime(offset: Int64) throws {
        let f = Fixture()
        let token = try f.mint(ttl: .seconds(60))
        f.clock.advance(by: .seconds(3600))  // the captured token has long expired: chain checks still pass
        let time = Timestamp(millisecondsSinceEpoch: .min + offset)
        var bytes: [UInt8] = [ProofOfPossession.version]
        ProofOfPossession.appendBigEndian(UInt64(bitPattern: time.millisecondsSinceEpoch), to: &bytes)
        bytes += [UInt8](repeating: 0xAB, count: ReplayNonce.byteCount + Ed25519.signatureByteCount)
        let crafted = try ProofOfPossession(bytes: bytes)
        let verified = try f.verifier.verifyChain(token)
        #expect(throws: TokenError(.proofInvalid, "")) {
            try verified.checkProof(crafted, for: f.request, at: f.now)
        }
        #expect(authorizeError(f, token, proof: crafted)?.code == .expired)
        // Validly signed by the holder at that time: stale, with a message that prints the time.
        let signed = f.proof(token, at: time)
        #expect(throws: TokenError(.proofStale, "")) { try verified.checkProof(signed, for: f.request, at: f.now) }
    }

    @Test("the proof's signature is checked before anything it claims: a forged stale proof is invalid, not stale")
    func signatureBeforeClaims() throws {
        let f = Fixture()
        let token = try f.mint()
        let verified = try f.verifier.verifyChain(token)
        for at in [f.now.advanced(by: .seconds(-3600)), f.now.advanced(by: .seconds(3600))] {
            let forged = f.proof(token, key: f.subAgent, at: at)
            #expect(throws: TokenError(.proofInvalid, "")) {
                try verified.checkProof(forged, for: f.request, at: f.now)
            }
            let genuine = f.proof(token, at: at)
            #expect(throws: TokenError(.proofStale, "")) { try verified.checkProof(genuine, for: f.request, at: f.now) }
        }
    }

    @Test("the issuer may be any Signer (a KMS or HSM); one that fails or returns junk mints nothing")
    func issuerSigner() throws {
        let f = Fixture()
        let remote = ScriptedSigner(key: f.issuer)
        let token = try CapabilityToken.mint(f.claims(), agentClass: f.researcher, issuerKey: remote)
        #expect(remote.calls == 1)
        #expect(authorizeError(f, token) == nil, "a token signed through the protocol verifies like any other")
        remote.setMode(.fail)
        #expect(throws: TokenError(.signingFailed, "")) {
            try CapabilityToken.mint(f.claims(), agentClass: f.researcher, issuerKey: remote)
        }
        remote.setMode(.short)
        #expect(throws: TokenError(.signingFailed, "")) {
            try CapabilityToken.mint(f.claims(), agentClass: f.researcher, issuerKey: remote)
        }
    }

    @Test("expired and not-yet-valid tokens are rejected, within the clock skew")
    func timeWindow() throws {
        let f = Fixture()
        let token = try f.mint(ttl: .seconds(300))
        f.clock.advance(by: .seconds(329))
        #expect(authorizeError(f, token) == nil)
        f.clock.advance(by: .seconds(1))
        #expect(authorizeError(f, token)?.code == .expired)

        let g = Fixture()
        var claims = g.claims()
        claims.notBefore = g.now.advanced(by: .seconds(100))
        let later = try CapabilityToken.mint(claims, agentClass: g.researcher, issuerKey: g.issuer)
        #expect(authorizeError(g, later)?.code == .notYetValid)
        g.clock.advance(by: .seconds(70))
        #expect(authorizeError(g, later) == nil)

        let h = Fixture()
        var future = h.claims()
        future.issuedAt = h.now.advanced(by: .seconds(60))
        future.notBefore = future.issuedAt
        future.expiresAt = h.now.advanced(by: .seconds(300))
        let fromFuture = try CapabilityToken.mint(future, agentClass: h.researcher, issuerKey: h.issuer)
        #expect(authorizeError(h, fromFuture)?.code == .issuedInFuture)
    }

    @Test("a delegated earlier expiry is enforced")
    func delegatedExpiry() throws {
        let f = Fixture()
        let token = try f.mint().delegating(
            Attenuation(holder: f.subAgent.publicKey, expiresAt: f.now.advanced(by: .seconds(60))),
            holderKey: f.agent
        )
        f.clock.advance(by: .seconds(95))
        #expect(authorizeError(f, token, proof: f.proof(token, key: f.subAgent))?.code == .expired)
    }

    @Test("audience, action and resource must be allowed by every block")
    func scope() throws {
        let f = Fixture()
        let token = try f.mint()
        let cases: [(TokenRequest, TokenError.Code?)] = [
            (TokenRequest(audience: "files.acme.dev", action: "write", resource: "reports/q3.pdf"), nil),
            (TokenRequest(audience: "evil.example", action: "read", resource: "docs/a"), .audienceNotAllowed),
            (TokenRequest(audience: "api.acme.dev", action: "delete", resource: "docs/a"), .actionNotAllowed),
            (TokenRequest(audience: "api.acme.dev", action: "read", resource: "secrets/a"), .resourceNotAllowed),
            (
                TokenRequest(audience: "api.acme.dev", action: "read", resource: "reports/q3.pdf.bak"),
                .resourceNotAllowed
            ),
            (TokenRequest(audience: "api.acme.dev", action: "Read", resource: "docs/a"), .actionNotAllowed),
        ]
        for (request, code) in cases {
            #expect(authorizeError(f, token, request: request)?.code == code, "\(request)")
        }
        let two = try f.twoBlock()  // read on docs/public/* only
        let write = TokenRequest(audience: "api.acme.dev", action: "write", resource: "docs/public/a")
        #expect(
            authorizeError(f, two, request: write, proof: f.proof(two, key: f.subAgent, request: write))?.code
                == .actionNotAllowed
        )
        let outside = TokenRequest(audience: "api.acme.dev", action: "read", resource: "docs/private/a")
        #expect(
            authorizeError(f, two, request: outside, proof: f.proof(two, key: f.subAgent, request: outside))?.code
                == .resourceNotAllowed
        )
    }

    @Test("request-attribute caveats must be satisfied")
    func attributeCaveat() throws {
        let f = Fixture()
        let token = try f.mint(caveats: [.requestAttribute(name: "method", value: "GET")])
        var request = f.request
        #expect(authorizeError(f, token, request: request)?.code == .caveatFailed)
        request.attributes = ["method": "POST"]
        #expect(authorizeError(f, token, request: request)?.code == .caveatFailed)
        request.attributes = ["method": "GET"]
        #expect(authorizeError(f, token, request: request) == nil)
        // A caveat added by a delegation is reported with its block.
        let delegated = try token.delegating(
            Attenuation(holder: f.subAgent.publicKey, caveats: [.requestAttribute(name: "env", value: "prod")]),
            holderKey: f.agent
        )
        let error = authorizeError(
            f,
            delegated,
            request: request,
            proof: f.proof(delegated, key: f.subAgent, request: request)
        )
        #expect(error?.code == .caveatFailed)
        #expect(error?.blockIndex == 1)
    }

    @Test("unknown issuer keys and rotated-out keys are rejected; keys rotate with overlap")
    func issuerKeys() throws {
        let f = Fixture()
        let token = try f.mint()
        let stranger = TokenVerifier(
            trustBundle: TrustBundle(trusting: Ed25519.PrivateKey().publicKey),
            agentClasses: [f.researcher]
        )
        let unknown = authorizeError(f, token, verifier: stranger)
        #expect(unknown?.code == .unknownIssuerKey)
        #expect(unknown?.context.contains(f.issuer.publicKey.keyID.description) == true)

        // Rotation: the old key stops issuing at T; tokens it issued before T stay valid until they expire.
        let newIssuer = Ed25519.PrivateKey()
        let rotation = f.now.advanced(by: .seconds(10))
        let bundle = TrustBundle([TrustedKey(f.issuer.publicKey), TrustedKey(newIssuer.publicKey, validFrom: f.now)])
            .rotatingOut(f.issuer.publicKey.keyID, at: rotation)
        let rotated = TokenVerifier(trustBundle: bundle, agentClasses: [f.researcher])
        #expect(authorizeError(f, token, verifier: rotated) == nil)
        f.clock.advance(by: .seconds(20))
        #expect(authorizeError(f, token, proof: f.proof(token), verifier: rotated) == nil)
        let late = try f.mint()
        #expect(authorizeError(f, late, verifier: rotated)?.code == .issuerKeyNotValid)
        var claims = f.claims()
        claims.holder = f.agent.publicKey
        let fresh = try CapabilityToken.mint(claims, agentClass: f.researcher, issuerKey: newIssuer)
        #expect(authorizeError(f, fresh, verifier: rotated) == nil)
        // A key whose window has not opened yet does not issue either.
        let early = TokenVerifier(
            trustBundle: TrustBundle([TrustedKey(f.issuer.publicKey, validFrom: f.now.advanced(by: .seconds(60)))]),
            agentClasses: [f.researcher]
        )
        #expect(authorizeError(f, late, verifier: early)?.code == .issuerKeyNotValid)
    }

    @Test("the revocation checker sees every revocation id and fails closed when unavailable")
    func revocation() throws {
        let f = Fixture()
        let token = try f.twoBlock()
        let proof = { f.proof(token, key: f.subAgent) }
        let target = token.delegations[0].revocationID
        let revokesBlock1 = ClosureRevocationChecker { facts in
            facts.revocationIDs.contains(target) ? .revoked(reason: "block \(target) revoked") : .notRevoked
        }
        #expect(authorizeError(f, token, proof: proof(), revocation: revokesBlock1)?.code == .revoked)
        let byTask = ClosureRevocationChecker {
            $0.taskID == "task-42" ? .revoked(reason: "task completed") : .notRevoked
        }
        #expect(authorizeError(f, token, proof: proof(), revocation: byTask)?.code == .revoked)
        let byDelegate = ClosureRevocationChecker { facts in
            facts.delegates.contains { $0.path.hasPrefix("/agent/helper") }
                ? .revoked(reason: "agent revoked") : .notRevoked
        }
        #expect(authorizeError(f, token, proof: proof(), revocation: byDelegate)?.code == .revoked)
        let stale = ClosureRevocationChecker { _ in .unavailable(reason: "feed is 90 s behind") }
        #expect(authorizeError(f, token, proof: proof(), revocation: stale)?.code == .revocationUnavailable)
        let facts = try f.verifier.verifyChain(token).revocationFacts
        #expect(facts.revocationIDs == token.revocationIDs)
        #expect(facts.subject == f.subject)
        #expect(facts.delegates == [f.delegate])
        #expect(facts.issuerKeyID == f.issuer.publicKey.keyID)
        #expect(facts.tokenID == token.id)
    }

    @Test("a rejected request does not burn its nonce; a revoked one does not either")
    func nonceOrdering() throws {
        let f = Fixture()
        let token = try f.mint()
        let cache = InMemoryReplayCache()
        let proof = f.proof(token)
        let stale = ClosureRevocationChecker { _ in .unavailable(reason: "stale") }
        #expect(authorizeError(f, token, proof: proof, cache: cache, revocation: stale)?.code == .revocationUnavailable)
        #expect(cache.count == 0)
        #expect(authorizeError(f, token, proof: proof, cache: cache) == nil)
        #expect(cache.count == 1)
    }

    @Test("errors name the failing key and block, never token or key bytes")
    func errorHygiene() throws {
        let f = Fixture()
        let token = try f.twoBlock()
        let seedHex = f.agent.seed.withUnsafeBytes { Hex.encode($0) }
        let text = token.text
        var errors: [TokenError] = []
        for index in stride(from: 0, to: token.bytes.count, by: 7) {
            var bytes = token.bytes
            bytes[index] ^= 0x40
            if let e = chainError(bytes, f.verifier) { errors.append(e) }
        }
        if let e = authorizeError(f, token, proof: f.proof(token, key: f.agent)) { errors.append(e) }
        #expect(errors.count > 10)
        for e in errors {
            let printed = "\(e) \(String(reflecting: e))"
            #expect(!printed.contains(seedHex))
            #expect(!printed.contains(String(text.dropFirst(6).prefix(24))))
            #expect(!printed.contains(Hex.encode(token.root.signature)))
        }
    }
}

@Suite("Replay cache")
struct ReplayCacheTests {
    @Test("records nonces until they expire")
    func expiry() {
        let cache = InMemoryReplayCache(capacity: 10)
        let t0 = Timestamp(secondsSinceEpoch: 1000)
        let n = ReplayNonce.random()
        #expect(cache.insertIfAbsent(n, expiresAt: t0.advanced(by: .seconds(60)), now: t0) == .inserted)
        #expect(
            cache.insertIfAbsent(n, expiresAt: t0.advanced(by: .seconds(60)), now: t0.advanced(by: .seconds(59)))
                == .replayed
        )
        #expect(
            cache.insertIfAbsent(n, expiresAt: t0.advanced(by: .seconds(120)), now: t0.advanced(by: .seconds(60)))
                == .inserted
        )
    }

    @Test("when full of unexpired nonces it refuses new ones (fail closed), and prunes expired ones")
    func bounded() {
        let cache = InMemoryReplayCache(capacity: 3)
        let t0 = Timestamp(secondsSinceEpoch: 1000)
        for i in 0..<3 {
            #expect(
                cache.insertIfAbsent(
                    ReplayNonce(high: 0, low: UInt64(i)),
                    expiresAt: t0.advanced(by: .seconds(10 + Int64(i))),
                    now: t0
                ) == .inserted
            )
        }
        #expect(
            cache.insertIfAbsent(ReplayNonce(high: 1, low: 0), expiresAt: t0.advanced(by: .seconds(60)), now: t0)
                == .full
        )
        // A known nonce is still reported as a replay, not as "full".
        #expect(
            cache.insertIfAbsent(ReplayNonce(high: 0, low: 0), expiresAt: t0.advanced(by: .seconds(60)), now: t0)
                == .replayed
        )
        // After the first expires there is room again.
        let later = t0.advanced(by: .seconds(10))
        #expect(
            cache.insertIfAbsent(ReplayNonce(high: 1, low: 0), expiresAt: later.advanced(by: .seconds(60)), now: later)
                == .inserted
        )
        #expect(cache.count == 3)
        cache.prune(now: t0.advanced(by: .seconds(100)))
        #expect(cache.count == 0)
    }

    @Test("a full cache makes authorisation fail closed")
    func fullCacheRefuses() throws {
        let f = Fixture()
        let token = try f.mint()
        let cache = InMemoryReplayCache(capacity: 1)
        #expect(authorizeError(f, token, cache: cache) == nil)
        #expect(authorizeError(f, token, cache: cache)?.code == .replayCacheFull)
    }

    @Test("concurrent inserts of one nonce admit exactly one")
    func concurrent() async {
        let cache = InMemoryReplayCache()
        let nonce = ReplayNonce.random()
        let now = Timestamp(secondsSinceEpoch: 1000)
        let results = await withTaskGroup(of: ReplayCacheResult.self) { group in
            for _ in 0..<64 {
                group.addTask { cache.insertIfAbsent(nonce, expiresAt: now.advanced(by: .seconds(60)), now: now) }
            }
            var all: [ReplayCacheResult] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.filter { $0 == .inserted }.count == 1)
        #expect(results.filter { $0 == .replayed }.count == 63)
    }
}
