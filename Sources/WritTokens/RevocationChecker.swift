public import WritCrypto
public import WritIdentity

/// What a revocation checker is asked about one verified token.
public struct RevocationFacts: Hashable, Sendable {
    /// The token's id.
    public let tokenID: TokenID
    /// Every block's revocation id, block 0 first (revoking block *k* revokes every token extending it).
    public let revocationIDs: [RevocationID]
    /// The task the token was issued for, if any.
    public let taskID: String?
    /// The agent the token was issued to.
    public let subject: AgentIdentity
    /// The delegates named by delegation blocks, in order.
    public let delegates: [AgentIdentity]
    /// The key id of the issuer key that signed block 0.
    public let issuerKeyID: KeyID

    /// Creates facts.
    public init(
        tokenID: TokenID,
        revocationIDs: [RevocationID],
        taskID: String?,
        subject: AgentIdentity,
        delegates: [AgentIdentity],
        issuerKeyID: KeyID
    ) {
        self.tokenID = tokenID
        self.revocationIDs = revocationIDs
        self.taskID = taskID
        self.subject = subject
        self.delegates = delegates
        self.issuerKeyID = issuerKeyID
    }
}

/// A revocation checker's answer.
public enum RevocationStatus: Hashable, Sendable {
    /// Nothing about the token is revoked, and the checker's data is fresh.
    case notRevoked
    /// Something about the token is revoked; `reason` says what (never secret).
    case revoked(reason: String)
    /// The checker cannot answer (data staler than its bound, store unreachable): the verifier fails closed.
    case unavailable(reason: String)
}

/// Answers whether a token is revoked. Called synchronously on the verification hot path, so implementations
/// answer from memory (the revocation module keeps a local set fed by a revocation feed).
public protocol RevocationChecker: Sendable {
    /// The revocation status of a token described by `facts`.
    func revocationStatus(_ facts: RevocationFacts) -> RevocationStatus
}

/// A revocation checker backed by a closure.
public struct ClosureRevocationChecker: RevocationChecker {
    private let body: @Sendable (RevocationFacts) -> RevocationStatus

    /// Creates a checker that calls `body`.
    public init(_ body: @escaping @Sendable (RevocationFacts) -> RevocationStatus) { self.body = body }

    public func revocationStatus(_ facts: RevocationFacts) -> RevocationStatus { body(facts) }
}

/// A checker that knows of no revocations. For tests and offline tools only: a service must use a real one.
public struct NoRevocationChecker: RevocationChecker {
    /// Creates the checker.
    public init() {}

    public func revocationStatus(_ facts: RevocationFacts) -> RevocationStatus { .notRevoked }
}
