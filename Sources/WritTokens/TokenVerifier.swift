public import WritCrypto
public import WritIdentity

/// Verifies capability tokens offline against a trust bundle and the known agent classes.
///
/// Verification is split so a gatekeeper can cache the expensive part:
/// 1. ``verifyChain(_:)`` — time-independent: issuer key known, every signature and the chain linkage,
///    narrowing of every block, known classes, lifetime and delegation-depth caps. Cache its result by
///    ``CapabilityToken/digest``.
/// 2. ``VerifiedToken/authorize(_:proof:at:options:replayCache:revocation:)`` — per request and cheap: key
///    window, time window, audience, action, resource, caveats, proof of possession, revocation, replay.
///
/// ``verify(_:request:proof:clock:replayCache:revocation:)`` does both.
public struct TokenVerifier: Sendable {
    /// The issuer keys trusted.
    public var trustBundle: TrustBundle
    /// The agent classes known, by name; a token naming another class is rejected.
    public var agentClasses: [String: AgentClass]
    /// Clock skew and proof freshness.
    public var options: VerificationOptions

    /// Creates a verifier.
    public init(
        trustBundle: TrustBundle,
        agentClasses: some Sequence<AgentClass>,
        options: VerificationOptions = .init()
    ) {
        self.trustBundle = trustBundle
        var byName: [String: AgentClass] = [:]
        for agentClass in agentClasses { byName[agentClass.name] = agentClass }
        self.agentClasses = byName
        self.options = options
    }

    /// Parses and verifies the chain of a token given in binary form. See ``verifyChain(_:)``.
    public func verifyChain(bytes: [UInt8]) throws(TokenError) -> VerifiedToken {
        try verifyChain(try CapabilityToken(bytes: bytes))
    }

    /// Parses and verifies the chain of a token given in text form. See ``verifyChain(_:)``.
    public func verifyChain(text: String) throws(TokenError) -> VerifiedToken {
        try verifyChain(try CapabilityToken(text: text))
    }

    /// Verifies everything about a token that does not depend on time or on a request.
    ///
    /// Checks, in order: the issuer key is in the bundle; block 0's signature; the root class is known and the
    /// lifetime (expiry − issued-at) is within its maximum TTL; for each delegation block, its signature by the
    /// previous holder over the previous signature (linkage), that its next holder is a new key, that it only
    /// narrows, that a named delegate class is known; and finally the delegation depth against the root class,
    /// every named delegate class and every depth caveat.
    ///
    /// - Throws: ``TokenError`` naming the failing block and check.
    public func verifyChain(_ token: CapabilityToken) throws(TokenError) -> VerifiedToken {
        let root = token.root
        guard let issuerKey = trustBundle.key(for: root.issuerKeyID) else {
            throw TokenError(.unknownIssuerKey, "issuer key \(root.issuerKeyID) is not in the trust bundle", block: 0)
        }
        var message: [UInt8] = []
        message.reserveCapacity(token.bytes.count + 128)
        token.signedMessage(block: 0, into: &message)
        guard issuerKey.publicKey.isValidSignature(root.signature, for: message) else {
            throw TokenError(
                .invalidSignature,
                "block 0 signature does not verify with issuer key \(root.issuerKeyID)",
                block: 0
            )
        }
        guard let agentClass = agentClasses[root.claims.agentClass] else {
            throw TokenError(.unknownAgentClass, "agent class '\(root.claims.agentClass)' is not known", block: 0)
        }
        guard root.claims.issuedAt.duration(to: root.claims.expiresAt) <= agentClass.maximumTTL else {
            throw TokenError(
                .lifetimeExceedsClass,
                "lifetime exceeds class '\(agentClass.name)' maximum \(agentClass.maximumTTL)",
                block: 0
            )
        }

        var scope = EffectiveScope(root: root.claims)
        var delegateClass: AgentClass?
        let depth = token.delegations.count
        // The tightest depth limit seen so far, as the total number of delegation blocks allowed.
        var depthLimit = agentClass.effectiveDelegationDepth
        // Where the tightest limit comes from, described only when it is exceeded.
        var depthLimitSource = DepthLimitSource.rootClass(agentClass.name)
        if depth > 0, !agentClass.mayDelegate {
            throw TokenError(.delegationNotAllowed, "class '\(agentClass.name)' may not delegate", block: 1)
        }
        if let limit = Caveat.delegationDepthLimit(root.claims.caveats), limit < depthLimit {
            depthLimit = limit
            depthLimitSource = .caveat(block: 0)
        }
        for (offset, block) in token.delegations.enumerated() {
            let index = offset + 1
            if index > depthLimit {
                throw TokenError(
                    .delegationTooDeep,
                    "delegation depth \(depth) exceeds \(depthLimit) allowed by \(depthLimitSource.description)",
                    block: index
                )
            }
            let signer = scope.holder
            token.signedMessage(block: index, into: &message)
            guard signer.isValidSignature(block.signature, for: message) else {
                throw TokenError(
                    .invalidSignature,
                    "block \(index) signature does not verify with holder key \(signer.keyID)",
                    block: index
                )
            }
            try scope.apply(block.attenuation, block: index)
            if let name = block.attenuation.delegateClass {
                guard let named = agentClasses[name] else {
                    throw TokenError(.unknownAgentClass, "delegate class '\(name)' is not known", block: index)
                }
                delegateClass = named
                let allowed = index + named.effectiveDelegationDepth
                if depth > index, !named.mayDelegate {
                    throw TokenError(
                        .delegationNotAllowed,
                        "delegate class '\(name)' may not delegate further",
                        block: index + 1
                    )
                }
                if allowed < depthLimit {
                    depthLimit = allowed
                    depthLimitSource = .delegateClass(name, block: index)
                }
            }
            if let limit = Caveat.delegationDepthLimit(block.attenuation.caveats), limit < depthLimit {
                depthLimit = limit
                depthLimitSource = .caveat(block: index)
            }
        }
        if depth > depthLimit {
            throw TokenError(
                .delegationTooDeep,
                "delegation depth \(depth) exceeds \(depthLimit) allowed by \(depthLimitSource.description)",
                block: depth
            )
        }
        return VerifiedToken(
            token: token,
            issuerKey: issuerKey,
            scope: scope,
            agentClass: agentClass,
            delegateClass: delegateClass
        )
    }

    /// Verifies a token's chain and authorises one request with it, reading the time from `clock` once.
    ///
    /// - Throws: ``TokenError`` naming the first check that failed.
    public func verify(
        _ token: CapabilityToken,
        request: TokenRequest,
        proof: ProofOfPossession,
        clock: some WallClock,
        replayCache: some ReplayCache,
        revocation: some RevocationChecker
    ) throws(TokenError) -> VerifiedToken {
        let verified = try verifyChain(token)
        try verified.authorize(
            request,
            proof: proof,
            at: clock.now(),
            options: options,
            replayCache: replayCache,
            revocation: revocation
        )
        return verified
    }
}

/// Which rule set the delegation-depth limit, for error messages.
private enum DepthLimitSource {
    case rootClass(String)
    case delegateClass(String, block: Int)
    case caveat(block: Int)

    var description: String {
        switch self {
        case .rootClass(let name): "class '\(name)'"
        case .delegateClass(let name, let block): "delegate class '\(name)' of block \(block)"
        case .caveat(let block): "a caveat of block \(block)"
        }
    }
}
