import WritAudit

// The authority's audit events.
extension CredentialAuthority {
    /// The `issued` or `refreshed` event for a step's token.
    func issuedEvent(
        _ issued: IssuedToken,
        kind: AuditEvent.Kind,
        agent: Agent,
        grant: StepGrant,
        parent: IssuedToken?
    ) -> AuditEvent {
        AuditEvent(
            kind,
            time: issued.issuedAt,
            agent: agent.identity.description,
            task: issued.taskID,
            step: issued.step,
            tokenID: issued.token.id.description,
            parentTokenID: parent?.token.id.description,
            revocationID: issued.revocationID,
            audience: grant.audience,
            action: grant.actions.joined(separator: ","),
            resource: grant.resources.map(\.text).joined(separator: ","),
            // The expiry is the entry's time plus `ttl-ms` (issued times are whole seconds): not stored twice.
            attributes: [
                "class": agent.agentClass.name,
                "ttl-ms": String(issued.expiresAt.millisecondsSinceEpoch - issued.issuedAt.millisecondsSinceEpoch),
                "refresh": String(issued.refreshCount),
            ]
        )
    }

    /// Appends an event to the authority's audit log.
    ///
    /// - Throws: ``AuthorityError/Code/recordFailed`` when the sink refuses it.
    func record(_ event: AuditEvent) async throws {
        do {
            _ = try await configuration.audit.record(event)
        } catch {
            throw AuthorityError(.recordFailed, "audit log refused \(event.kind.rawValue)", underlying: error)
        }
    }
}
