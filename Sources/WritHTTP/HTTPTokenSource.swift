#if HTTP
public import Writ
public import WritCrypto
public import WritIdentity
public import WritTokens

/// A ``TokenSource`` backed by a remote authority over HTTP, so a ``CredentialProvider`` works against it
/// unchanged: issue and refresh are the token exchange, delegations are recorded at `/v1/delegations`.
///
/// The authority's refusals come back as the ``AuthorityError`` it raised (same code), so the provider stops
/// refreshing on a refusal (task closed, refresh limit, …) and retries only transport failures and
/// `temporarily_unavailable`.
public struct HTTPTokenSource: TokenSource {
    /// The client.
    public let client: WritAuthorityClient
    /// The agent's identity document (its credential at the authority).
    public let identity: IdentityDocument
    private let key: Ed25519.PrivateKey

    /// Creates a source for the agent whose document is `identity` and whose key is `key`.
    public init(client: WritAuthorityClient, identity: IdentityDocument, key: Ed25519.PrivateKey) {
        self.client = client
        self.identity = identity
        self.key = key
    }

    /// Issues the token for a task step.
    public func issue(task: String, step: StepGrant) async throws -> IssuedToken {
        try await Self.mapped {
            try await client.exchange(
                WritWire.TokenExchangeBody(subjectToken: identity.text, task: task, step: step),
                as: identity,
                key: key
            )
        }
    }

    /// Refreshes a step's token.
    public func refresh(task: String, step: String) async throws -> IssuedToken {
        try await Self.mapped {
            try await client.exchange(
                WritWire.TokenExchangeBody(subjectToken: identity.text, task: task, refreshStep: step),
                as: identity,
                key: key
            )
        }
    }

    /// Records a delegation (the supervisor must be this source's agent).
    public func recordDelegation(
        _ token: CapabilityToken,
        from supervisor: AgentIdentity,
        to delegate: AgentIdentity
    ) async throws {
        guard supervisor == identity.identity else {
            throw AuthorityError(.delegationRefused, "this source signs in as \(identity.identity), not \(supervisor)")
        }
        try await Self.mapped { try await client.recordDelegation(token, to: delegate, as: identity, key: key) }
    }

    static let authorityCodes: [String: AuthorityError.Code] = {
        let codes: [AuthorityError.Code] = [
            .attestationFailed, .unknownAgent, .alreadyRegistered, .unknownAgentClass, .unknownTask, .unknownStep,
            .stepConflict, .taskClosed, .deadlinePassed, .notEntitled, .refreshLimitReached, .delegationRefused,
            .credentialUnavailable, .tokenFailed, .recordFailed, .storeFailed, .storeConflict,
            .entitlementsUnavailable,
        ]
        return Dictionary(codes.map { ($0.description, $0) }, uniquingKeysWith: { first, _ in first })
    }()

    /// Runs a call, turning an authority's refusal back into its ``AuthorityError``.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as WritHTTPError {
            if error.code == .refused, let refusal = error.refusal, let code = authorityCodes[refusal.code] {
                throw AuthorityError(code, refusal.message, underlying: error)
            }
            throw error
        }
    }
}
#endif
