import WritAudit
public import WritCrypto
public import WritIdentity
public import WritRevocation
import WritTokens

extension CredentialAuthority {
    /// Handles an anomaly reported by a gatekeeper: revokes per ``Configuration/anomalyResponse``, then audits.
    ///
    /// The presented token's last block is revoked (and with it everything delegated from it). The agent named
    /// in the report is revoked only when the authority can confirm it: it is registered and its key is the key
    /// that held the token (``AnomalyReport/holderKeyID``) — a delegator cannot get another agent revoked by
    /// naming it in a delegation block. A second anomaly for the same token — reported to this authority or to
    /// a replica, before or after a restart — also revokes its root block (the delegator could otherwise keep
    /// minting fresh sibling delegations). When the store cannot say whether the token had an anomaly before,
    /// the root block is revoked too (failing towards revocation).
    public func reportAnomaly(_ report: AnomalyReport) async throws {
        let now = configuration.clock.now()
        let response = configuration.anomalyResponse
        let horizon = now.advanced(by: longestTTL)
        var revoked: [String] = []
        var storeFailure: (any Error)?
        if response.contains(.revokeToken), let block = report.blockID {
            try await revoke(
                .block(block),
                reason: .anomaly,
                coversUntil: horizon,
                task: report.taskID,
                agent: report.agent
            )
            revoked.append("block \(block)")
        }
        if let tokenID = report.tokenID {
            let isRepeat: Bool
            do {
                try await store.insert(.anomaly(AnomalyRecord(tokenID: tokenID, firstSeen: now)))
                isRepeat = false
            } catch let error as AuthorityStoreError where error.code == .conflict {
                isRepeat = true
            } catch {
                storeFailure = error
                isRepeat = true
            }
            if isRepeat, let root = report.rootBlockID, root != report.blockID {
                try await revoke(.block(root), reason: .anomaly, coversUntil: horizon, task: report.taskID)
                revoked.append("root block \(root) (repeat)")
            }
        }
        if response.contains(.revokeAgent), let agentText = report.agent, let identity = try? AgentIdentity(agentText),
            let registered = try? await store.agent(identity), registered.publicKey.keyID == report.holderKeyID
        {
            do { try await markRevoked(identity) } catch { storeFailure = storeFailure ?? error }
            try await revoke(
                .agent(agentText),
                reason: .anomaly,
                coversUntil: horizon,
                task: report.taskID,
                agent: agentText
            )
            revoked.append("agent \(agentText)")
        }
        if response.contains(.revokeTask), let taskID = report.taskID, try await storedTask(taskID)?.state == .open {
            try await close(taskID, state: .revoked, reason: .anomaly)
            revoked.append("task \(taskID)")
        }
        try await record(
            AuditEvent(
                .anomaly,
                time: now,
                agent: report.agent,
                task: report.taskID,
                tokenID: report.tokenID,
                revocationID: report.blockID,
                reason: report.detail,
                attributes: ["detector": report.detector, "revoked": revoked.joined(separator: "; ")]
            )
        )
        if let storeFailure {
            throw AuthorityError(
                .storeFailed,
                "anomaly revoked, but the store was not updated",
                underlying: storeFailure
            )
        }
    }

    /// Revokes one agent: none of its tokens work any more, and it gets no new ones (nor a new registration).
    ///
    /// The feed is written even when the store cannot record the agent as revoked; the store's error is then
    /// thrown afterwards.
    public func revoke(agent identity: AgentIdentity, reason: RevocationReason = .manual) async throws {
        var storeFailure: (any Error)?
        do { try await markRevoked(identity) } catch { storeFailure = error }
        let horizon = configuration.clock.now().advanced(by: longestTTL)
        try await revoke(
            .agent(identity.description),
            reason: reason,
            coversUntil: horizon,
            agent: identity.description
        )
        if let storeFailure { throw storeFailure }
    }

    /// Revokes one token block (and so every token delegated from it).
    public func revoke(
        block id: RevocationID,
        reason: RevocationReason = .manual,
        coversUntil: Timestamp? = nil
    )
        async throws
    {
        let horizon = coversUntil ?? configuration.clock.now().advanced(by: longestTTL)
        try await revoke(.block(id), reason: reason, coversUntil: horizon)
    }

    /// Revokes everything signed by an issuer key (key compromise).
    public func revoke(issuerKey keyID: KeyID) async throws {
        let horizon = configuration.clock.now().advanced(by: longestTTL)
        try await revoke(.issuerKey(keyID), reason: .keyCompromised, coversUntil: horizon)
    }

    /// Signs a revocation into the feed and audits it.
    @discardableResult
    func revoke(
        _ target: RevocationTarget,
        reason: RevocationReason,
        coversUntil: Timestamp,
        task: String? = nil,
        agent: String? = nil
    ) async throws -> RevocationEntry {
        let now = configuration.clock.now()
        let entry: RevocationEntry
        do {
            entry = try await configuration.revocations.revoke(target, reason: reason, coversUntil: coversUntil).entry
        } catch {
            throw AuthorityError(.recordFailed, "revoking \(target) failed", underlying: error)
        }
        var revocationID: RevocationID?
        if case .block(let id) = target { revocationID = id }
        try await record(
            AuditEvent(
                .revoked,
                time: now,
                agent: agent,
                task: task,
                revocationID: revocationID,
                reason: reason.rawValue,
                attributes: ["target": target.description, "sequence": String(entry.sequence)]
            )
        )
        return entry
    }
}
