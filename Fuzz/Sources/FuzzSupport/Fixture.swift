public import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// A fixed token world, the same on every run: keys from fixed seeds, tokens with fixed ids, proofs with a fixed
/// nonce, all at a fixed "now" (Ed25519 signatures are deterministic, so every byte is reproducible).
public enum Fixture {
    /// The time every harness verifies at: 2026-01-01T00:00:00Z.
    public static let now = Timestamp(secondsSinceEpoch: 1_767_225_600)
    /// A clock stopped at ``now``.
    public static let clock = FixedClock(now)

    /// The issuer's signing key.
    public static let issuerKey = key(seed: 1)
    /// The holder key of ``liveToken`` and ``expiredToken``.
    public static let holderKey = key(seed: 2)
    /// The holder key of ``delegatedToken``.
    public static let delegateKey = key(seed: 3)

    /// The agent classes the verifier knows.
    public static let classes = [
        try! AgentClass(
            name: "supervisor",
            defaultTTL: .seconds(600),
            maximumTTL: .seconds(3600),
            maximumDelegationDepth: 2,
            mayDelegate: true
        ),
        try! AgentClass(name: "worker", defaultTTL: .seconds(60), maximumTTL: .seconds(600)),
    ]

    /// The request every proof in the fixture is signed for.
    public static let request = TokenRequest(audience: "repo", action: "read", resource: "repo/writ/a")

    /// Valid from a minute before ``now`` to ten minutes after.
    public static let liveToken = mint(id: 1, issuedAt: now.advanced(by: .seconds(-60)), lifetime: .seconds(660))
    /// Expired an hour before ``now`` (a captured token replayed late); its chain still verifies.
    public static let expiredToken = mint(id: 2, issuedAt: now.advanced(by: .seconds(-7200)), lifetime: .seconds(3600))
    /// ``liveToken`` delegated to a worker holding ``delegateKey``, narrowed to reading for five minutes.
    public static let delegatedToken = try! liveToken.delegating(
        Attenuation(
            holder: delegateKey.publicKey,
            delegate: try! AgentIdentity("spiffe://fuzz.test/agent/worker/1"),
            delegateClass: "worker",
            actions: ["read"],
            expiresAt: now.advanced(by: .seconds(300)),
            caveats: [.maximumProofAge(seconds: 30)]
        ),
        holderKey: holderKey
    )

    /// Each fixture token with the key that signs its proofs.
    public static let tokens: [(token: CapabilityToken, holderKey: Ed25519.PrivateKey)] = [
        (liveToken, holderKey), (expiredToken, holderKey), (delegatedToken, delegateKey),
    ]

    /// A verifier trusting ``issuerKey`` and knowing ``classes``.
    public static let verifier = TokenVerifier(
        trustBundle: TrustBundle(trusting: issuerKey.publicKey),
        agentClasses: classes
    )

    /// The proof of possession of `token` for `request`, signed by `key` at ``now`` with a fixed nonce.
    public static func proof(
        for token: CapabilityToken,
        key: Ed25519.PrivateKey,
        request: TokenRequest = request
    ) -> ProofOfPossession {
        ProofOfPossession.sign(
            token: token,
            request: request,
            holderKey: key,
            at: now,
            nonce: ReplayNonce(high: 0x5eed, low: 0x5eed)
        )
    }

    /// The reported crash input: a binary proof (version 1, timestamp, nonce, signature; 89 bytes) whose
    /// timestamp is `Int64.min` (`0x8000000000000000`), with a zero nonce and signature.
    public static let int64MinProof: [UInt8] = [ProofOfPossession.version, 0x80] + [UInt8](repeating: 0, count: 7 + 80)

    private static func key(seed byte: UInt8) -> Ed25519.PrivateKey {
        // The seed is always 32 bytes.
        try! Ed25519.PrivateKey(seed: SecureBytes([UInt8](repeating: byte, count: Ed25519.seedByteCount)))
    }

    private static func mint(id: UInt64, issuedAt: Timestamp, lifetime: Duration) -> CapabilityToken {
        let claims = TokenClaims(
            tokenID: TokenID(high: 0xf022, low: id),
            subject: try! AgentIdentity("spiffe://fuzz.test/agent/supervisor/1"),
            holder: holderKey.publicKey,
            agentClass: "supervisor",
            audiences: ["repo", "tickets"],
            actions: ["read", "write", "merge"],
            resources: ["repo/writ/*", "repo/docs"],
            taskID: "task-1",
            step: 1,
            intent: "fix-bug",
            issuedAt: issuedAt,
            expiresAt: issuedAt.advanced(by: lifetime),
            caveats: [.maximumDelegationDepth(1), .maximumProofAge(seconds: 120)]
        )
        // Fixed, valid claims within the class's limits.
        return try! CapabilityToken.mint(claims, agentClass: classes[0], issuerKey: issuerKey)
    }
}

/// A clock that always reads the same time.
public struct FixedClock: WallClock {
    /// The time it reads.
    public let time: Timestamp

    /// Creates a clock stopped at `time`.
    public init(_ time: Timestamp) { self.time = time }

    public func now() -> Timestamp { time }
}
