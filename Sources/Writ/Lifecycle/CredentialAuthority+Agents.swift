import WritAudit
public import WritCrypto
public import WritIdentity
public import WritTokens

extension CredentialAuthority {
    /// Attests a workload through the configured `Attestor`, registers it, and issues its identity document:
    /// the authority's signature binding the identity to the agent's own public key (with its class and, for
    /// sub-agents, its supervisor).
    ///
    /// - Throws: ``AuthorityError/Code/attestationFailed`` when the evidence is rejected or no attestor is
    ///   configured; registration errors as ``register(_:publicKey:agentClass:supervisor:)``.
    public func attest(_ evidence: AttestationEvidence) async throws -> IdentityDocument {
        guard let attestor = configuration.attestor else {
            throw AuthorityError(.attestationFailed, "no attestor is configured")
        }
        let now = configuration.clock.now()
        let workload: AttestedWorkload
        do {
            workload = try await attestor.attest(evidence)
        } catch {
            try? await record(
                AuditEvent(
                    .denied,
                    time: now,
                    decision: .deny,
                    reason: "attestation failed: \(error)",
                    attributes: ["evidence": evidence.kind]
                )
            )
            throw AuthorityError(.attestationFailed, "attestation failed", underlying: error)
        }
        guard let className = workload.agentClass else {
            throw AuthorityError(.unknownAgentClass, "attestation of \(workload.identity) named no agent class")
        }
        let (agent, inserted) = try await registerRecord(
            workload.identity,
            publicKey: workload.publicKey,
            agentClass: className,
            supervisor: workload.supervisor
        )
        let document: IdentityDocument
        do {
            document = try IdentityDocument.issue(
                identity: agent.identity,
                publicKey: agent.publicKey,
                agentClass: className,
                supervisor: agent.supervisor,
                issuedAt: now,
                expiresAt: now.advanced(by: configuration.identityLifetime),
                issuerKey: configuration.issuerKey
            )
        } catch {
            if let inserted { try? await store.delete(.agent(inserted.identity), expecting: inserted.version) }
            throw AuthorityError(.tokenFailed, "identity document for \(agent.identity) failed", underlying: error)
        }
        try await record(
            AuditEvent(
                .issued,
                time: now,
                agent: agent.identity.description,
                reason: "identity document",
                attributes: [
                    "class": className, "key": agent.publicKey.keyID.description, "evidence": evidence.kind,
                    "supervisor": agent.supervisor?.description ?? "", "expires": document.expiresAt.description,
                ]
            )
        )
        return document
    }

    /// Registers an agent whose identity and key were established (for example by attestation).
    ///
    /// A sub-agent names its supervisor; it must have its own key, distinct from the supervisor's. An identity
    /// can be registered again only with the same key, class and supervisor, and never once revoked (the store
    /// remembers, across restarts and replicas).
    /// - Throws: ``AuthorityError`` for an unknown class or supervisor, a key shared with the supervisor, or an
    ///   identity already bound to something else or revoked.
    @discardableResult
    public func register(
        _ identity: AgentIdentity,
        publicKey: Ed25519.PublicKey,
        agentClass className: String,
        supervisor: AgentIdentity? = nil
    ) async throws -> Agent {
        try await registerRecord(identity, publicKey: publicKey, agentClass: className, supervisor: supervisor).0
    }

    /// Registers an agent; also returns the record when this call inserted it.
    private func registerRecord(
        _ identity: AgentIdentity,
        publicKey: Ed25519.PublicKey,
        agentClass className: String,
        supervisor: AgentIdentity?
    ) async throws -> (Agent, inserted: AgentRecord?) {
        guard let agentClass = classes[className] else {
            throw AuthorityError(.unknownAgentClass, "agent class '\(className)' is not configured")
        }
        return try await withRetry("registering agent \(identity)") {
            if let existing = try await store.agent(identity) {
                guard !existing.isRevoked else {
                    throw AuthorityError(
                        .alreadyRegistered,
                        "agent \(identity) was revoked and cannot be registered again"
                    )
                }
                guard existing.publicKey == publicKey, existing.agentClass == className,
                    existing.supervisor == supervisor
                else {
                    throw AuthorityError(
                        .alreadyRegistered,
                        "agent \(identity) is already bound to another key, class or supervisor"
                    )
                }
                return (try agent(from: existing), nil)
            }
            if let supervisor {
                guard let parent = try await store.agent(supervisor) else {
                    throw AuthorityError(.unknownAgent, "supervisor \(supervisor) is not registered")
                }
                guard parent.publicKey != publicKey else {
                    throw AuthorityError(
                        .delegationRefused,
                        "sub-agent \(identity) must have its own key, not its supervisor's"
                    )
                }
            }
            // A replica registering the same identity meanwhile makes this conflict; the retry then compares.
            let stored = try await store.insert(
                .agent(
                    AgentRecord(
                        identity: identity,
                        publicKey: publicKey,
                        agentClass: className,
                        supervisor: supervisor,
                        isRevoked: false
                    )
                )
            )
            let agent = Agent(
                identity: identity,
                publicKey: publicKey,
                agentClass: agentClass,
                supervisor: supervisor,
                isRevoked: false
            )
            return (agent, stored.agent)
        }
    }

    /// The registered agent with this identity.
    ///
    /// - Throws: ``AuthorityError/Code/storeFailed`` when the store cannot be read.
    public func agent(_ identity: AgentIdentity) async throws -> Agent? {
        try await storedAgent(identity).map(agent(from:))
    }

    /// Records a delegation a supervisor made to a sub-agent (delegation itself needs no round trip; this
    /// puts it in the audit trail).
    ///
    /// - Throws: ``AuthorityError/Code/delegationRefused`` unless `delegate` is a registered sub-agent of
    ///   `supervisor`, the token's last block names it and is held by its registered key, and `supervisor` held
    ///   the block before.
    public func recordDelegation(
        _ token: CapabilityToken,
        from supervisor: AgentIdentity,
        to delegate: AgentIdentity
    ) async throws {
        guard let stored = try await storedAgent(delegate), stored.supervisor == supervisor, !stored.isRevoked
        else {
            throw AuthorityError(.delegationRefused, "\(delegate) is not a registered sub-agent of \(supervisor)")
        }
        let sub = try agent(from: stored)
        guard let last = token.delegations.last, last.attenuation.delegate == delegate, token.holder == sub.publicKey
        else {
            throw AuthorityError(
                .delegationRefused,
                "the token's last block is not held by \(delegate)'s registered key"
            )
        }
        let previousHolder = token.delegations.dropLast().last?.attenuation.delegate ?? token.root.claims.subject
        guard previousHolder == supervisor else {
            throw AuthorityError(.delegationRefused, "\(supervisor) did not hold the token it delegated")
        }
        let parentBlock =
            token.delegations.count >= 2
            ? token.delegations[token.delegations.count - 2].revocationID : token.root.revocationID
        try await record(
            AuditEvent(
                .delegated,
                time: configuration.clock.now(),
                agent: delegate.description,
                task: token.root.claims.taskID,
                tokenID: token.id.description,
                revocationID: last.revocationID,
                attributes: [
                    "supervisor": supervisor.description, "class": sub.agentClass.name,
                    "depth": String(token.delegations.count), "parent-block": parentBlock.description,
                ]
            )
        )
    }

    /// The registered, unrevoked agent with this identity.
    func liveAgent(_ identity: AgentIdentity) async throws -> Agent {
        guard let stored = try await storedAgent(identity) else {
            throw AuthorityError(.unknownAgent, "agent \(identity) is not registered")
        }
        guard !stored.isRevoked else { throw AuthorityError(.unknownAgent, "agent \(identity) is revoked") }
        return try agent(from: stored)
    }

    /// Marks a registered agent revoked in the store (no-op for an unregistered one).
    func markRevoked(_ identity: AgentIdentity) async throws {
        try await withRetry("revoking agent \(identity)") {
            guard var stored = try await store.agent(identity), !stored.isRevoked else { return }
            let expected = stored.version
            stored.isRevoked = true
            try await store.update(.agent(stored), expecting: expected)
        }
    }
}
