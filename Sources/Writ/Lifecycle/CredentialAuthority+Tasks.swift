import WritAudit
import WritCrypto
public import WritIdentity
import WritRevocation
import WritTokens

extension CredentialAuthority {
    /// Opens a task for an agent.
    ///
    /// - Parameters:
    ///   - agent: the agent doing the work.
    ///   - objective: what the task is for, in words (audited).
    ///   - intent: the declared intent carried in every token of the task.
    ///   - deadline: how long the task may run; no token outlives it.
    ///   - plan: the task's steps, when known up front. Each is checked against the class's entitlements now;
    ///     afterwards only planned steps can be issued, each within its planned grant and duration.
    /// - Returns: the task id.
    public func openTask(
        for agent: AgentIdentity,
        objective: String,
        intent: String,
        deadline: Duration,
        plan: [StepGrant]? = nil
    ) async throws
        -> String
    {
        let registered = try await liveAgent(agent)
        let now = configuration.clock.now()
        var planned: [StepGrant]?
        if let plan {
            // Refuse a plan the class could never be granted, before any token exists.
            let entitled = try await entitlements(of: registered)
            var names: Set<String> = []
            for step in plan {
                guard names.insert(step.name).inserted else {
                    throw AuthorityError(.unknownStep, "the plan names step '\(step.name)' twice")
                }
                guard entitled.contains(where: { $0.covers(step) }) else {
                    throw AuthorityError(
                        .notEntitled,
                        "class '\(registered.agentClass.name)' is not entitled to planned step \(step)"
                    )
                }
            }
            planned = plan.sorted { $0.name < $1.name }
        }
        let id = "task-" + Hex.encode(SecureRandom.bytes(count: 6))
        let task = TaskRecord(
            id: id,
            agent: agent,
            objective: objective,
            intent: intent,
            deadline: now.advanced(by: deadline),
            plan: planned
        )
        try await record(
            AuditEvent(
                .taskOpened,
                time: now,
                agent: agent.description,
                task: id,
                reason: objective,
                attributes: [
                    "intent": intent, "class": registered.agentClass.name, "deadline": task.deadline.description,
                ]
            )
        )
        do {
            try await store.insert(.task(task))
        } catch let error as AuthorityStoreError where error.code == .conflict {
            throw AuthorityError(.storeConflict, "task id \(id) is already taken")
        } catch {
            throw AuthorityError(.storeFailed, "storing task \(id)", underlying: error)
        }
        return id
    }

    /// The task with this id, with its steps.
    ///
    /// - Throws: ``AuthorityError/Code/storeFailed`` when the store cannot be read.
    public func task(_ id: String) async throws -> TaskInfo? {
        guard let task = try await storedTask(id) else { return nil }
        return TaskInfo(task, steps: try await storedSteps(id))
    }

    /// The agent a task belongs to, or `nil` when no task has this id.
    ///
    /// One record read, whatever the task's size: ``task(_:)`` also reads every step, so a caller that only asks
    /// whose task it is (an ownership check on every request) uses this.
    ///
    /// - Throws: ``AuthorityError/Code/storeFailed`` when the store cannot be read.
    public func agent(ofTask id: String) async throws -> AgentIdentity? { try await storedTask(id)?.agent }

    /// Completes a task: every token of the task (and everything delegated from them) is revoked.
    public func complete(task taskID: String) async throws {
        try await close(taskID, state: .completed, reason: .completed)
    }

    /// Hands a task off to a different objective: the old task's tokens are revoked and a new task is opened
    /// for the same agent (mint its steps as usual).
    ///
    /// - Returns: the new task's id.
    public func handOff(
        task taskID: String,
        toObjective objective: String,
        intent: String,
        deadline: Duration
    )
        async throws -> String
    {
        guard let task = try await storedTask(taskID) else {
            throw AuthorityError(.unknownTask, "task \(taskID) does not exist")
        }
        guard task.state == .open else {
            throw AuthorityError(
                .taskClosed,
                "task \(taskID) is \(task.state.rawValue); only an open task can be handed off"
            )
        }
        try await close(taskID, state: .handedOff, reason: .handedOff)
        let newID = try await openTask(for: task.agent, objective: objective, intent: intent, deadline: deadline)
        try await withRetry("linking task \(taskID) to \(newID)") {
            guard var stored = try await store.task(taskID) else { return }
            let expected = stored.version
            stored.handedOffTo = newID
            try await store.update(.task(stored), expecting: expected)
        }
        try await record(
            AuditEvent(
                .handedOff,
                time: configuration.clock.now(),
                agent: task.agent.description,
                task: taskID,
                reason: objective,
                attributes: ["to-task": newID, "intent": intent]
            )
        )
        return newID
    }

    /// Revokes every open task whose deadline has passed (reason `timeout`). The watchdog calls this.
    ///
    /// Every overdue task is attempted, even when one fails.
    /// - Returns: the ids of the tasks this call timed out.
    /// - Throws: the first failure (its context lists every task that failed), after attempting them all.
    @discardableResult
    public func expireOverdueTasks() async throws -> [String] {
        let now = configuration.clock.now()
        let overdue = try await reading("overdue tasks") { try await store.openTasks(dueBy: now) }.map(\.id).sorted()
        var expired: [String] = []
        var failures: [(String, AuthorityError)] = []
        for id in overdue {
            do {
                if try await close(id, state: .timedOut, reason: .timeout) { expired.append(id) }
            } catch {
                let failure =
                    error as? AuthorityError ?? AuthorityError(.storeFailed, "closing task \(id)", underlying: error)
                failures.append((id, failure))
            }
        }
        if let first = failures.first {
            throw AuthorityError(
                first.1.code,
                "timing out " + failures.map { "task \($0.0): \($0.1)" }.joined(separator: "; ")
            )
        }
        return expired
    }

    /// The watchdog: revokes overdue tasks every `interval` until the surrounding task is cancelled.
    ///
    /// Run it in your service group or a task group; it is not detached. A failed round is reported to
    /// `onError` and the next round tries again.
    /// - Throws: `CancellationError` when cancelled while waiting.
    public func run(
        checkEvery interval: Duration = .seconds(1),
        onError: @Sendable (any Error) -> Void = { _ in }
    ) async throws {
        while !Task.isCancelled {
            do { try await expireOverdueTasks() } catch { onError(error) }
            try await Task.sleep(for: interval)
        }
    }

    /// Closes an open task: revokes it in the feed (covering its latest token), then commits its new state
    /// expecting the version whose expiry the revocation covered; on conflict it reads again and, if the task
    /// is still open, revokes again with the new coverage. Finally clears its steps' live tokens and audits.
    ///
    /// - Returns: whether this call closed the task (`false` when it was no longer open).
    @discardableResult
    func close(_ taskID: String, state: TaskState, reason: RevocationReason) async throws -> Bool {
        let closed: TaskRecord? = try await withRetry("closing task \(taskID)") {
            guard let task = try await store.task(taskID) else {
                throw AuthorityError(.unknownTask, "task \(taskID) does not exist")
            }
            guard task.state == .open else { return nil }
            // Revoke first: if the feed fails, the task stays open and a retry (or the watchdog) revokes again.
            // Tokens minted meanwhile carry the task id, so the task revocation covers them too.
            let now = configuration.clock.now()
            let covers = max(task.latestExpiry ?? now, now).advanced(by: VerificationOptions.maximumClockSkew)
            try await revoke(
                .task(taskID),
                reason: reason,
                coversUntil: covers,
                task: taskID,
                agent: task.agent.description
            )
            var next = task
            next.state = state
            return try await store.update(.task(next), expecting: task.version).task
        }
        guard let closed else { return false }
        for step in try await storedSteps(taskID) where step.live != nil {
            try await clearLive(task: taskID, step: step.name)
        }
        try await record(
            AuditEvent(
                .taskClosed,
                time: configuration.clock.now(),
                agent: closed.agent.description,
                task: taskID,
                reason: reason.rawValue,
                attributes: ["state": state.rawValue]
            )
        )
        return true
    }

    /// The entitlements of an agent's class; a failing policy becomes
    /// ``AuthorityError/Code/entitlementsUnavailable``.
    func entitlements(of agent: Agent) async throws -> [Entitlement] {
        do {
            return try await configuration.entitlements.entitlements(for: agent.identity, agentClass: agent.agentClass)
        } catch {
            throw AuthorityError(.entitlementsUnavailable, "entitlements of \(agent.identity)", underlying: error)
        }
    }
}
