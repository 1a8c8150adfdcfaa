public import WritAudit
public import WritCrypto
public import WritIdentity
public import WritRevocation
public import WritTokens

/// The issuer side: registers agents, opens tasks, mints a narrow token per task step, refreshes within
/// limits, and revokes — on completion, deadline, anomaly, hand-off or key compromise — recording every
/// action in the audit log.
///
/// The authority is an actor. Methods that write to the revocation store or audit log first validate and build
/// what they will do, then await the writes, then re-check the task and commit, so a token is never handed out
/// unless its issuance was audited.
public actor CredentialAuthority {
    /// How the authority is set up.
    public struct Configuration: Sendable {
        /// The key that signs root token blocks. Verifiers trust its public key.
        public var issuerKey: Ed25519.PrivateKey
        /// The agent classes the authority knows (TTL caps, refresh limits, delegation).
        public var agentClasses: [AgentClass]
        /// What each class may be granted.
        public var entitlements: any EntitlementPolicy
        /// Signs revocations into the feed that verifiers follow (the revocation key and its store).
        public var revocations: RevocationPublisher
        /// Where the authority's audit events go.
        public var audit: any AuditSink
        /// The authority's clock.
        public var clock: any WallClock
        /// What an anomaly report revokes (default: the presented token's block and the agent).
        public var anomalyResponse: Set<AnomalyResponse>
        /// Proves what a workload is before it gets an identity (e.g. ``JoinTokenAttestor``).
        public var attestor: (any Attestor)?
        /// How long identity documents are valid.
        public var identityLifetime: Duration

        /// Creates a configuration.
        public init(
            issuerKey: Ed25519.PrivateKey,
            agentClasses: [AgentClass],
            entitlements: any EntitlementPolicy,
            revocations: RevocationPublisher,
            audit: any AuditSink,
            clock: any WallClock = SystemClock(),
            anomalyResponse: Set<AnomalyResponse> = [.revokeToken, .revokeAgent],
            attestor: (any Attestor)? = nil,
            identityLifetime: Duration = .seconds(3600)
        ) {
            self.attestor = attestor
            self.identityLifetime = identityLifetime
            self.issuerKey = issuerKey
            self.agentClasses = agentClasses
            self.entitlements = entitlements
            self.revocations = revocations
            self.audit = audit
            self.clock = clock
            self.anomalyResponse = anomalyResponse
        }
    }

    /// What the authority revokes when an anomaly is reported.
    public enum AnomalyResponse: String, Hashable, Sendable {
        /// The presented token's last block (and so everything delegated from it).
        case revokeToken = "token"
        /// The agent that presented it: none of its tokens work any more.
        case revokeAgent = "agent"
        /// The whole task the token belongs to.
        case revokeTask = "task"
    }

    /// A registered agent.
    public struct Agent: Sendable, Hashable {
        /// Its identity.
        public let identity: AgentIdentity
        /// The key its tokens are bound to.
        public let publicKey: Ed25519.PublicKey
        /// Its class.
        public let agentClass: AgentClass
        /// The supervising agent, for sub-agents.
        public let supervisor: AgentIdentity?
        /// Whether the agent has been revoked.
        public fileprivate(set) var isRevoked: Bool
    }

    /// The state of a task.
    public enum TaskState: String, Sendable, Hashable {
        /// Steps may be minted and refreshed.
        case open
        /// Finished; its tokens are revoked.
        case completed
        /// Handed off to another objective; its tokens are revoked.
        case handedOff = "handed-off"
        /// Its deadline passed; its tokens are revoked.
        case timedOut = "timed-out"
        /// Revoked by an operator or an anomaly response.
        case revoked
    }

    /// A task as the authority tracks it.
    public struct TaskInfo: Sendable, Hashable {
        /// The task id.
        public let id: String
        /// The agent it belongs to.
        public let agent: AgentIdentity
        /// What the task is for, in words.
        public let objective: String
        /// The declared intent carried in its tokens (e.g. `fix-bug`).
        public let intent: String
        /// When it must be done.
        public let deadline: Timestamp
        /// Its state.
        public fileprivate(set) var state: TaskState
        /// Its steps, by name.
        public fileprivate(set) var steps: [String: StepInfo]
        /// The task this one was handed off to, if any.
        public fileprivate(set) var handedOffTo: String?
        /// The step number the next new step gets.
        fileprivate var nextStepNumber: UInt64 = 1
        /// The latest expiry of any token issued for the task (what a task revocation must cover).
        public fileprivate(set) var latestExpiry: Timestamp?
        /// The steps planned when the task was opened, by name; `nil` when the task was opened without a plan.
        /// With a plan, only planned steps can be issued, and only within their planned grant.
        public fileprivate(set) var plan: [String: StepGrant]?
    }

    /// One step of a task.
    public struct StepInfo: Sendable, Hashable {
        /// What the step was granted.
        public let grant: StepGrant
        /// The step number carried in its tokens (1, 2, … in order of first issue).
        public let number: UInt64
        /// The live token, if any.
        public fileprivate(set) var live: IssuedToken?
        /// Refreshes so far.
        public fileprivate(set) var refreshCount: Int
    }

    private let configuration: Configuration
    private let classes: [String: AgentClass]
    private var agents: [AgentIdentity: Agent] = [:]
    private var tasks: [String: TaskInfo] = [:]
    /// Token ids that already had an anomaly (bounded), to escalate repeat offenders.
    private var anomalousTokens: Set<String> = []

    /// Creates an authority.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        var classes: [String: AgentClass] = [:]
        for agentClass in configuration.agentClasses { classes[agentClass.name] = agentClass }
        self.classes = classes
    }

    /// The issuer's public key, for verifiers' trust bundles.
    public nonisolated var issuerPublicKey: Ed25519.PublicKey { configuration.issuerKey.publicKey }

    /// The agent classes the authority knows.
    public nonisolated var agentClasses: [AgentClass] { configuration.agentClasses }

    // MARK: Agents

    /// Attests a workload through the configured ``Attestor``, registers it, and issues its identity document:
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
            throw AuthorityError(.attestationFailed, "attestation failed: \(error)")
        }
        guard let className = workload.agentClass else {
            throw AuthorityError(.unknownAgentClass, "attestation of \(workload.identity) named no agent class")
        }
        let agent = try register(
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
            agents[agent.identity] = nil
            throw AuthorityError(.tokenFailed, "identity document for \(agent.identity) failed: \(error)")
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
    /// can be registered again only with the same key, class and supervisor, and never once revoked.
    /// - Throws: ``AuthorityError`` for an unknown class or supervisor, a key shared with the supervisor, or an
    ///   identity already bound to something else or revoked.
    @discardableResult
    public func register(
        _ identity: AgentIdentity,
        publicKey: Ed25519.PublicKey,
        agentClass className: String,
        supervisor: AgentIdentity? = nil
    ) throws -> Agent {
        guard let agentClass = classes[className] else {
            throw AuthorityError(.unknownAgentClass, "agent class '\(className)' is not configured")
        }
        if let existing = agents[identity] {
            guard !existing.isRevoked else {
                throw AuthorityError(.alreadyRegistered, "agent \(identity) was revoked and cannot be registered again")
            }
            guard existing.publicKey == publicKey, existing.agentClass.name == className,
                existing.supervisor == supervisor
            else {
                throw AuthorityError(
                    .alreadyRegistered,
                    "agent \(identity) is already bound to another key, class or supervisor"
                )
            }
            return existing
        }
        if let supervisor {
            guard let parent = agents[supervisor] else {
                throw AuthorityError(.unknownAgent, "supervisor \(supervisor) is not registered")
            }
            guard parent.publicKey != publicKey else {
                throw AuthorityError(
                    .delegationRefused,
                    "sub-agent \(identity) must have its own key, not its supervisor's"
                )
            }
        }
        let agent = Agent(
            identity: identity,
            publicKey: publicKey,
            agentClass: agentClass,
            supervisor: supervisor,
            isRevoked: false
        )
        agents[identity] = agent
        return agent
    }

    /// The registered agent with this identity.
    public func agent(_ identity: AgentIdentity) -> Agent? { agents[identity] }

    // MARK: Tasks

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
        let registered = try liveAgent(agent)
        let now = configuration.clock.now()
        var planned: [String: StepGrant]?
        if let plan {
            // Refuse a plan the class could never be granted, before any token exists.
            let entitled = configuration.entitlements.entitlements(for: agent, agentClass: registered.agentClass)
            planned = [:]
            for step in plan {
                guard planned?[step.name] == nil else {
                    throw AuthorityError(.unknownStep, "the plan names step '\(step.name)' twice")
                }
                guard entitled.contains(where: { $0.covers(step) }) else {
                    throw AuthorityError(
                        .notEntitled,
                        "class '\(registered.agentClass.name)' is not entitled to planned step \(step)"
                    )
                }
                planned?[step.name] = step
            }
        }
        let id = "task-" + Hex.encode(SecureRandom.bytes(count: 6))
        let info = TaskInfo(
            id: id,
            agent: agent,
            objective: objective,
            intent: intent,
            deadline: now.advanced(by: deadline),
            state: .open,
            steps: [:],
            handedOffTo: nil,
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
                    "intent": intent, "class": registered.agentClass.name, "deadline": info.deadline.description,
                ]
            )
        )
        tasks[id] = info
        return id
    }

    /// The task with this id.
    public func task(_ id: String) -> TaskInfo? { tasks[id] }

    /// Mints the token for a task step: one audience, the step's actions and resources, a TTL of the step's
    /// need capped by the class maximum and the task deadline.
    ///
    /// Issuing a step that already has a live token for the same grant refreshes it (and counts against the
    /// refresh limit); a different grant for a live step is refused. A step issued again after
    /// ``completeStep(task:step:)`` keeps its refresh count.
    /// - Throws: ``AuthorityError`` when the task is closed or overdue, or no entitlement covers the grant.
    public func issue(task taskID: String, step grant: StepGrant) async throws -> IssuedToken {
        if let step = tasks[taskID]?.steps[grant.name], step.live != nil {
            guard step.grant == grant else {
                throw AuthorityError(
                    .stepConflict,
                    "step '\(grant.name)' of task \(taskID) is live with another grant; complete it first"
                )
            }
            return try await refresh(task: taskID, step: grant.name)
        }
        let now = configuration.clock.now()
        let (task, agent) = try openTaskAndAgent(taskID, now: now)
        if let plan = task.plan {
            guard let planned = plan[grant.name], Self.grant(grant, isWithin: planned) else {
                throw AuthorityError(
                    .notEntitled,
                    "step \(grant) is not in task \(taskID)'s plan or is wider than the planned step"
                )
            }
        }
        let entitled = configuration.entitlements.entitlements(for: agent.identity, agentClass: agent.agentClass)
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
        let previous = task.steps[grant.name]
        let number = previous?.number ?? task.nextStepNumber
        let refreshCount = previous?.refreshCount ?? 0
        let issued = try mint(
            task: task,
            agent: agent,
            grant: grant,
            stepNumber: number,
            now: now,
            refreshCount: refreshCount
        )
        // Commit before any await, so concurrent calls see the live token and the step number is taken.
        tasks[taskID]?.steps[grant.name] = StepInfo(
            grant: grant,
            number: number,
            live: issued,
            refreshCount: refreshCount
        )
        if previous == nil { tasks[taskID]?.nextStepNumber += 1 }
        noteExpiry(issued, task: taskID)
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
    /// the deadline. The old token's block is revoked before the new token is returned (one live token per
    /// step), and the refresh is audited.
    public func refresh(task taskID: String, step name: String) async throws -> IssuedToken {
        let now = configuration.clock.now()
        let (task, agent) = try openTaskAndAgent(taskID, now: now)
        guard let step = task.steps[name], let old = step.live else {
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
        let issued = try mint(
            task: task,
            agent: agent,
            grant: step.grant,
            stepNumber: step.number,
            now: now,
            refreshCount: step.refreshCount + 1
        )
        // Commit before any await: a concurrent refresh sees the new count and the new live token.
        tasks[taskID]?.steps[name]?.live = issued
        tasks[taskID]?.steps[name]?.refreshCount = step.refreshCount + 1
        noteExpiry(issued, task: taskID)
        do {
            try await revoke(.block(old.revocationID), reason: .superseded, coversUntil: old.expiresAt, task: taskID)
            try await record(issuedEvent(issued, kind: .refreshed, agent: agent, grant: step.grant, parent: old))
        } catch {
            try? await abandon(issued, task: taskID, step: name)
            throw error
        }
        try await confirmLive(issued, task: taskID, step: name)
        return issued
    }

    /// After the awaits of issue or refresh: the task must still be open and `issued` still the step's live
    /// token (a concurrent completion, refresh or close may have replaced it); otherwise it is revoked.
    private func confirmLive(_ issued: IssuedToken, task taskID: String, step name: String) async throws {
        guard tasks[taskID]?.state == .open, tasks[taskID]?.steps[name]?.live?.token.id == issued.token.id else {
            try? await abandon(issued, task: taskID, step: name)
            throw AuthorityError(.taskClosed, "task \(taskID) step '\(name)' changed while its token was being issued")
        }
    }

    /// Whether `grant` asks for no more than `planned`: same audience, a subset of its actions, resources it
    /// covers, and no longer a duration.
    private static func grant(_ grant: StepGrant, isWithin planned: StepGrant) -> Bool {
        grant.audience == planned.audience && grant.actions.allSatisfy(planned.actions.contains)
            && grant.resources.allSatisfy { wanted in planned.resources.contains { $0.covers(wanted) } }
            && (grant.duration ?? .seconds(Int64.max)) <= (planned.duration ?? .seconds(Int64.max))
    }

    /// Records the latest expiry of the task's tokens (what a task revocation must cover).
    private func noteExpiry(_ issued: IssuedToken, task taskID: String) {
        let latest = max(tasks[taskID]?.latestExpiry ?? issued.expiresAt, issued.expiresAt)
        tasks[taskID]?.latestExpiry = latest
    }

    /// Withdraws a token that will not be handed out: clears it from the step and revokes its block.
    private func abandon(_ issued: IssuedToken, task taskID: String, step name: String) async throws {
        if tasks[taskID]?.steps[name]?.live?.token.id == issued.token.id { tasks[taskID]?.steps[name]?.live = nil }
        try await revoke(.block(issued.revocationID), reason: .completed, coversUntil: issued.expiresAt, task: taskID)
    }

    /// Ends a step early: revokes its live token.
    public func completeStep(task taskID: String, step name: String) async throws {
        guard let live = tasks[taskID]?.steps[name]?.live else {
            throw AuthorityError(.unknownStep, "task \(taskID) has no live token for step '\(name)'")
        }
        tasks[taskID]?.steps[name]?.live = nil
        try await revoke(.block(live.revocationID), reason: .completed, coversUntil: live.expiresAt, task: taskID)
    }

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
        guard let task = tasks[taskID] else { throw AuthorityError(.unknownTask, "task \(taskID) does not exist") }
        guard task.state == .open else {
            throw AuthorityError(
                .taskClosed,
                "task \(taskID) is \(task.state.rawValue); only an open task can be handed off"
            )
        }
        try await close(taskID, state: .handedOff, reason: .handedOff)
        let newID = try await openTask(for: task.agent, objective: objective, intent: intent, deadline: deadline)
        tasks[taskID]?.handedOffTo = newID
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
    /// - Returns: the ids of the tasks that timed out.
    @discardableResult
    public func expireOverdueTasks() async -> [String] {
        let now = configuration.clock.now()
        let overdue = tasks.values.filter { $0.state == .open && $0.deadline <= now }.map(\.id).sorted()
        for id in overdue {
            try? await close(id, state: .timedOut, reason: .timeout)
        }
        return overdue
    }

    /// The watchdog: revokes overdue tasks every `interval` until the surrounding task is cancelled.
    ///
    /// Run it in your service group or a task group; it is not detached.
    public func run(checkEvery interval: Duration = .seconds(1)) async throws {
        while !Task.isCancelled {
            await expireOverdueTasks()
            try await Task.sleep(for: interval)
        }
    }

    // MARK: Revocation on demand

    /// Handles an anomaly reported by a gatekeeper: revokes per ``Configuration/anomalyResponse``, then audits.
    ///
    /// The presented token's last block is revoked (and with it everything delegated from it). The agent named
    /// in the report is revoked only when the authority can confirm it: it is registered and its key is the key
    /// that held the token (``AnomalyReport/holderKeyID``) — a delegator cannot get another agent revoked by
    /// naming it in a delegation block. A second anomaly for the same token also revokes its root block (the
    /// delegator could otherwise keep minting fresh sibling delegations).
    public func reportAnomaly(_ report: AnomalyReport) async throws {
        let now = configuration.clock.now()
        let response = configuration.anomalyResponse
        let horizon = now.advanced(by: longestTTL)
        var revoked: [String] = []
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
            if anomalousTokens.contains(tokenID), let root = report.rootBlockID, root != report.blockID {
                try await revoke(.block(root), reason: .anomaly, coversUntil: horizon, task: report.taskID)
                revoked.append("root block \(root) (repeat)")
            }
            if anomalousTokens.count < 100_000 { anomalousTokens.insert(tokenID) }
        }
        if response.contains(.revokeAgent), let agentText = report.agent, let identity = try? AgentIdentity(agentText),
            let registered = agents[identity], registered.publicKey.keyID == report.holderKeyID
        {
            agents[identity]?.isRevoked = true
            try await revoke(
                .agent(agentText),
                reason: .anomaly,
                coversUntil: horizon,
                task: report.taskID,
                agent: agentText
            )
            revoked.append("agent \(agentText)")
        }
        if response.contains(.revokeTask), let taskID = report.taskID, tasks[taskID]?.state == .open {
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
    }

    /// Revokes one agent: none of its tokens work any more, and it gets no new ones.
    public func revoke(agent identity: AgentIdentity, reason: RevocationReason = .manual) async throws {
        agents[identity]?.isRevoked = true
        let horizon = configuration.clock.now().advanced(by: longestTTL)
        try await revoke(
            .agent(identity.description),
            reason: reason,
            coversUntil: horizon,
            agent: identity.description
        )
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
        guard let sub = agents[delegate], sub.supervisor == supervisor, !sub.isRevoked else {
            throw AuthorityError(.delegationRefused, "\(delegate) is not a registered sub-agent of \(supervisor)")
        }
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

    // MARK: Internals

    private var longestTTL: Duration {
        configuration.agentClasses.map(\.maximumTTL).max() ?? .seconds(3600)
    }

    private func liveAgent(_ identity: AgentIdentity) throws -> Agent {
        guard let agent = agents[identity] else {
            throw AuthorityError(.unknownAgent, "agent \(identity) is not registered")
        }
        guard !agent.isRevoked else { throw AuthorityError(.unknownAgent, "agent \(identity) is revoked") }
        return agent
    }

    private func openTaskAndAgent(_ taskID: String, now: Timestamp) throws -> (TaskInfo, Agent) {
        guard let task = tasks[taskID] else { throw AuthorityError(.unknownTask, "task \(taskID) does not exist") }
        guard task.state == .open else {
            throw AuthorityError(.taskClosed, "task \(taskID) is \(task.state.rawValue)")
        }
        guard now < task.deadline else {
            throw AuthorityError(.deadlinePassed, "task \(taskID) passed its deadline \(task.deadline)")
        }
        return (task, try liveAgent(task.agent))
    }

    private func mint(
        task: TaskInfo,
        agent: Agent,
        grant: StepGrant,
        stepNumber: UInt64,
        now: Timestamp,
        refreshCount: Int
    ) throws -> IssuedToken {
        let cls = agent.agentClass
        let ttl = min(grant.duration ?? cls.defaultTTL, cls.maximumTTL)
        // Tokens carry whole seconds: round both ends down so `IssuedToken` states exactly what the token says.
        let now = Timestamp(secondsSinceEpoch: now.secondsSinceEpoch)
        let expiresAt = Timestamp(secondsSinceEpoch: min(now.advanced(by: ttl), task.deadline).secondsSinceEpoch)
        guard expiresAt > now else {
            throw AuthorityError(.deadlinePassed, "task \(task.id) has no time left for step '\(grant.name)'")
        }
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
            issuedAt: now,
            expiresAt: expiresAt
        )
        do {
            let token = try CapabilityToken.mint(claims, agentClass: cls, issuerKey: configuration.issuerKey)
            return IssuedToken(
                token: token,
                taskID: task.id,
                step: grant.name,
                issuedAt: now,
                expiresAt: expiresAt,
                refreshCount: refreshCount
            )
        } catch {
            throw AuthorityError(.tokenFailed, "minting step '\(grant.name)' of task \(task.id) failed: \(error)")
        }
    }

    private func issuedEvent(
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

    private func close(_ taskID: String, state: TaskState, reason: RevocationReason) async throws {
        guard let task = tasks[taskID] else { throw AuthorityError(.unknownTask, "task \(taskID) does not exist") }
        guard task.state == .open else { return }
        // Revoke first: if the store fails, the task stays open and a retry (or the watchdog) revokes again.
        // Tokens minted meanwhile carry the task id, so the task revocation covers them too.
        let covers = max(task.latestExpiry ?? configuration.clock.now(), configuration.clock.now())
            .advanced(by: VerificationOptions.maximumClockSkew)
        try await revoke(
            .task(taskID),
            reason: reason,
            coversUntil: covers,
            task: taskID,
            agent: task.agent.description
        )
        guard tasks[taskID]?.state == .open else { return }
        tasks[taskID]?.state = state
        for name in task.steps.keys { tasks[taskID]?.steps[name]?.live = nil }
        try await record(
            AuditEvent(
                .taskClosed,
                time: configuration.clock.now(),
                agent: task.agent.description,
                task: taskID,
                reason: reason.rawValue,
                attributes: ["state": state.rawValue]
            )
        )
    }

    @discardableResult
    private func revoke(
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
            throw AuthorityError(.recordFailed, "revoking \(target) failed: \(error)")
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

    private func record(_ event: AuditEvent) async throws {
        do {
            _ = try await configuration.audit.record(event)
        } catch {
            throw AuthorityError(.recordFailed, "audit log refused \(event.kind.rawValue): \(error)")
        }
    }
}
