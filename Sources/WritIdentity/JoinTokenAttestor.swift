public import WritCrypto

/// A one-time, short-lived secret that lets one workload attest as a pre-registered identity (as SPIRE's join
/// tokens). Its text is `writjoin1_` + base64url of 32 random bytes; it prints as `<redacted>`.
public struct JoinToken: Sendable, CustomStringConvertible {
    /// The text form's prefix.
    public static let textPrefix = "writjoin1_"

    /// The 32 secret bytes.
    public let secret: SecureBytes
    /// When the token stops being accepted.
    public let expiresAt: Timestamp

    /// The text form to hand to the workload. Treat it as a secret.
    public var text: String { secret.withUnsafeBytes { JoinToken.textPrefix + Base64URL.encode($0) } }

    /// Parses the text form (the expiry is not carried in the text; the attestor knows it).
    ///
    /// - Throws: ``IdentityError/Code/malformed`` for anything that is not a join token's text.
    public init(text: String) throws(IdentityError) {
        let utf8 = text.utf8
        guard utf8.count < 100, utf8.starts(with: JoinToken.textPrefix.utf8),
            let raw = Base64URL.decode(
                String(decoding: utf8.dropFirst(JoinToken.textPrefix.utf8.count), as: UTF8.self)
            ),
            raw.count == 32
        else {
            throw IdentityError(.malformed, "not a join token")
        }
        secret = SecureBytes(raw)
        expiresAt = Timestamp(millisecondsSinceEpoch: .max)
    }

    init(secret: SecureBytes, expiresAt: Timestamp) {
        self.secret = secret
        self.expiresAt = expiresAt
    }

    /// Evidence for ``JoinTokenAttestor``, signed by the workload's key.
    public func evidence(signingKey: Ed25519.PrivateKey) -> AttestationEvidence {
        AttestationEvidence(kind: JoinTokenAttestor.evidenceKind, payload: secret, signingKey: signingKey)
    }

    public var description: String { "JoinToken(<redacted>, until \(expiresAt))" }
}

/// An attestor for tests and demos: it issues one-time join tokens for registered identities; a workload that
/// presents one (signed with its own key) before it expires is attested as that identity. A token is consumed
/// by its first presentation, whether or not that presentation succeeds.
///
/// Outstanding tokens live in a ``JoinTokenStore`` — by default in this process's memory; give it the
/// authority's store (every Writ `AuthorityStore` is a `JoinTokenStore`) and a token issued by one authority
/// replica is accepted by any other, once, and survives a restart. Only BLAKE2b digests of outstanding tokens
/// are stored, so the store does not hold usable tokens.
public final class JoinTokenAttestor: Attestor {
    /// The evidence kind, `join_token`.
    public static let evidenceKind = "join_token"

    private let clock: any WallClock
    private let store: any JoinTokenStore
    /// The longest lifetime a join token may have.
    public let maximumTTL: Duration

    /// Creates an attestor reading time from `clock`, with tokens living at most `maximumTTL` (default 10 min),
    /// kept in `store` (default: in memory).
    public init(
        clock: any WallClock,
        maximumTTL: Duration = .seconds(600),
        store: any JoinTokenStore = InMemoryJoinTokenStore()
    ) {
        self.clock = clock
        self.maximumTTL = maximumTTL
        self.store = store
    }

    public var evidenceKind: String { JoinTokenAttestor.evidenceKind }

    /// Issues a one-time join token for `identity`, valid for `ttl` (capped at ``maximumTTL``).
    ///
    /// - Throws: whatever the store throws when it cannot keep the token.
    public func issueJoinToken(
        for identity: AgentIdentity,
        agentClass: String? = nil,
        supervisor: AgentIdentity? = nil,
        ttl: Duration = .seconds(300)
    ) async throws -> JoinToken {
        let secret = SecureBytes.random(count: 32)
        let expiresAt = clock.now().advanced(by: min(ttl, maximumTTL))
        try await store.insertJoinToken(
            JoinTokenRecord(
                digest: JoinTokenAttestor.digest(secret),
                identity: identity,
                agentClass: agentClass,
                supervisor: supervisor,
                expiresAt: expiresAt
            )
        )
        return JoinToken(secret: secret, expiresAt: expiresAt)
    }

    /// The number of tokens issued and not yet presented (expired ones included until presented or pruned).
    public var outstandingCount: Int {
        get async throws { try await store.outstandingJoinTokens().count }
    }

    /// Forgets every token expired at the clock's current time.
    public func pruneExpired() async throws {
        try await store.pruneJoinTokens(expiredAt: clock.now())
    }

    public func attest(_ evidence: AttestationEvidence) async throws(IdentityError) -> AttestedWorkload {
        guard evidence.kind == JoinTokenAttestor.evidenceKind else {
            throw IdentityError(
                .attestationFailed,
                "evidence kind '\(evidence.kind)' is not '\(JoinTokenAttestor.evidenceKind)'"
            )
        }
        guard evidence.isSignedByPresenter else {
            throw IdentityError(
                .attestationFailed,
                "evidence is not signed by the presented key \(evidence.publicKey.keyID)"
            )
        }
        // Consume first: a token is good for exactly one presentation.
        let consumed: JoinTokenRecord?
        do {
            consumed = try await store.consumeJoinToken(digest: JoinTokenAttestor.digest(evidence.payload))
        } catch {
            throw IdentityError(.attestationFailed, "the join token store failed: \(error)")
        }
        guard let registration = consumed else {
            throw IdentityError(.attestationFailed, "join token is unknown or already used")
        }
        guard clock.now() < registration.expiresAt else {
            throw IdentityError(.expired, "join token expired at \(registration.expiresAt)")
        }
        return AttestedWorkload(
            identity: registration.identity,
            agentClass: registration.agentClass,
            supervisor: registration.supervisor,
            publicKey: evidence.publicKey
        )
    }

    /// Lowercase hex of the BLAKE2b-256 digest of a token's secret: the key its record is stored under.
    private static func digest(_ secret: SecureBytes) -> String {
        Hex.encode(secret.withUnsafeBytes { BLAKE2b.hash(buffer: $0, outputByteCount: 32) })
    }
}
