public import WritCrypto
public import WritIdentity

/// What the issuer grants in block 0 of a token.
///
/// Times are carried on the wire in whole seconds: when minting, ``issuedAt`` is rounded down, ``notBefore``
/// up (or, when it equals ``issuedAt``, down with it) and ``expiresAt`` down.
public struct TokenClaims: Hashable, Sendable {
    /// The token's unique id.
    public var tokenID: TokenID
    /// The agent the token was issued to.
    public var subject: AgentIdentity
    /// The key that must sign proofs of possession (until a delegation names another holder).
    public var holder: Ed25519.PublicKey
    /// The subject's agent class name; the verifier must know the class.
    public var agentClass: String
    /// The services (audiences) the token may be presented to; 1…16 entries.
    public var audiences: [String]
    /// The actions the token allows; 1…16 exact names.
    public var actions: [String]
    /// The resources the token allows; 1…16 patterns.
    public var resources: [ResourcePattern]
    /// The task the token was issued for, if any.
    public var taskID: String?
    /// The step of the task, if any.
    public var step: UInt64?
    /// The agent's declared intent for this step, if any (free text, for policy and audit).
    public var intent: String?
    /// When the token was issued.
    public var issuedAt: Timestamp
    /// The token is not valid before this time.
    public var notBefore: Timestamp
    /// The token is not valid from this time on.
    public var expiresAt: Timestamp
    /// Extra conditions.
    public var caveats: [Caveat]

    /// Creates claims.
    ///
    /// - Parameters:
    ///   - tokenID: The token's id (default: random).
    ///   - subject: The agent the token is issued to.
    ///   - holder: The agent's public key.
    ///   - agentClass: The agent's class name.
    ///   - audiences: Where the token may be presented.
    ///   - actions: What it allows.
    ///   - resources: On which resources.
    ///   - taskID: The task, if any.
    ///   - step: The task step, if any.
    ///   - intent: The declared intent, if any.
    ///   - issuedAt: Issue time.
    ///   - notBefore: Start of validity (default: `issuedAt`).
    ///   - expiresAt: End of validity.
    ///   - caveats: Extra conditions.
    public init(
        tokenID: TokenID = .random(),
        subject: AgentIdentity,
        holder: Ed25519.PublicKey,
        agentClass: String,
        audiences: [String],
        actions: [String],
        resources: [ResourcePattern],
        taskID: String? = nil,
        step: UInt64? = nil,
        intent: String? = nil,
        issuedAt: Timestamp,
        notBefore: Timestamp? = nil,
        expiresAt: Timestamp,
        caveats: [Caveat] = []
    ) {
        self.tokenID = tokenID
        self.subject = subject
        self.holder = holder
        self.agentClass = agentClass
        self.audiences = audiences
        self.actions = actions
        self.resources = resources
        self.taskID = taskID
        self.step = step
        self.intent = intent
        self.issuedAt = issuedAt
        self.notBefore = notBefore ?? issuedAt
        self.expiresAt = expiresAt
        self.caveats = caveats
    }
}

/// What a holder grants the next holder in a delegation block: everything is optional and may only narrow.
///
/// A `nil` list or time keeps what the chain allowed so far. Times are carried on the wire as whole seconds
/// after the token's issue time: ``notBefore`` is rounded up and ``expiresAt`` down.
public struct Attenuation: Hashable, Sendable {
    /// The next holder's public key (the sub-agent's own key; reusing a key of the chain is rejected).
    public var holder: Ed25519.PublicKey
    /// The sub-agent's identity, if named.
    public var delegate: AgentIdentity?
    /// The sub-agent's class name, if named; the verifier must know it and it limits further delegation.
    public var delegateClass: String?
    /// A subset of the audiences allowed so far.
    public var audiences: [String]?
    /// A subset of the actions allowed so far.
    public var actions: [String]?
    /// Patterns each covered by a pattern allowed so far.
    public var resources: [ResourcePattern]?
    /// A later start of validity.
    public var notBefore: Timestamp?
    /// An earlier end of validity.
    public var expiresAt: Timestamp?
    /// Extra conditions.
    public var caveats: [Caveat]

    /// Creates an attenuation.
    public init(
        holder: Ed25519.PublicKey,
        delegate: AgentIdentity? = nil,
        delegateClass: String? = nil,
        audiences: [String]? = nil,
        actions: [String]? = nil,
        resources: [ResourcePattern]? = nil,
        notBefore: Timestamp? = nil,
        expiresAt: Timestamp? = nil,
        caveats: [Caveat] = []
    ) {
        self.holder = holder
        self.delegate = delegate
        self.delegateClass = delegateClass
        self.audiences = audiences
        self.actions = actions
        self.resources = resources
        self.notBefore = notBefore
        self.expiresAt = expiresAt
        self.caveats = caveats
    }
}

/// Block 0 of a token as parsed: the issuer's claims, the issuer key id, the signature and the revocation id.
public struct RootBlock: Hashable, Sendable {
    /// The claims (times as decoded from whole seconds).
    public let claims: TokenClaims
    /// The id of the issuer key that signed the block.
    public let issuerKeyID: KeyID
    /// The 64-byte Ed25519 signature.
    public let signature: [UInt8]
    /// The id by which this block (and so the whole token) can be revoked, derived from ``signature``
    /// (computed on each access: one BLAKE2b hash).
    public var revocationID: RevocationID { TokenFormat.revocationID(forSignature: signature) }
}

/// A delegation block as parsed: the attenuation, its signature by the previous holder and its revocation id.
public struct DelegationBlock: Hashable, Sendable {
    /// What the block narrows and whom it names as next holder.
    public let attenuation: Attenuation
    /// The 64-byte Ed25519 signature by the previous holder's key.
    public let signature: [UInt8]
    /// The id by which this block (and every block after it) can be revoked, derived from ``signature``
    /// (computed on each access: one BLAKE2b hash).
    public var revocationID: RevocationID { TokenFormat.revocationID(forSignature: signature) }
}
