import WritAudit
import WritCrypto
import WritIdentity
import WritTokens

extension CredentialAuthority {
    /// Mints the token for a task step: one audience, the step's actions and resources, a TTL of the step's
    /// need capped by the class maximum and the task deadline.
    ///
    /// Issuing a step that already has a live token for the same grant refreshes it (and counts against the
    /// refresh limit); a different grant for a live step is refused. A step issued again after
    /// ``completeStep(task:step:)`` keeps its refresh count. The step's live token is committed to the store by
    /// compare-and-swap before anything is awaited that another replica could interleave with, so two callers
    /// (in one process or in two replicas) never both issue the step: the one that loses refreshes instead.
    /// - Throws: ``AuthorityError`` when the task is closed or overdue, or no entitlement covers the grant.
    public func issue(task taskID: String, step grant: StepGrant) async throws -> IssuedToken {
        let outcome: IssueOutcome = try await withRetry("issuing step '\(grant.name)' of task \(taskID)") {
            let previous = try await store.step(task: taskID, name: grant.name)
            if let previous, previous.live != nil {
                guard previous.grant == grant else {
                    throw AuthorityError(
                        .stepConflict,
                        "step '\(grant.name)' of task \(taskID) is live with another grant; complete it first"
                    )
                }
                return .refresh
            }
            let now = configuration.clock.now()
            let (task, agent) = try await openTaskAndAgent(taskID, now: now)
            if let plan = task.plan {
                guard let planned = plan.first(where: { $0.name == grant.name }), Self.grant(grant, isWithin: planned)
                else {
                    throw AuthorityError(
                        .notEntitled,
                        "step \(grant) is not in task \(taskID)'s plan or is wider than the planned step"
                    )
                }
            }
            let entitled = try await entitlements(of: agent)
            guard entitled.contains(where: { $0.covers(grant) }) else {
                try? await record(
                    AuditEvent(
                        .denied,
                        time: now,
                        agent: agent.identity.description,
                        task: taskID,
                        step: grant.name,
                        audience: grant.audience,
                        action: grant.actions.joined(separator: ","),
                        decision: .deny,
                        reason: "not entitled: \(grant)"
                    )
                )
                throw AuthorityError(.notEntitled, "class '\(agent.agentClass.name)' is not entitled to \(grant)")
            }
            let window = try tokenWindow(task: task, agentClass: agent.agentClass, grant: grant, now: now)
            // The task first: take the step number and cover the token's expiry (a close that commits later
            // revokes past it; one that committed earlier makes this conflict).
            let number = try await noteIssue(
                on: task,
                expiresAt: window.expiresAt,
                number: previous?.number
            )
            let refreshCount = previous?.refreshCount ?? 0
            let issued = try mint(
                task: task,
                agent: agent,
                grant: grant,
                stepNumber: number,
                window: window,
                refreshCount: refreshCount
            )
            let step = StepRecord(
                taskID: taskID,
                name: grant.name,
                grant: grant,
                number: number,
                live: issued,
                refreshCount: refreshCount
            )
            // The step: a concurrent issue of the same step makes this conflict; the retry then refreshes.
            if let previous {
                try await store.update(.step(step), expecting: previous.version)
            } else {
                try await store.insert(.step(step))
            }
            return .issued(issued, agent)
        }
        guard case .issued(let issued, let agent) = outcome else {
            return try await refresh(task: taskID, step: grant.name)
        }
        do {
            try await record(issuedEvent(issued, kind: .issued, agent: agent, grant: grant, parent: nil))
        } catch {
            try? await abandon(issued, task: taskID, step: grant.name)
            throw error
        }
        try await confirmLive(issued, task: taskID, step: grant.name)
        return issued
    }

    /// Refreshes a step's token: only while the task is open, only up to the class's refresh limit, never past
    /// the deadline. The new token and count are committed by compare-and-swap on the step (so the limit holds
    /// across replicas); the old token's block is revoked before the new token is returned (one live token per
    /// step), and the refresh is audited.
    public func refresh(task taskID: String, step name: String) async throws -> IssuedToken {
        let (issued, old, agent, grant) = try await withRetry("refreshing step '\(name)' of task \(taskID)") {
            let now = configuration.clock.now()
            let (task, agent) = try await openTaskAndAgent(taskID, now: now)
            guard let step = try await store.step(task: taskID, name: name), let old = step.live else {
                throw AuthorityError(.unknownStep, "task \(taskID) has no live token for step '\(name)'")
            }
            guard step.refreshCount < agent.agentClass.refreshLimit else {
                try? await record(
                    AuditEvent(
                        .denied,
                        time: now,
                        agent: agent.identity.description,
                        task: taskID,
                        step: name,
                        tokenID: old.token.id.description,
                        decision: .deny,
                        reason: "refresh limit \(agent.agentClass.refreshLimit) reached"
                    )
                )
                throw AuthorityError(
                    .refreshLimitReached,
                    "step '\(name)' reached the refresh limit \(agent.agentClass.refreshLimit) of class '\(agent.agentClass.name)'"
                )
            }
            let window = try tokenWindow(task: task, agentClass: agent.agentClass, grant: step.grant, now: now)
            _ = try await noteIssue(on: task, expiresAt: window.expiresAt, number: step.number)
            let issued = try mint(
                task: task,
                agent: agent,
                grant: step.grant,
                stepNumber: step.number,
                window: window,
                refreshCount: step.refreshCount + 1
            )
            var next = step
            next.live = issued
            next.refreshCount = step.refreshCount + 1
            try await store.update(.step(next), expecting: step.version)
            return (issued, old, agent, step.grant)
        }
        do {
            try await revoke(.block(old.revocationID), reason: .superseded, coversUntil: old.expiresAt, task: taskID)
            try await record(issuedEvent(issued, kind: .refreshed, agent: agent, grant: grant, parent: old))
        } catch {
            try? await abandon(issued, task: taskID, step: name)
            throw error
        }
        try await confirmLive(issued, task: taskID, step: name)
        return issued
    }

    /// Ends a step early: revokes its live token.
    public func completeStep(task taskID: String, step name: String) async throws {
        let live = try await withRetry("completing step '\(name)' of task \(taskID)") {
            guard var step = try await store.step(task: taskID, name: name), let live = step.live else {
                throw AuthorityError(.unknownStep, "task \(taskID) has no live token for step '\(name)'")
            }
            let expected = step.version
            step.live = nil
            try await store.update(.step(step), expecting: expected)
            return live
        }
        try await revoke(.block(live.revocationID), reason: .completed, coversUntil: live.expiresAt, task: taskID)
    }

    // MARK: Internals

    private enum IssueOutcome {
        case issued(IssuedToken, Agent)
        case refresh
    }

    /// The open task and its live agent.
    func openTaskAndAgent(_ taskID: String, now: Timestamp) async throws -> (TaskRecord, Agent) {
        guard let task = try await store.task(taskID) else {
            throw AuthorityError(.unknownTask, "task \(taskID) does not exist")
        }
        guard task.state == .open else {
            throw AuthorityError(.taskClosed, "task \(taskID) is \(task.state.rawValue)")
        }
        guard now < task.deadline else {
            throw AuthorityError(.deadlinePassed, "task \(taskID) passed its deadline \(task.deadline)")
        }
        return (task, try await liveAgent(task.agent))
    }

    /// After the awaits of issue or refresh: the task must still be open and `issued` still the step's live
    /// token (a concurrent completion, refresh or close — here or in another replica — may have replaced it);
    /// otherwise it is revoked.
    private func confirmLive(_ issued: IssuedToken, task taskID: String, step name: String) async throws {
        let task = try await storedTask(taskID)
        let step = try await storedStep(taskID, name)
        guard task?.state == .open, step?.live?.token.id == issued.token.id else {
            try? await abandon(issued, task: taskID, step: name)
            throw AuthorityError(.taskClosed, "task \(taskID) step '\(name)' changed while its token was being issued")
        }
    }

    /// Withdraws a token that will not be handed out: clears it from the step (if it is still there) and
    /// revokes its block — the revocation even when the store cannot be changed.
    private func abandon(_ issued: IssuedToken, task taskID: String, step name: String) async throws {
        try? await clearLive(task: taskID, step: name, only: issued.token.id)
        try await revoke(.block(issued.revocationID), reason: .completed, coversUntil: issued.expiresAt, task: taskID)
    }

    /// Clears a step's live token by compare-and-swap (only when it is `tokenID`, if given).
    func clearLive(task taskID: String, step name: String, only tokenID: TokenID? = nil) async throws {
        try await withRetry("clearing step '\(name)' of task \(taskID)") {
            guard var step = try await store.step(task: taskID, name: name), let live = step.live else { return }
            if let tokenID, live.token.id != tokenID { return }
            let expected = step.version
            step.live = nil
            try await store.update(.step(step), expecting: expected)
        }
    }

    /// Commits, by compare-and-swap on the task, that a token expiring at `expiresAt` is about to be issued
    /// (raising the task's latest expiry), taking a new step number when `number` is `nil`.
    ///
    /// - Returns: the step number.
    private func noteIssue(on task: TaskRecord, expiresAt: Timestamp, number: UInt64?) async throws -> UInt64 {
        var next = task
        let taken = number ?? task.nextStepNumber
        if number == nil { next.nextStepNumber += 1 }
        next.latestExpiry = max(task.latestExpiry ?? expiresAt, expiresAt)
        if next != task { try await store.update(.task(next), expecting: task.version) }
        return taken
    }

    /// Whether `grant` asks for no more than `planned`: same audience, a subset of its actions, resources it
    /// covers, and no longer a duration.
    private static func grant(_ grant: StepGrant, isWithin planned: StepGrant) -> Bool {
        grant.audience == planned.audience && grant.actions.allSatisfy(planned.actions.contains)
            && grant.resources.allSatisfy { wanted in planned.resources.contains { $0.covers(wanted) } }
            && (grant.duration ?? .seconds(Int64.max)) <= (planned.duration ?? .seconds(Int64.max))
    }

    private struct TokenWindow {
        let issuedAt: Timestamp
        let expiresAt: Timestamp
    }

    /// When a token minted now would be issued and expire: the step's need capped by the class maximum and the
    /// task deadline, both ends in whole seconds (as tokens carry them).
    private func tokenWindow(
        task: TaskRecord,
        agentClass cls: AgentClass,
        grant: StepGrant,
        now: Timestamp
    ) throws -> TokenWindow {
        let ttl = min(grant.duration ?? cls.defaultTTL, cls.maximumTTL)
        let now = Timestamp(secondsSinceEpoch: now.secondsSinceEpoch)
        let expiresAt = Timestamp(secondsSinceEpoch: min(now.advanced(by: ttl), task.deadline).secondsSinceEpoch)
        guard expiresAt > now else {
            throw AuthorityError(.deadlinePassed, "task \(task.id) has no time left for step '\(grant.name)'")
        }
        return TokenWindow(issuedAt: now, expiresAt: expiresAt)
    }

    private func mint(
        task: TaskRecord,
        agent: Agent,
        grant: StepGrant,
        stepNumber: UInt64,
        window: TokenWindow,
        refreshCount: Int
    ) throws -> IssuedToken {
        let cls = agent.agentClass
        let claims = TokenClaims(
            subject: agent.identity,
            holder: agent.publicKey,
            agentClass: cls.name,
            audiences: [grant.audience],
            actions: grant.actions,
            resources: grant.resources,
            taskID: task.id,
            step: stepNumber,
            intent: task.intent,
            issuedAt: window.issuedAt,
            expiresAt: window.expiresAt
        )
        do {
            let token = try CapabilityToken.mint(claims, agentClass: cls, issuerKey: configuration.issuerKey)
            return IssuedToken(
                token: token,
                taskID: task.id,
                step: grant.name,
                issuedAt: window.issuedAt,
                expiresAt: window.expiresAt,
                refreshCount: refreshCount
            )
        } catch {
            throw AuthorityError(
                .tokenFailed,
                "minting step '\(grant.name)' of task \(task.id) failed",
                underlying: error
            )
        }
    }
}
