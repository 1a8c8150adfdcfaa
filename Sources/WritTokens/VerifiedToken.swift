public import WritCrypto
public import WritIdentity

/// A token whose chain has been verified: signatures, linkage, narrowing, classes and depth. It exposes the
/// *effective* claims (what the whole chain allows) and checks requests against them cheaply.
///
/// A `VerifiedToken` depends on the token's bytes, the trust bundle and the known classes, not on time, so a
/// gatekeeper may cache it keyed by ``digest`` (for as long as the bundle and classes are unchanged). Every
/// time-dependent check happens in ``authorize(_:proof:at:options:replayCache:revocation:)``.
public struct VerifiedToken: Sendable, Hashable {
    /// The token's id.
    public let tokenID: TokenID
    /// The id of the issuer key that signed block 0.
    public let issuerKeyID: KeyID
    /// The issuer key as trusted when the chain was verified (its validity window is checked per request).
    public let issuerKey: TrustedKey
    /// The agent the token was issued to.
    public let subject: AgentIdentity
    /// The key that must sign proofs of possession (the last block's holder).
    public let holder: Ed25519.PublicKey
    /// The delegates named by delegation blocks, in order.
    public let delegates: [AgentIdentity]
    /// The root block's agent class.
    public let agentClass: AgentClass
    /// The class of the last delegate whose class a block named, if any.
    public let delegateClass: AgentClass?
    /// The task the token was issued for, if any.
    public let taskID: String?
    /// The task step, if any.
    public let step: UInt64?
    /// The declared intent, if any.
    public let intent: String?
    /// The audiences the whole chain allows.
    public let audiences: [String]
    /// The actions the whole chain allows.
    public let actions: [String]
    /// The resource patterns the whole chain allows.
    public let resources: [ResourcePattern]
    /// When block 0 was issued.
    public let issuedAt: Timestamp
    /// The latest not-before of all blocks.
    public let notBefore: Timestamp
    /// The earliest expiry of all blocks.
    public let expiresAt: Timestamp
    /// The number of delegation blocks.
    public let delegationDepth: Int
    /// Every block's revocation id, block 0 first.
    public let revocationIDs: [RevocationID]
    /// The caveats of all blocks, in order.
    public let caveats: [Caveat]
    /// The block each entry of ``caveats`` comes from.
    let caveatBlocks: [Int]
    /// BLAKE2b-256 of the token's bytes.
    public let digest: TokenDigest
    /// What a revocation checker is asked about this token.
    public let revocationFacts: RevocationFacts

    init(
        token: CapabilityToken,
        issuerKey: TrustedKey,
        scope: EffectiveScope,
        agentClass: AgentClass,
        delegateClass: AgentClass?
    ) {
        let c = token.root.claims
        tokenID = c.tokenID
        issuerKeyID = token.root.issuerKeyID
        self.issuerKey = issuerKey
        subject = c.subject
        holder = scope.holder
        delegates = token.delegations.compactMap(\.attenuation.delegate)
        self.agentClass = agentClass
        self.delegateClass = delegateClass
        taskID = c.taskID
        step = c.step
        intent = c.intent
        audiences = scope.audiences
        actions = scope.actions
        resources = scope.resources
        issuedAt = c.issuedAt
        notBefore = scope.notBefore
        expiresAt = scope.expiresAt
        delegationDepth = token.delegations.count
        revocationIDs = token.revocationIDs
        var all = c.caveats
        var origins = [Int](repeating: 0, count: c.caveats.count)
        for (i, d) in token.delegations.enumerated() {
            all.append(contentsOf: d.attenuation.caveats)
            origins.append(contentsOf: repeatElement(i + 1, count: d.attenuation.caveats.count))
        }
        caveats = all
        caveatBlocks = origins
        digest = token.digest
        revocationFacts = RevocationFacts(
            tokenID: tokenID,
            revocationIDs: revocationIDs,
            taskID: taskID,
            subject: subject,
            delegates: delegates,
            issuerKeyID: issuerKeyID
        )
    }

    /// Checks everything about a request except the proof of possession, replay and revocation: the issuer
    /// key's window, the time window with skew, audience, action, resource and request-attribute caveats.
    ///
    /// A service must not accept a request on this check alone; use
    /// ``authorize(_:proof:at:options:replayCache:revocation:)``.
    ///
    /// - Throws: ``TokenError`` naming the first check that failed.
    public func checkRequest(
        _ request: TokenRequest,
        at now: Timestamp,
        options: VerificationOptions = .init()
    ) throws(TokenError) {
        guard issuerKey.accepts(issuedAt: issuedAt) else {
            throw TokenError(
                .issuerKeyNotValid,
                "issuer key \(issuerKeyID) was not valid at the token's issue time \(issuedAt)",
                block: 0
            )
        }
        let skew = options.clockSkew
        guard issuedAt <= now.advanced(by: skew) else {
            throw TokenError(.issuedInFuture, "issued at \(issuedAt), after now \(now) + skew", block: 0)
        }
        guard notBefore <= now.advanced(by: skew) else {
            throw TokenError(.notYetValid, "not valid before \(notBefore)")
        }
        guard now < expiresAt.advanced(by: skew) else {
            throw TokenError(.expired, "expired at \(expiresAt)")
        }
        guard audiences.contains(request.audience) else {
            throw TokenError(.audienceNotAllowed, "audience '\(request.audience)' is not allowed")
        }
        guard actions.contains(request.action) else {
            throw TokenError(.actionNotAllowed, "action '\(request.action)' is not allowed")
        }
        guard resources.contains(where: { $0.matches(request.resource) }) else {
            throw TokenError(.resourceNotAllowed, "resource '\(request.resource)' matches no allowed pattern")
        }
        for (index, caveat) in caveats.enumerated() where !caveat.admits(request) {
            throw TokenError(.caveatFailed, "caveat \(caveat) is not satisfied", block: caveatBlocks[index])
        }
    }

    /// Authorises one request: ``checkRequest(_:at:options:)``, then the proof of possession (signature by
    /// ``holder``, freshness, proof-age caveats), then revocation (failing closed when the checker is
    /// unavailable), and last the replay cache (so only validly signed nonces are recorded).
    ///
    /// - Parameters:
    ///   - request: The request the token is presented for.
    ///   - proof: The presenter's proof of possession for this token and request.
    ///   - now: The verifier's current time (read from its clock once per request).
    ///   - options: Clock skew and proof freshness.
    ///   - replayCache: Where proof nonces are recorded.
    ///   - revocation: Answers whether anything about the token is revoked.
    /// - Throws: ``TokenError`` naming the first check that failed.
    public func authorize(
        _ request: TokenRequest,
        proof: ProofOfPossession,
        at now: Timestamp,
        options: VerificationOptions = .init(),
        replayCache: some ReplayCache,
        revocation: some RevocationChecker
    ) throws(TokenError) {
        try checkRequest(request, at: now, options: options)
        try checkProof(proof, for: request, at: now, options: options)
        switch revocation.revocationStatus(revocationFacts) {
        case .notRevoked: break
        case .revoked(let reason): throw TokenError(.revoked, "token \(tokenID) is revoked: \(reason)")
        case .unavailable(let reason):
            throw TokenError(.revocationUnavailable, "revocation status unavailable: \(reason)")
        }
        // Remember the nonce until one millisecond past the last instant the proof is still accepted
        // (`checkProof` accepts up to and including timestamp + freshness + skew).
        let expiry = proof.timestamp.advanced(by: options.proofFreshness).advanced(by: options.clockSkew)
            .advanced(by: .milliseconds(1))
        switch replayCache.insertIfAbsent(proof.nonce, expiresAt: max(expiry, now), now: now) {
        case .inserted: break
        case .replayed: throw TokenError(.replayedNonce, "proof nonce \(proof.nonce) was already used")
        case .full: throw TokenError(.replayCacheFull, "the replay cache is full; request refused")
        }
    }

    /// Checks the proof's signature by the holder key, then its freshness (and proof-age caveats).
    ///
    /// - Throws: ``TokenError/Code/proofStale`` or ``TokenError/Code/proofInvalid``.
    public func checkProof(
        _ proof: ProofOfPossession,
        for request: TokenRequest,
        at now: Timestamp,
        options: VerificationOptions = .init()
    ) throws(TokenError) {
        // The signature first: nothing the proof claims (its time, its nonce) is looked at before it is known to
        // come from the holder, so an unsigned proof costs one verify and reveals nothing.
        guard proof.isValid(tokenDigest: digest, request: request, holder: holder) else {
            throw TokenError(
                .proofInvalid,
                "proof is not signed by holder key \(holder.keyID) for this token and request"
            )
        }
        let skew = options.clockSkew
        guard proof.timestamp <= now.advanced(by: skew) else {
            throw TokenError(.proofStale, "proof is dated \(proof.timestamp), in the future beyond the clock skew")
        }
        let freshness = Caveat.proofFreshness(caveats, within: options.proofFreshness)
        guard proof.timestamp.advanced(by: freshness).advanced(by: skew) >= now else {
            throw TokenError(.proofStale, "proof dated \(proof.timestamp) is older than \(freshness) + skew")
        }
    }
}
