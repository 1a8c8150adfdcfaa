public import WritCrypto
public import WritIdentity

/// A capability token: the issuer's block 0 followed by up to 15 delegation blocks, each signed over the
/// previous block's signature.
///
/// Parsing (``init(bytes:)``, ``init(text:)``) checks the format only; signatures, narrowing and classes are
/// checked by ``TokenVerifier/verifyChain(_:)``. A token prints as its id and block count, never its bytes.
public struct CapabilityToken: Hashable, Sendable, CustomStringConvertible {
    /// The exact binary form; signatures and the digest cover these bytes.
    public let bytes: [UInt8]
    /// Block 0, signed by the issuer.
    public let root: RootBlock
    /// The delegation blocks, in order.
    public let delegations: [DelegationBlock]
    /// BLAKE2b-256 of ``bytes``, computed on each access (≈ 0.5 µs for a typical token): keep the value when
    /// you need it more than once.
    public var digest: TokenDigest { TokenDigest.of(bytes) }
    let spans: [BlockSpan]

    /// Parses the binary form (format checks only, no signature checks).
    ///
    /// - Throws: ``TokenError`` with a format code (``TokenError/Code/malformed``,
    ///   ``TokenError/Code/unsupportedVersion``, ``TokenError/Code/unknownBlockKind``, …).
    public init(bytes: [UInt8]) throws(TokenError) {
        let parsed = try TokenCodec.parse(bytes)
        self.bytes = bytes
        root = parsed.root
        delegations = parsed.delegations
        spans = parsed.spans
    }

    /// Parses the text form, `writ1_` followed by canonical base64url of the binary form.
    ///
    /// - Throws: ``TokenError/Code/invalidText`` for a wrong prefix or encoding, else as ``init(bytes:)``.
    public init(text: String) throws(TokenError) {
        let utf8 = text.utf8
        guard utf8.count <= TokenFormat.maximumTextLength else {
            throw TokenError(.tooLarge, "token text is longer than the cap")
        }
        guard utf8.starts(with: TokenFormat.textPrefix.utf8) else {
            throw TokenError(.invalidText, "token text must start with '\(TokenFormat.textPrefix)'")
        }
        var text = text
        let prefix = TokenFormat.textPrefix.utf8.count
        guard let raw = text.withUTF8({ Base64URL.decode(utf8: UnsafeBufferPointer(rebasing: $0[prefix...])) }) else {
            throw TokenError(.invalidText, "token text is not canonical base64url")
        }
        try self.init(bytes: raw)
    }

    init(bytes: [UInt8], root: RootBlock, delegations: [DelegationBlock], spans: [BlockSpan]) {
        self.bytes = bytes
        self.root = root
        self.delegations = delegations
        self.spans = spans
    }

    /// The text form: `writ1_` followed by base64url. Treat it as a secret.
    public var text: String { TokenFormat.textPrefix + Base64URL.encode(bytes) }

    /// The token's id.
    public var id: TokenID { root.claims.tokenID }

    /// The number of blocks (1 + delegations).
    public var blockCount: Int { 1 + delegations.count }

    /// The key that must sign proofs of possession: the last block's holder.
    public var holder: Ed25519.PublicKey { delegations.last?.attenuation.holder ?? root.claims.holder }

    /// Every block's revocation id, block 0 first.
    public var revocationIDs: [RevocationID] {
        var ids = [root.revocationID]
        ids.reserveCapacity(blockCount)
        for d in delegations { ids.append(d.revocationID) }
        return ids
    }

    public var description: String { "CapabilityToken(id: \(id), blocks: \(blockCount), \(bytes.count) bytes)" }

    public static func == (lhs: CapabilityToken, rhs: CapabilityToken) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    // MARK: Minting

    /// Mints a token: encodes `claims` as block 0 and signs it with the issuer's key.
    ///
    /// Times are rounded to whole seconds: issued-at and expiry down, not-before up (unless it equals
    /// issued-at, in which case it stays equal to it).
    ///
    /// - Parameters:
    ///   - claims: What the token grants.
    ///   - agentClass: The subject's class; its name must equal `claims.agentClass` and its maximum TTL caps
    ///     the lifetime (expiry − issued-at).
    ///   - issuerKey: The issuer's signer (the key itself, or a KMS or HSM holding it); its key id is written
    ///     into the block.
    /// - Throws: ``TokenError/Code/invalidClaims`` for values the format cannot carry,
    ///   ``TokenError/Code/lifetimeExceedsClass`` when the lifetime is longer than the class allows,
    ///   ``TokenError/Code/signingFailed`` when the signer fails or returns something that is not a signature.
    public static func mint(
        _ claims: TokenClaims,
        agentClass: AgentClass,
        issuerKey: some Signer
    ) throws(TokenError) -> CapabilityToken {
        var c = claims
        c.issuedAt = Timestamp(secondsSinceEpoch: claims.issuedAt.secondsSinceEpoch)
        // A token valid from its issue time keeps not-before = issued-at after rounding.
        c.notBefore = claims.notBefore == claims.issuedAt ? c.issuedAt : roundUpToSecond(claims.notBefore)
        c.expiresAt = Timestamp(secondsSinceEpoch: claims.expiresAt.secondsSinceEpoch)
        try validate(c, agentClass: agentClass)

        // One buffer: the domain tag, the block, then the signature; the tag is dropped in place afterwards.
        let tag = TokenFormat.rootTag
        var writer = WireWriter(capacity: 320)
        writer.fixed(tag)
        writer.byte(TokenFormat.version)
        TokenCodec.encodeRoot(c, issuerKeyID: issuerKey.publicKey.keyID, into: &writer)
        let signature: [UInt8]
        do {
            signature = try issuerKey.signature(for: writer.bytes)
        } catch {
            throw TokenError(.signingFailed, "the issuer's signer failed: \(error)")
        }
        // A wrong signature from a remote signer makes a token every verifier refuses (fail closed); its length is
        // checked here so the format stays intact.
        guard signature.count == Ed25519.signatureByteCount else {
            throw TokenError(.signingFailed, "the issuer's signer returned \(signature.count) bytes, not a signature")
        }
        writer.fixed(signature)
        writer.bytes.removeFirst(tag.count)
        let signatureStart = writer.bytes.count - Ed25519.signatureByteCount
        guard writer.bytes.count <= TokenLimits.maximumTokenBytes else {
            throw TokenError(
                .tooLarge,
                "the token would be \(writer.bytes.count) bytes, the cap is \(TokenLimits.maximumTokenBytes)"
            )
        }
        let root = RootBlock(
            claims: c,
            issuerKeyID: issuerKey.publicKey.keyID,
            signature: signature
        )
        return CapabilityToken(
            bytes: writer.bytes,
            root: root,
            delegations: [],
            spans: [BlockSpan(start: 1, signatureStart: signatureStart)]
        )
    }

    private static func validate(_ c: TokenClaims, agentClass: AgentClass) throws(TokenError) {
        guard c.agentClass == agentClass.name else {
            throw TokenError(
                .invalidClaims,
                "claims name class '\(c.agentClass)' but class '\(agentClass.name)' was given"
            )
        }
        let issued = c.issuedAt.secondsSinceEpoch
        guard issued >= 0, UInt64(issued) <= TokenLimits.maximumSeconds else {
            throw TokenError(.invalidClaims, "issued-at is out of range")
        }
        guard c.notBefore >= c.issuedAt, c.notBefore.secondsSinceEpoch - issued <= Int64(UInt32.max) else {
            throw TokenError(.invalidClaims, "not-before must lie between issued-at and issued-at + 2^32 s")
        }
        guard c.expiresAt > c.notBefore,
            c.expiresAt.secondsSinceEpoch - c.notBefore.secondsSinceEpoch <= Int64(UInt32.max)
        else {
            throw TokenError(.invalidClaims, "expiry must be after not-before (in whole seconds)")
        }
        guard c.issuedAt.duration(to: c.expiresAt) <= agentClass.maximumTTL else {
            throw TokenError(
                .lifetimeExceedsClass,
                "lifetime \(c.issuedAt.duration(to: c.expiresAt)) exceeds class '\(agentClass.name)' maximum \(agentClass.maximumTTL)"
            )
        }
        try TokenCodec.validateList(c.audiences, "audience", FieldRules.isAudience)
        try TokenCodec.validateList(c.actions, "action", FieldRules.isAction)
        try TokenCodec.validateResources(c.resources)
        if let taskID = c.taskID, !FieldRules.check(taskID, FieldRules.isTaskID) {
            throw TokenError(.invalidClaims, "task ids are 1…128 visible ASCII bytes")
        }
        if let step = c.step, step > UInt64(Int64.max) {
            throw TokenError(.invalidClaims, "step is out of range")
        }
        if let intent = c.intent, !FieldRules.check(intent, FieldRules.isIntent) {
            throw TokenError(.invalidClaims, "intent is 1…512 bytes of text without control characters")
        }
        guard
            c.subject.trustDomain.utf8.count + c.subject.path.utf8.count
                <= AgentIdentity.maximumLength - AgentIdentity.scheme.utf8.count
        else {
            throw TokenError(.invalidClaims, "subject is too long")
        }
        try Caveat.validate(c.caveats)
    }

    // MARK: Delegation

    /// Appends a delegation block that narrows the token and names the next holder, signed with the current
    /// holder's key. No round trip to the issuer is needed.
    ///
    /// - Parameters:
    ///   - attenuation: What to narrow, the next holder's key, and optionally the delegate's identity and class.
    ///   - holderKey: The current holder's private key.
    /// - Throws: ``TokenError/Code/wrongHolder`` when `holderKey` is not the current holder,
    ///   ``TokenError/Code/holderKeyReused`` when the next holder key already held the token,
    ///   ``TokenError/Code/wideningAttempt`` when the attenuation would widen anything,
    ///   ``TokenError/Code/tooManyBlocks`` / ``TokenError/Code/tooLarge`` at the caps,
    ///   ``TokenError/Code/invalidClaims`` for values the format cannot carry.
    public func delegating(
        _ attenuation: Attenuation,
        holderKey: Ed25519.PrivateKey
    ) throws(TokenError) -> CapabilityToken {
        let block = blockCount
        guard holderKey.publicKey == holder else {
            throw TokenError(
                .wrongHolder,
                "key \(holderKey.publicKey.keyID) is not the holder \(holder.keyID)",
                block: block
            )
        }
        guard block < TokenLimits.maximumBlocks else {
            throw TokenError(.tooManyBlocks, "a token has at most \(TokenLimits.maximumBlocks) blocks", block: block)
        }
        var a = attenuation
        a.notBefore = attenuation.notBefore.map(Self.roundUpToSecond)
        a.expiresAt = attenuation.expiresAt.map { Timestamp(secondsSinceEpoch: $0.secondsSinceEpoch) }
        let issued = root.claims.issuedAt.secondsSinceEpoch
        for t in [a.notBefore, a.expiresAt].compactMap({ $0 }) {
            guard t.secondsSinceEpoch >= issued, t.secondsSinceEpoch - issued <= 2 * Int64(UInt32.max) else {
                throw TokenError(
                    .invalidClaims,
                    "delegation times must not precede the token's issue time",
                    block: block
                )
            }
        }
        if let list = a.audiences { try TokenCodec.validateList(list, "audience", FieldRules.isAudience) }
        if let list = a.actions { try TokenCodec.validateList(list, "action", FieldRules.isAction) }
        if let list = a.resources { try TokenCodec.validateResources(list) }
        if let name = a.delegateClass, !AgentClass.isValidName(name) {
            throw TokenError(.invalidClaims, "delegate class '\(name)' is not a valid class name", block: block)
        }
        try Caveat.validate(a.caveats)

        var scope = effectiveScope()
        try scope.apply(a, block: block)
        guard scope.notBefore < scope.expiresAt else {
            throw TokenError(.invalidClaims, "the delegated validity window would be empty", block: block)
        }

        var writer = WireWriter(capacity: bytes.count + 160)
        writer.fixed(bytes)
        let start = writer.bytes.count
        TokenCodec.encodeDelegation(a, issuedSeconds: issued, into: &writer)
        let signatureStart = writer.bytes.count
        let previousSignature = delegations.last?.signature ?? root.signature
        var message = TokenFormat.delegationTag
        message.append(TokenFormat.version)
        message.append(contentsOf: previousSignature)
        message.append(contentsOf: writer.bytes[start...])
        let signature = holderKey.signature(for: message)
        writer.fixed(signature)
        guard writer.bytes.count <= TokenLimits.maximumTokenBytes else {
            throw TokenError(
                .tooLarge,
                "the token would be \(writer.bytes.count) bytes, the cap is \(TokenLimits.maximumTokenBytes)",
                block: block
            )
        }
        let delegation = DelegationBlock(
            attenuation: a,
            signature: signature
        )
        return CapabilityToken(
            bytes: writer.bytes,
            root: root,
            delegations: delegations + [delegation],
            spans: spans + [BlockSpan(start: start, signatureStart: signatureStart)]
        )
    }

    /// The scope after applying every delegation block, assuming the chain narrows (it throws otherwise).
    func effectiveScope() -> EffectiveScope {
        var scope = EffectiveScope(root: root.claims)
        for (i, d) in delegations.enumerated() { try? scope.apply(d.attenuation, block: i + 1) }
        return scope
    }

    static func roundUpToSecond(_ t: Timestamp) -> Timestamp {
        let s = t.secondsSinceEpoch
        return Timestamp(secondsSinceEpoch: Timestamp(secondsSinceEpoch: s) == t ? s : s + 1)
    }

    /// The message block `index` signs: its domain tag, the format version, the previous block's signature
    /// (delegation blocks only) and the block's bytes from its kind byte up to its signature.
    func signedMessage(block index: Int, into message: inout [UInt8]) {
        message.removeAll(keepingCapacity: true)
        let span = spans[index]
        if index == 0 {
            message.append(contentsOf: TokenFormat.rootTag)
            message.append(bytes[0])
        } else {
            message.append(contentsOf: TokenFormat.delegationTag)
            message.append(bytes[0])
            let previous = spans[index - 1]
            message.append(contentsOf: bytes[previous.signatureStart..<previous.end])
        }
        message.append(contentsOf: bytes[span.start..<span.signatureStart])
    }
}
