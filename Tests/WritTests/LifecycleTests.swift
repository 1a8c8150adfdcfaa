import Testing
import Writ
import WritTesting

@Suite("Credential lifecycle")
struct LifecycleTests {
    @Test("a step's TTL is its need, capped by the class maximum and the task deadline")
    func ttlCaps() async throws {
        let world = try await World()
        let task = try await world.authority.openTask(
            for: world.supervisor,
            objective: "fix bug 42",
            intent: "fix-bug",
            deadline: .seconds(45)
        )
        let defaulted = try await world.authority.issue(task: task, step: World.step("a"))
        #expect(defaulted.lifetime == .seconds(30), "class default TTL")
        let capped = try await world.authority.issue(task: task, step: World.step("b", duration: .seconds(600)))
        #expect(capped.lifetime == .seconds(45), "the deadline (45 s) comes before the class cap (60 s)")
        world.clock.advance(by: .seconds(40))
        let late = try await world.authority.issue(task: task, step: World.step("c", duration: .seconds(30)))
        #expect(late.lifetime == .seconds(5), "never past the deadline")
        let short = try await world.authority.issue(task: task, step: World.step("d", duration: .seconds(2)))
        #expect(short.lifetime == .seconds(2), "the step's own need when shorter")
    }

    @Test("a grant outside the class's entitlements is refused")
    func entitlements() async throws {
        let world = try await World()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        await #expect(throws: AuthorityError(.notEntitled, "")) {
            try await world.authority.issue(task: task, step: World.step(actions: ["delete"]))
        }
        await #expect(throws: AuthorityError(.notEntitled, "")) {
            try await world.authority.issue(task: task, step: World.step(resources: ["payments/*"]))
        }
        await #expect(throws: AuthorityError(.notEntitled, "")) {
            try await world.authority.issue(task: task, step: World.step(audience: "mail"))
        }
    }

    @Test("refresh: capped by the class limit, revokes the old token, never past the deadline")
    func refreshLimits() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(50))
        let first = try await world.authority.issue(task: task, step: World.step())
        world.clock.advance(by: .seconds(10))
        let second = try await world.authority.refresh(task: task, step: "fix")
        #expect(second.token.id != first.token.id)
        #expect(second.refreshCount == 1)
        world.clock.advance(by: .seconds(10))
        let third = try await world.authority.refresh(task: task, step: "fix")
        #expect(third.expiresAt == first.issuedAt.advanced(by: .seconds(50)), "capped by the deadline")
        await #expect(throws: AuthorityError(.refreshLimitReached, "")) {
            try await world.authority.refresh(task: task, step: "fix")
        }

        // The superseded tokens are revoked on the verifier once it syncs.
        try await repo.sync()
        let decision = await present(first.token, key: world.supervisorKey, to: repo, clock: world.clock)
        #expect(decision.denialCode == .revoked)

        world.clock.advance(by: .seconds(31))
        await #expect(throws: AuthorityError(.deadlinePassed, "")) {
            try await world.authority.issue(task: task, step: World.step("late"))
        }
    }

    @Test(
        "revocation on completion, timeout and hand-off reaches the verifier",
        arguments: ["complete", "timeout", "hand-off"]
    )
    func automaticRevocation(trigger: String) async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(20))
        try await provider.begin(task: task, step: World.step(duration: .seconds(15)))
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").isAllowed)

        var newTask: String?
        switch trigger {
        case "complete": try await world.authority.complete(task: task)
        case "timeout":
            world.clock.advance(by: .seconds(10))
            #expect(try await world.authority.expireOverdueTasks().isEmpty)
            world.clock.advance(by: .seconds(10))
            #expect(try await world.authority.expireOverdueTasks() == [task])
        default:
            newTask = try await world.authority.handOff(
                task: task,
                toObjective: "write release notes",
                intent: "docs",
                deadline: .seconds(60)
            )
        }
        try await repo.sync()
        if trigger == "timeout" {
            // No token outlives its task's deadline, and the provider cannot refresh a timed-out task:
            // it fails closed instead of presenting anything.
            await #expect(throws: AuthorityError(.credentialUnavailable, "")) {
                try await world.call(provider, repo, "read", "repo/writ/a")
            }
        } else {
            #expect(try await world.call(provider, repo, "read", "repo/writ/a").denialCode == .revoked)
        }
        let state = try await world.authority.task(task)?.state
        #expect(state == ["complete": .completed, "timeout": .timedOut, "hand-off": .handedOff][trigger])
        if let newTask {
            #expect(try await world.authority.task(newTask)?.intent == "docs")
            await #expect(throws: AuthorityError(.taskClosed, "")) {
                try await world.authority.issue(task: task, step: World.step("again"))
            }
        }
    }

    @Test("the watchdog loop revokes overdue tasks until cancelled")
    func watchdog() async throws {
        let world = try await World()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(5))
        world.clock.advance(by: .seconds(6))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await world.authority.run(checkEvery: .milliseconds(5)) }
            for _ in 0..<400 {
                if try await world.authority.task(task)?.state == .timedOut { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            group.cancelAll()
            _ = try? await group.next()
        }
        #expect(try await world.authority.task(task)?.state == .timedOut)
    }

    @Test("revoking a supervisor's task revokes the sub-agent's delegated token (cascade)")
    func cascade() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        try await provider.begin(task: task, step: World.step())
        let delegated = try await provider.delegate(
            to: world.worker,
            publicKey: world.workerKey.publicKey,
            agentClass: "worker",
            actions: ["read"],
            resources: ["repo/writ/src/*"]
        )
        let sub = try CredentialProvider(
            identity: world.worker,
            key: world.workerKey,
            delegatedToken: delegated,
            clock: world.clock
        )
        #expect(try await world.call(sub, repo, "read", "repo/writ/src/main.swift").isAllowed)
        // Narrower than the parent: writes and other paths are refused.
        #expect(try await world.call(sub, repo, "write", "repo/writ/src/main.swift").denialCode == .tokenRejected)
        #expect(try await world.call(sub, repo, "read", "repo/writ/README").denialCode == .tokenRejected)

        // Revoke only the supervisor's root block: the delegated token dies with it.
        try await world.authority.revoke(block: delegated.root.revocationID)
        try await repo.sync()
        #expect(try await world.call(sub, repo, "read", "repo/writ/src/main.swift").denialCode == .revoked)
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").denialCode == .revoked)
    }

    @Test("completing the supervisor's task revokes the sub-agent's delegated token")
    func taskCascade() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        try await provider.begin(task: task, step: World.step())
        let delegated = try await provider.delegate(
            to: world.worker,
            publicKey: world.workerKey.publicKey,
            agentClass: "worker",
            actions: ["read"]
        )
        let sub = try CredentialProvider(
            identity: world.worker,
            key: world.workerKey,
            delegatedToken: delegated,
            clock: world.clock
        )
        #expect(try await world.call(sub, repo, "read", "repo/writ/a").isAllowed)
        try await world.authority.complete(task: task)
        try await repo.sync()
        #expect(try await world.call(sub, repo, "read", "repo/writ/a").denialCode == .revoked)
    }

    @Test("a sub-agent cannot share its supervisor's key, and delegation is audited")
    func subAgentOwnKey() async throws {
        let world = try await World()
        let clone = try AgentIdentity("spiffe://acme.test/agent/worker/2")
        await #expect(throws: AuthorityError(.delegationRefused, "")) {
            try await world.authority.register(
                clone,
                publicKey: world.supervisorKey.publicKey,
                agentClass: "worker",
                supervisor: world.supervisor
            )
        }
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        try await provider.begin(task: task, step: World.step())
        await #expect(throws: AuthorityError(.delegationRefused, "")) {
            try await provider.delegate(
                to: world.worker,
                publicKey: world.supervisorKey.publicKey,
                agentClass: "worker"
            )
        }
        _ = try await provider.delegate(to: world.worker, publicKey: world.workerKey.publicKey, agentClass: "worker")
        let kinds = try await world.authorityLog.entries(0..<world.authorityLog.size).map(\.event.kind)
        #expect(kinds.contains(.delegated))
    }

    @Test("key compromise revokes every token signed by the issuer key")
    func keyCompromise() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        try await provider.begin(task: task, step: World.step())
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").isAllowed)
        try await world.authority.revoke(issuerKey: world.issuerKey.publicKey.keyID)
        try await repo.sync()
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").denialCode == .revoked)
    }

    @Test("a stale verifier fails closed and recovers after syncing")
    func staleVerifier() async throws {
        let world = try await World()
        let repo = try await world.service("repo", maxStaleness: .seconds(5))
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        try await provider.begin(task: task, step: World.step())
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").isAllowed)
        world.clock.advance(by: .seconds(6))
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").denialCode == .revocationUnavailable)
        try await repo.sync()
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").isAllowed)
    }

    @Test("refusals for the service's own stale data are not counted against the agent (no burst, no revocation)")
    func staleRefusalsAreNotAnomalies() async throws {
        let world = try await World()
        let repo = try await world.service(
            "repo",
            policies: #"permit (principal, action == Action::"read", resource);"#,
            detectors: [DenialBurstDetector(threshold: 3, window: .seconds(60))],
            maxStaleness: .seconds(5)
        )
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        try await provider.begin(task: task, step: World.step())
        world.clock.advance(by: .seconds(6))
        // A client retrying through a partition: every answer is the service's own "cannot decide".
        for _ in 0..<6 {
            #expect(try await world.call(provider, repo, "read", "repo/writ/a").denialCode == .revocationUnavailable)
        }
        try await repo.sync()
        let after = try await world.call(provider, repo, "read", "repo/writ/a")
        #expect(after.isAllowed, "the stale refusals got the token quarantined: \(after)")
        // The same detector still counts the holder's own policy denials (write is granted, never permitted).
        for _ in 0..<3 { _ = try await world.call(provider, repo, "write", "repo/writ/a") }
        let quarantined = try await world.call(provider, repo, "read", "repo/writ/a")
        #expect(!quarantined.isAllowed, "three policy denials by the holder raised nothing: \(quarantined)")
    }

    @Test("the watermark proof holds only once every registered verifier has applied the revocation")
    func provableRevocation() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let tickets = try await world.service("tickets", policies: World.permissive)
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        _ = try await world.authority.issue(task: task, step: World.step())
        try await world.authority.complete(task: task)
        let sequence = world.revocations.latestSequence
        #expect(try await !world.revocations.isApplied(sequence: sequence, byAll: ["repo", "tickets"]))
        try await repo.sync()
        let partial = try await world.revocations.revocationProof(for: sequence, expecting: ["repo", "tickets"])
        #expect(!partial.isComplete)
        #expect(partial.laggards.map(\.verifier) == ["tickets"])
        try await tickets.sync()
        #expect(try await world.revocations.isApplied(sequence: sequence, byAll: ["repo", "tickets"]))
    }

    @Test("many tasks minting, refreshing and revoking at once stay consistent")
    func concurrency() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<24 {
                group.addTask {
                    let task = try await world.authority.openTask(
                        for: world.supervisor,
                        objective: "o\(i)",
                        intent: "fix-bug",
                        deadline: .seconds(60)
                    )
                    _ = try await world.authority.issue(task: task, step: World.step())
                    _ = try await world.authority.refresh(task: task, step: "fix")
                    if i.isMultiple(of: 2) { try await world.authority.complete(task: task) }
                }
                group.addTask { try await repo.sync() }
            }
            try await group.waitForAll()
        }
        try await repo.sync()
        // 24 superseded blocks + 12 completed tasks.
        #expect(world.revocations.latestSequence == 36)
        #expect(repo.snapshot.watermark == 36)
        let report = try await AuditVerifier.verify(store: world.authorityStore)
        #expect(report.isValid)
    }
}

@Suite("Attestation")
struct AttestationTests {
    @Test("an authority whose issuer signer fails mints nothing and says why (typed), then recovers")
    func issuerSignerFails() async throws {
        let clock = ManualClock()
        let signer = ScriptedSigner(key: Ed25519.PrivateKey())
        let cls = try AgentClass(name: "coder", defaultTTL: .seconds(30), maximumTTL: .seconds(60))
        let authority = CredentialAuthority(
            .init(
                issuerKey: signer,
                agentClasses: [cls],
                entitlements: EntitlementTable([
                    "coder": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])]
                ]),
                revocations: RevocationPublisher(
                    store: InMemoryRevocationStore(),
                    signer: Ed25519.PrivateKey(),
                    clock: clock
                ),
                audit: RecordingAuditSink(),
                clock: clock
            )
        )
        let id = try AgentIdentity("spiffe://acme.test/agent/coder/1")
        try await authority.register(id, publicKey: Ed25519.PrivateKey().publicKey, agentClass: "coder")
        let task = try await authority.openTask(for: id, objective: "o", intent: "i", deadline: .seconds(60))
        signer.setMode(.fail)
        await #expect(throws: AuthorityError(.tokenFailed, "")) {
            _ = try await authority.issue(task: task, step: World.step(actions: ["read"]))
        }
        signer.setMode(.sign)
        let issued = try await authority.issue(task: task, step: World.step(actions: ["read"]))
        #expect(issued.token.root.issuerKeyID == signer.publicKey.keyID)
        #expect(authority.issuerPublicKey == signer.publicKey)
    }

    @Test("a join token attests a workload once; the identity document binds identity, class, supervisor and key")
    func joinToken() async throws {
        let clock = ManualClock()
        let attestor = JoinTokenAttestor(clock: clock)
        let issuerKey = Ed25519.PrivateKey()
        let authority = CredentialAuthority(
            .init(
                issuerKey: issuerKey,
                agentClasses: [try AgentClass(name: "coder", defaultTTL: .seconds(30), maximumTTL: .seconds(60))],
                entitlements: EntitlementTable([:]),
                revocations: RevocationPublisher(
                    store: InMemoryRevocationStore(),
                    signer: Ed25519.PrivateKey(),
                    clock: clock
                ),
                audit: RecordingAuditSink(),
                clock: clock,
                attestor: attestor
            )
        )
        let identity = try AgentIdentity("spiffe://acme.test/agent/coder/7")
        let agentKey = Ed25519.PrivateKey()
        let join = try await attestor.issueJoinToken(for: identity, agentClass: "coder", ttl: .seconds(60))
        let document = try await authority.attest(join.evidence(signingKey: agentKey))
        #expect(document.identity == identity)
        #expect(document.publicKey == agentKey.publicKey)
        #expect(document.agentClass == "coder")
        try document.verify(trustBundle: TrustBundle(trusting: issuerKey.publicKey), at: clock.now())
        #expect(try await authority.agent(identity)?.publicKey == agentKey.publicKey)

        // One-time: the same join token cannot attest again, even with another key.
        await #expect(throws: AuthorityError(.attestationFailed, "")) {
            try await authority.attest(join.evidence(signingKey: Ed25519.PrivateKey()))
        }
        // Short-lived: an expired join token is refused.
        let late = try await attestor.issueJoinToken(for: identity, agentClass: "coder", ttl: .seconds(5))
        clock.advance(by: .seconds(6))
        await #expect(throws: AuthorityError(.attestationFailed, "")) {
            try await authority.attest(late.evidence(signingKey: agentKey))
        }
    }
}

@Suite("Registration")
struct RegistrationTests {
    @Test("an identity cannot be re-bound to another key, nor registered again once revoked")
    func rebinding() async throws {
        let world = try await World()
        await #expect(throws: AuthorityError(.alreadyRegistered, "")) {
            try await world.authority.register(
                world.supervisor,
                publicKey: Ed25519.PrivateKey().publicKey,
                agentClass: "supervisor"
            )
        }
        // The same binding again is harmless.
        try await world.authority.register(
            world.supervisor,
            publicKey: world.supervisorKey.publicKey,
            agentClass: "supervisor"
        )
        try await world.authority.revoke(agent: world.worker)
        await #expect(throws: AuthorityError(.alreadyRegistered, "")) {
            try await world.authority.register(
                world.worker,
                publicKey: world.workerKey.publicKey,
                agentClass: "worker",
                supervisor: world.supervisor
            )
        }
        await #expect(throws: AuthorityError(.unknownAgent, "")) {
            try await world.authority.openTask(for: world.worker, objective: "o", intent: "i", deadline: .seconds(5))
        }
    }
}

@Suite("Task plans")
struct TaskPlanTests {
    @Test("a planned task issues only its planned steps, each no wider or longer than planned")
    func plannedSteps() async throws {
        let world = try await World()
        let plan = [
            World.step("read", actions: ["read"], duration: .seconds(10)),
            World.step("write", actions: ["write"], resources: ["repo/writ/src/*"], duration: .seconds(5)),
        ]
        let task = try await world.authority.openTask(
            for: world.supervisor,
            objective: "o",
            intent: "fix-bug",
            deadline: .seconds(60),
            plan: plan
        )
        #expect(try await world.authority.task(task)?.plan?.count == 2)
        _ = try await world.authority.issue(task: task, step: plan[0])
        await #expect(throws: AuthorityError(.notEntitled, "")) {
            try await world.authority.issue(task: task, step: World.step("unplanned", actions: ["read"]))
        }
        await #expect(throws: AuthorityError(.notEntitled, "")) {
            // Wider than its plan (read was not planned for "write"), though the class is entitled to it.
            try await world.authority.issue(
                task: task,
                step: World.step("write", actions: ["read", "write"], duration: .seconds(5))
            )
        }
        await #expect(throws: AuthorityError(.notEntitled, "")) {
            try await world.authority.issue(
                task: task,
                step: World.step("write", actions: ["write"], resources: ["repo/writ/src/*"], duration: .seconds(50))
            )
        }
        // Narrower than planned is fine.
        let narrow = World.step(
            "write",
            actions: ["write"],
            resources: ["repo/writ/src/a.swift"],
            duration: .seconds(2)
        )
        _ = try await world.authority.issue(task: task, step: narrow)
        // A live step cannot be re-issued with another grant; the same grant refreshes it.
        await #expect(throws: AuthorityError(.stepConflict, "")) {
            try await world.authority.issue(task: task, step: plan[1])
        }
        #expect(try await world.authority.issue(task: task, step: narrow).refreshCount == 1)
    }

    @Test("a plan the class is not entitled to is refused when the task opens")
    func refusedPlan() async throws {
        let world = try await World()
        await #expect(throws: AuthorityError(.notEntitled, "")) {
            try await world.authority.openTask(
                for: world.worker,
                objective: "o",
                intent: "fix-bug",
                deadline: .seconds(60),
                plan: [World.step("write", actions: ["write"])]
            )
        }
    }
}
