public import WritIdentity
public import WritTokens

/// Where an agent's ``CredentialProvider`` gets its tokens: the ``CredentialAuthority`` in-process, or a
/// client of a remote authority.
public protocol TokenSource: Sendable {
    /// Mints the token for a task step.
    func issue(task: String, step: StepGrant) async throws -> IssuedToken
    /// Refreshes a step's token (the old one is revoked).
    func refresh(task: String, step: String) async throws -> IssuedToken
    /// Records a delegation to a sub-agent in the audit trail.
    func recordDelegation(
        _ token: CapabilityToken,
        from supervisor: AgentIdentity,
        to delegate: AgentIdentity
    )
        async throws
}

extension CredentialAuthority: TokenSource {}
