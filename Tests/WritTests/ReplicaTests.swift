import Testing
import Writ
import WritTesting

/// Whether `error` is one of the typed refusals a replica may see when another changed the same record.
private func isTypedRace(_ error: any Error, also extra: Set<AuthorityError.Code> = []) -> Bool {
    guard let error = error as? AuthorityError else { return false }
    return ([.taskClosed, .storeConflict] as Set).union(extra).contains(error.code)
}

/// The outcome of `body` as a value.
private func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

@Suite("Two authorities on one store")
struct TwoAuthorityTests {
    static let probe = StepGrant(
        name: "probe",
        audience: "repo",
        actions: [RevocationDrill.canaryAction],
        resources: ["drill/canary"]
    )

    /// How many issues of one step `oneLiveTokenPerStep` races, alternating between the two authorities.
    static let racingIssues = 20

    @Test("issuing one step from two authorities at once leaves exactly one live token that works")
    func oneLiveTokenPerStep() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let replicas = [world.authority, world.replica()]
        let task = try await world.openTask(for: world.canary, deadline: .seconds(300))  // canary: 100 refreshes
        let results = await withTaskGroup(of: Result<IssuedToken, any Error>.self) { group in
            for i in 0..<Self.racingIssues {
                let authority = replicas[i % 2]
                group.addTask { await attempt { try await authority.issue(task: task, step: Self.probe) } }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let issued = results.compactMap { try? $0.get() }
        for case .failure(let error) in results { #expect(isTypedRace(error), "untyped failure: \(error)") }
        #expect(!issued.isEmpty)
        let step = try #require(try await world.replica().task(task)?.steps["probe"])
        let live = try #require(step.live)
        // Every token of the step carries the step's one number. Which number is not fixed: the number is taken
        // on the task before the step is inserted, so when a replica that took a later number inserts first,
        // the earlier number is skipped (the loser's retry refreshes the winner's step).
        #expect(Set(issued.map(\.token.root.claims.step)) == [step.number], "one step, one number")
        #expect((1...UInt64(Self.racingIssues)).contains(step.number), "at most one number per racing issue")
        #expect(live.token.root.claims.step == step.number)
        #expect(step.refreshCount >= issued.count - 1, "a refresh was lost: \(step.refreshCount)")
        try await repo.sync()
        var working: [String] = []
        for token in issued.map(\.token) + [live.token] {
            let decision = await present(
                token,
                key: world.canaryKey,
                to: repo,
                clock: world.clock,
                action: RevocationDrill.canaryAction,
                resource: "drill/canary"
            )
            if decision.isAllowed { working.append(token.id.description) }
        }
        #expect(Set(working) == [live.token.id.description], "tokens that work: \(working)")
    }

    @Test("the refresh limit holds across two authorities refreshing at once")
    func refreshLimitAcrossReplicas() async throws {
        let world = try await World()
        let replicas = [world.authority, world.replica()]
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(300))  // refreshLimit 2
        _ = try await world.authority.issue(task: task, step: World.step())
        let results = await withTaskGroup(of: Result<IssuedToken, any Error>.self) { group in
            for i in 0..<12 {
                let authority = replicas[i % 2]
                group.addTask { await attempt { try await authority.refresh(task: task, step: "fix") } }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let succeeded = results.filter { (try? $0.get()) != nil }.count
        var limited = 0
        for case .failure(let error) in results {
            #expect(isTypedRace(error, also: [.refreshLimitReached]), "untyped failure: \(error)")
            if (error as? AuthorityError)?.code == .refreshLimitReached { limited += 1 }
        }
        #expect((1...2).contains(succeeded), "\(succeeded) refreshes succeeded with refreshLimit 2")
        #expect(limited >= 10)
        #expect(try await world.replica().task(task)?.steps["fix"]?.refreshCount == 2)
        await #expect(throws: AuthorityError(.refreshLimitReached, "")) {
            try await world.replica().refresh(task: task, step: "fix")
        }
    }

    @Test("steps issued at once on one task from two authorities get distinct numbers")
    func distinctStepNumbers() async throws {
        let world = try await World()
        let replicas = [world.authority, world.replica()]
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(300))
        let numbers = try await withThrowingTaskGroup(of: UInt64?.self) { group in
            for i in 0..<10 {
                let authority = replicas[i % 2]
                group.addTask {
                    try await authority.issue(task: task, step: World.step("s\(i)")).token.root.claims.step
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(numbers).count == 10, "step numbers collided: \(numbers)")
    }

    @Test("a join token presented to two authorities at once attests exactly once")
    func joinTokenOnceAcrossReplicas() async throws {
        let world = try await World()
        func replica() -> CredentialAuthority {
            var configuration = world.configuration
            configuration.attestor = JoinTokenAttestor(clock: world.clock, store: world.state)
            return CredentialAuthority(configuration)
        }
        let replicas = [replica(), replica()]
        let issuing = JoinTokenAttestor(clock: world.clock, store: world.state)
        for n in 0..<10 {
            let identity = try AgentIdentity("spiffe://acme.test/agent/worker/j\(n)")
            let join = try await issuing.issueJoinToken(for: identity, agentClass: "canary")
            let key = Ed25519.PrivateKey()
            let attested = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<6 {
                    let authority = replicas[i % 2]
                    group.addTask { (try? await authority.attest(join.evidence(signingKey: key))) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(attested == 1, "join token \(n) attested \(attested) times")
        }
        #expect(try await issuing.outstandingCount == 0)
    }
}

@Suite("Authority restart")
struct RestartTests {
    @Test("a new authority on the same store continues an open task: refresh, complete step, hand-off, complete")
    func taskContinues() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        var before: CredentialAuthority? = world.replica()
        let task = try await before!.openTask(
            for: world.supervisor,
            objective: "o",
            intent: "fix-bug",
            deadline: .seconds(300)
        )
        let fix = try await before!.issue(task: task, step: World.step())
        let refreshed = try await before!.refresh(task: task, step: "fix")
        let docs = try await before!.issue(task: task, step: World.step("docs", actions: ["read"]))
        before = nil  // the process ends; only the store, the feed and the audit log remain

        let after = world.replica()
        let info = try #require(try await after.task(task))
        #expect(info.state == .open && info.steps["fix"]?.refreshCount == 1)
        #expect(info.steps["fix"]?.live?.token.id == refreshed.token.id, "the live token survives the restart")
        // Refresh continues the count (supervisor: refreshLimit 2) and revokes the pre-restart token.
        let again = try await after.refresh(task: task, step: "fix")
        #expect(again.refreshCount == 2 && again.token.root.claims.step == fix.token.root.claims.step)
        await #expect(throws: AuthorityError(.refreshLimitReached, "")) {
            try await after.refresh(task: task, step: "fix")
        }
        // Issuing a live step again with the same grant refreshes it, across the restart too.
        let docsAgain = try await after.issue(task: task, step: World.step("docs", actions: ["read"]))
        #expect(docsAgain.refreshCount == 1)
        try await after.completeStep(task: task, step: "docs")
        try await repo.sync()
        for token in [fix.token, refreshed.token, docs.token, docsAgain.token] {
            #expect(!(await present(token, key: world.supervisorKey, to: repo, clock: world.clock).isAllowed))
        }
        #expect(await present(again.token, key: world.supervisorKey, to: repo, clock: world.clock).isAllowed)

        let next = try await after.handOff(task: task, toObjective: "docs", intent: "fix-bug", deadline: .seconds(60))
        #expect(try await world.replica().task(task)?.state == .handedOff)
        #expect(try await world.replica().task(task)?.handedOffTo == next)
        try await repo.sync()
        #expect(!(await present(again.token, key: world.supervisorKey, to: repo, clock: world.clock).isAllowed))
        _ = try await world.replica().issue(task: next, step: World.step())
        try await world.replica().complete(task: next)
        #expect(try await after.task(next)?.state == .completed)
        #expect(try await AuditVerifier.verify(store: world.authorityStore).isValid)
    }

    @Test("a deadline set before a restart still revokes the task after it")
    func deadlineSurvivesRestart() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        var before: CredentialAuthority? = world.replica()
        let task = try await before!.openTask(
            for: world.supervisor,
            objective: "o",
            intent: "fix-bug",
            deadline: .seconds(30)
        )
        let issued = try await before!.issue(task: task, step: World.step(duration: .seconds(60)))
        before = nil

        let after = world.replica()
        #expect(try await after.expireOverdueTasks().isEmpty)
        world.clock.advance(by: .seconds(31))
        #expect(try await after.expireOverdueTasks() == [task])
        #expect(try await after.task(task)?.state == .timedOut)
        #expect(try await after.task(task)?.steps["fix"]?.live == nil)
        try await repo.sync()
        world.clock.advance(by: .seconds(-2))  // still inside the token's own lifetime, were it not revoked
        #expect(!(await present(issued.token, key: world.supervisorKey, to: repo, clock: world.clock).isAllowed))
        #expect(world.revocations.latestSequence >= 1)
    }

    @Test("an agent revoked before a restart cannot be registered again after it")
    func revokedAgentStaysRevoked() async throws {
        let world = try await World()
        var before: CredentialAuthority? = world.replica()
        try await before!.revoke(agent: world.supervisor)
        before = nil

        let after = world.replica()
        await #expect(throws: AuthorityError(.alreadyRegistered, "")) {
            try await after.register(
                world.supervisor,
                publicKey: world.supervisorKey.publicKey,
                agentClass: "supervisor"
            )
        }
        await #expect(throws: AuthorityError(.unknownAgent, "")) {
            _ = try await after.openTask(
                for: world.supervisor,
                objective: "o",
                intent: "fix-bug",
                deadline: .seconds(9)
            )
        }
        #expect(try await after.agent(world.supervisor)?.isRevoked == true)
    }

    @Test("a join token issued before a restart attests once after it")
    func joinTokenSurvivesRestart() async throws {
        let world = try await World()
        let identity = try AgentIdentity("spiffe://acme.test/agent/canary/9")
        let join = try await JoinTokenAttestor(clock: world.clock, store: world.state)
            .issueJoinToken(for: identity, agentClass: "canary")
        var configuration = world.configuration
        configuration.attestor = JoinTokenAttestor(clock: world.clock, store: world.state)
        let after = CredentialAuthority(configuration)
        let key = Ed25519.PrivateKey()
        let document = try await after.attest(join.evidence(signingKey: key))
        #expect(document.identity == identity)
        await #expect(throws: AuthorityError(.attestationFailed, "")) {
            try await CredentialAuthority(configuration).attest(join.evidence(signingKey: key))
        }
    }
}
