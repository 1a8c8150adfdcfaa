import Synchronization
import Testing
import Writ
import WritRevocation
import WritTesting

/// An audit sink that, when armed, suspends the next `record` until released (to force actor interleavings).
final class GatedSink: AuditSink {
    let inner: any AuditSink
    private let armed = Mutex(false)
    let entered: AsyncStream<Void>
    private let enteredContinuation: AsyncStream<Void>.Continuation
    private let release: AsyncStream<Void>
    private let releaseContinuation: AsyncStream<Void>.Continuation

    init(_ inner: any AuditSink) {
        self.inner = inner
        (entered, enteredContinuation) = AsyncStream.makeStream(of: Void.self)
        (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    func arm() { armed.withLock { $0 = true } }
    func open() { releaseContinuation.yield() }

    func record(_ event: AuditEvent) async throws -> UInt64 {
        let hold = armed.withLock { a -> Bool in
            defer { a = false }
            return a
        }
        if hold {
            enteredContinuation.yield()
            for await _ in release { break }
        }
        return try await inner.record(event)
    }
}

/// Fails every `.anomaly` event, passes the rest.
struct FailAnomalySink: AuditSink {
    let inner: any AuditSink
    func record(_ event: AuditEvent) async throws -> UInt64 {
        if event.kind == .anomaly { throw AuditError(.closed, "injected") }
        return try await inner.record(event)
    }
}

@Suite("Adversarial: authority, gatekeeper, provider")
struct AdversarialCompositionTests {
    static func gatedWorld() async throws -> (World, GatedSink) {
        let log = try await AuditLog.open(
            store: InMemoryAuditStore(),
            service: "authority",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt(),
            clock: ManualClock()
        )
        let sink = GatedSink(log)
        return (try await World(audit: sink), sink)
    }

    // F1: replay accepted at the exact freshness boundary (cache keeps the nonce until `expiry`, verifier
    // accepts the proof up to and including `expiry`).
    @Test("F1 a captured proof cannot be replayed at the last millisecond of its freshness window")
    func replayAtBoundary() async throws {
        let world = try await World()
        let base = try await world.service("repo")
        let options = VerificationOptions(clockSkew: .seconds(1), proofFreshness: .seconds(1))
        let gatekeeper = Gatekeeper(
            .init(
                audience: "repo",
                trustBundle: TrustBundle(trusting: world.issuerKey.publicKey),
                agentClasses: world.classes,
                policies: try PolicySet(text: World.permissive),
                revocation: base.snapshot,
                audit: base.log,
                detectors: [],
                clock: world.clock,
                verification: options
            )
        )
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        let issued = try await world.authority.issue(task: task, step: World.step())
        let request = TokenRequest(audience: "repo", action: "read", resource: "repo/writ/a")
        let proof = ProofOfPossession.sign(
            token: issued.token,
            request: request,
            holderKey: world.supervisorKey,
            at: world.clock.now()
        )
        let captured = Gatekeeper.Request(
            token: issued.token.text,
            proof: proof.text,
            action: "read",
            resource: "repo/writ/a"
        )
        #expect(await gatekeeper.authorize(captured).isAllowed)
        world.clock.advance(by: .seconds(2))  // == proof.timestamp + freshness + skew
        let replay = await gatekeeper.authorize(captured)
        #expect(!replay.isAllowed, "replayed proof accepted at the boundary: \(replay)")
    }

    // F2: a delegator names any identity as `delegate`; anomalies are attributed to that claim, so a supervisor
    // gets an unrelated agent quarantined and (default anomalyResponse) revoked everywhere.
    @Test("F2 a delegation naming a victim as delegate cannot get the victim quarantined or revoked")
    func framing() async throws {
        let world = try await World()
        let repo = try await world.service(
            "repo",
            policies: World.repoPolicies,
            detectors: [DenialBurstDetector(threshold: 3, window: .seconds(60))]
        )
        // The victim (canary) has its own working token at repo.
        let vTask = try await world.authority.openTask(
            for: world.canary,
            objective: "drill",
            intent: "drill",
            deadline: .seconds(120)
        )
        let vToken = try await world.authority.issue(
            task: vTask,
            step: StepGrant(
                name: "probe",
                audience: "repo",
                actions: [RevocationDrill.canaryAction],
                resources: ["drill/canary"]
            )
        )
        #expect(
            await present(
                vToken.token,
                key: world.canaryKey,
                to: repo,
                clock: world.clock,
                action: RevocationDrill.canaryAction,
                resource: "drill/canary"
            ).isAllowed
        )

        // The supervisor delegates to a key of its own, claiming to be the canary (no authority round trip).
        let sTask = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        let sToken = try await world.authority.issue(task: sTask, step: World.step())
        let sockPuppet = Ed25519.PrivateKey()
        let forged = try sToken.token.delegating(
            Attenuation(holder: sockPuppet.publicKey, delegate: world.canary, delegateClass: "worker"),
            holderKey: world.supervisorKey
        )
        for i in 0..<3 {
            _ = await present(forged, key: sockPuppet, to: repo, clock: world.clock, resource: "repo/other/\(i)")
        }
        var reports = repo.gatekeeper.anomalies.makeAsyncIterator()
        let report = try #require(await reports.next())
        // The report may repeat the delegator's claim, but the key that held the token is not the victim's,
        // so the authority cannot be made to act on the claim.
        #expect(report.holderKeyID == sockPuppet.publicKey.keyID)
        #expect(report.holderKeyID != world.canaryKey.publicKey.keyID)
        let after = await present(
            vToken.token,
            key: world.canaryKey,
            to: repo,
            clock: world.clock,
            action: RevocationDrill.canaryAction,
            resource: "drill/canary"
        )
        #expect(after.isAllowed, "victim quarantined locally: \(after)")
        try await world.authority.reportAnomaly(report)
        #expect(try await world.authority.agent(world.canary)?.isRevoked == false, "victim revoked at the authority")
        // ...while the supervisor, who did it, keeps working.
        #expect(await present(sToken.token, key: world.supervisorKey, to: repo, clock: world.clock).isAllowed)
    }

    // F2b: denials whose proof of possession failed still count towards the subject's denial burst.
    @Test("F2b a leaked token without the holder key cannot get its agent quarantined")
    func leakedTokenQuarantine() async throws {
        let world = try await World()
        let repo = try await world.service(
            "repo",
            detectors: [DenialBurstDetector(threshold: 3, window: .seconds(60))]
        )
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        let issued = try await world.authority.issue(task: task, step: World.step())
        let thief = Ed25519.PrivateKey()
        for _ in 0..<3 { _ = await present(issued.token, key: thief, to: repo, clock: world.clock) }
        let legit = await present(issued.token, key: world.supervisorKey, to: repo, clock: world.clock)
        #expect(legit.isAllowed, "legitimate holder locked out by someone without its key: \(legit)")
    }

    // F3: concurrent refreshes both pass the limit check (state read before the awaits, written after).
    @Test("F3 two concurrent refreshes cannot exceed the refresh limit or leave an untracked live token")
    func concurrentRefresh() async throws {
        let (world, gate) = try await Self.gatedWorld()
        let repo = try await world.service("repo")
        let task = try await world.openTask(for: world.worker, deadline: .seconds(120))
        _ = try await world.authority.issue(task: task, step: World.step(actions: ["read"]))  // worker: refreshLimit 1
        gate.arm()
        let a = Task { try await world.authority.refresh(task: task, step: "fix") }
        var entered = gate.entered.makeAsyncIterator()
        _ = await entered.next()  // A is suspended after its limit check
        let bResult: Result<IssuedToken, any Error>
        do { bResult = .success(try await world.authority.refresh(task: task, step: "fix")) } catch {
            bResult = .failure(error)
        }
        gate.open()
        let aResult = await a.result
        // Exactly one refresh may succeed with refreshLimit 1 (the suspended one reserved the slot first).
        let b = try? bResult.get()
        #expect((try? aResult.get()) == nil || b == nil, "both refreshes succeeded with refreshLimit 1")
        #expect((try? aResult.get()) != nil || b != nil, "neither refresh succeeded")
        // The step is completed; no token minted for it may still work.
        try await world.authority.completeStep(task: task, step: "fix")
        try await repo.sync()
        if let b {
            #expect(
                !(await present(b.token, key: world.workerKey, to: repo, clock: world.clock).isAllowed),
                "orphaned token B works after completeStep"
            )
        }
        if case .success(let aIssued) = aResult {
            #expect(!(await present(aIssued.token, key: world.workerKey, to: repo, clock: world.clock).isAllowed))
        }
    }

    // F4: completeStep while a refresh is suspended; the refresh then re-installs a live token.
    @Test("F4 a refresh racing completeStep does not leave the completed step with a live token")
    func refreshRacesCompleteStep() async throws {
        let (world, gate) = try await Self.gatedWorld()
        let repo = try await world.service("repo")
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        _ = try await world.authority.issue(task: task, step: World.step())
        gate.arm()
        let refresh = Task { try await world.authority.refresh(task: task, step: "fix") }
        var entered = gate.entered.makeAsyncIterator()
        _ = await entered.next()
        try await world.authority.completeStep(task: task, step: "fix")
        gate.open()
        let result = await refresh.result
        let live = try await world.authority.task(task)?.steps["fix"]?.live
        #expect(live == nil, "completed step has a live token again")
        if case .success(let issued) = result {
            try await repo.sync()
            #expect(
                !(await present(issued.token, key: world.supervisorKey, to: repo, clock: world.clock).isAllowed),
                "token minted for a completed step works"
            )
        }
    }

    // F5: handOff on a task that is no longer open still opens a successor task.
    @Test("F5 handOff of a completed/revoked task is refused")
    func handOffClosedTask() async throws {
        let world = try await World()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        try await world.authority.complete(task: task)
        await #expect(throws: AuthorityError.self, "closed task resurrected via handOff") {
            _ = try await world.authority.handOff(
                task: task,
                toObjective: "again",
                intent: "fix-bug",
                deadline: .seconds(120)
            )
        }
    }

    // F6: register() overwrites an existing agent: clears isRevoked and rebinds its key (and open tasks).
    @Test("F6 re-registering an identity neither un-revokes it nor silently replaces its key")
    func reRegistration() async throws {
        let world = try await World()
        try await world.authority.revoke(agent: world.supervisor)
        let attacker = Ed25519.PrivateKey()
        _ = try? await world.authority.register(
            world.supervisor,
            publicKey: attacker.publicKey,
            agentClass: "supervisor"
        )
        let agent = try await world.authority.agent(world.supervisor)
        #expect(agent?.isRevoked == true, "revoked agent resurrected by re-registration")
        #expect(agent?.publicKey == world.supervisorKey.publicKey, "agent key replaced")
    }

    // F7: reportAnomaly audits before revoking; an audit failure skips the revocation.
    @Test("F7 an anomaly is revoked even when the audit sink fails")
    func anomalyRevokesWithoutAudit() async throws {
        let log = try await AuditLog.open(
            store: InMemoryAuditStore(),
            service: "authority",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt(),
            clock: ManualClock()
        )
        let world = try await World(audit: FailAnomalySink(inner: log))
        let report = AnomalyReport(
            detector: "denial-burst",
            agent: world.supervisor.description,
            tokenID: nil,
            holderKeyID: world.supervisorKey.publicKey.keyID,
            taskID: nil,
            detail: "x",
            time: world.clock.now()
        )
        _ = try? await world.authority.reportAnomaly(report)
        #expect(try await world.authority.agent(world.supervisor)?.isRevoked == true, "anomaly not acted on")
        #expect(world.revocations.latestSequence > 0, "nothing written to the revocation store")
    }

    // F8: a denial with an oversized resource is not audited (the audit error is swallowed for denials).
    @Test("F8 every decision is audited, even for oversized request fields")
    func oversizedDenialAudited() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        let issued = try await world.authority.issue(task: task, step: World.step())
        let before = repo.log.size
        let huge = "repo/other/" + String(repeating: "x", count: 5000)
        let d = await present(issued.token, key: world.supervisorKey, to: repo, clock: world.clock, resource: huge)
        #expect(!d.isAllowed)
        #expect(repo.log.size > before, "denial left no audit entry")
    }
}

/// Revocation store whose next `append` fails when told to.
final class FlakyRevocationStore: RevocationStore {
    let base = InMemoryRevocationStore()
    let failNext = Mutex(false)
    func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        if failNext.withLock({ f -> Bool in
            defer { f = false }
            return f
        }) {
            throw RevocationError(.storeUnavailable, "injected")
        }
        return try await base.append(revocations, signer: signer, minimum: minimum)
    }
    func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws
        -> SignedFeedMark
    {
        try await base.publishHead(at: time, signer: signer, minimum: minimum)
    }
    func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        try await base.page(after: sequence, limit: limit)
    }
    func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        try await base.prune(expiredBefore: time, at: now, signer: signer)
    }
}

/// A token source whose refresh moves the clock past expiry and then fails transiently.
struct SlowFailingSource: TokenSource {
    let authority: CredentialAuthority
    let clock: ManualClock
    func issue(task: String, step: StepGrant) async throws -> IssuedToken {
        try await authority.issue(task: task, step: step)
    }
    func refresh(task: String, step: String) async throws -> IssuedToken {
        clock.advance(by: .seconds(120))
        throw AuthorityError(.recordFailed, "transient")
    }
    func recordDelegation(
        _ token: CapabilityToken,
        from supervisor: AgentIdentity,
        to delegate: AgentIdentity
    )
        async throws
    {}
}

@Suite("Review findings, part 2")
struct AdversarialCompositionTests2 {
    // F9: issue() on a step whose token was completed starts the step afresh with refreshCount 0.
    @Test("F9 re-issuing a completed step does not reset its refresh budget")
    func reissueResetsRefreshCount() async throws {
        let world = try await World()
        let task = try await world.openTask(for: world.worker, deadline: .seconds(120))
        let grant = World.step(actions: ["read"])
        _ = try await world.authority.issue(task: task, step: grant)
        _ = try await world.authority.refresh(task: task, step: "fix")  // limit 1 used up
        try await world.authority.completeStep(task: task, step: "fix")
        _ = try await world.authority.issue(task: task, step: grant)
        await #expect(throws: AuthorityError.self, "refresh budget reset by re-issue") {
            _ = try await world.authority.refresh(task: task, step: "fix")
        }
    }

    // F10: close() marks the task closed before the revocation write; on failure the task stays closed, its
    // tokens stay valid, and a retried complete() returns silently.
    @Test("F10 a failed revocation on complete() can be retried and the task's tokens end up revoked")
    func completeRetry() async throws {
        let clock = ManualClock()
        let store = FlakyRevocationStore()
        let cls = try AgentClass(name: "supervisor", defaultTTL: .seconds(30), maximumTTL: .seconds(60))
        let log = try await AuditLog.open(
            store: InMemoryAuditStore(),
            service: "authority",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt(),
            clock: clock
        )
        let authority = CredentialAuthority(
            .init(
                issuerKey: Ed25519.PrivateKey(),
                agentClasses: [cls],
                entitlements: EntitlementTable([
                    "supervisor": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])]
                ]),
                revocations: RevocationPublisher(store: store, signer: Ed25519.PrivateKey(), clock: clock),
                audit: log,
                clock: clock
            )
        )
        let id = try AgentIdentity("spiffe://acme.test/agent/supervisor/1")
        try await authority.register(id, publicKey: Ed25519.PrivateKey().publicKey, agentClass: "supervisor")
        let task = try await authority.openTask(for: id, objective: "o", intent: "i", deadline: .seconds(60))
        _ = try await authority.issue(task: task, step: World.step(actions: ["read"]))
        store.failNext.withLock { $0 = true }
        _ = try? await authority.complete(task: task)
        try? await authority.complete(task: task)  // operator retries
        let entries = try await store.contents().entries.map(\.entry)
        #expect(entries.contains { $0.target == .task(task) }, "task reported closed, tokens never revoked")
    }

    // F11: use-after-close fires on every request (no dedupe): one anomaly entry + report per request.
    @Test("F11 use-after-close reports once per token, not once per request")
    func useAfterCloseFlood() async throws {
        let world = try await World()
        let repo = try await world.service("repo", detectors: [UseAfterCloseDetector()])
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        let issued = try await world.authority.issue(task: task, step: World.step())
        try await world.authority.complete(task: task)
        try await repo.sync()
        for _ in 0..<20 { _ = await present(issued.token, key: world.supervisorKey, to: repo, clock: world.clock) }
        let anomalies = try await repo.log.entries(0..<repo.log.size).filter { $0.event.kind == .anomaly }.count
        #expect(anomalies == 1, "\(anomalies) anomaly entries/reports for one token presented 20 times")
    }

    // F12: after an anomaly on a delegated token, the delegator re-delegates and carries on (only the last block
    // and the claimed delegate name are quarantined; the root-keyed detector stays tripped).
    @Test("F12 re-delegating does not escape anomaly response: a repeat offence revokes the root block")
    func redelegationEvadesQuarantine() async throws {
        let world = try await World()
        let repo = try await world.service(
            "repo",
            detectors: [DenialBurstDetector(threshold: 3, window: .seconds(60))]
        )
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        let root = try await world.authority.issue(task: task, step: World.step())
        func puppet(_ n: Int) throws -> (CapabilityToken, Ed25519.PrivateKey) {
            let k = Ed25519.PrivateKey()
            let t = try root.token.delegating(
                Attenuation(
                    holder: k.publicKey,
                    delegate: try AgentIdentity("spiffe://acme.test/agent/worker/p\(n)"),
                    delegateClass: "worker"
                ),
                holderKey: world.supervisorKey
            )
            return (t, k)
        }
        var reports = repo.gatekeeper.anomalies.makeAsyncIterator()
        let (t1, k1) = try puppet(1)
        for i in 0..<3 { _ = await present(t1, key: k1, to: repo, clock: world.clock, resource: "repo/other/\(i)") }
        #expect(!(await present(t1, key: k1, to: repo, clock: world.clock).isAllowed), "quarantined at once")
        try await world.authority.reportAnomaly(try #require(await reports.next()))
        // The delegator mints a sibling and misbehaves again: the second anomaly for the token revokes its root.
        let (t2, k2) = try puppet(2)
        for i in 0..<3 { _ = await present(t2, key: k2, to: repo, clock: world.clock, resource: "repo/other/\(i)") }
        try await world.authority.reportAnomaly(try #require(await reports.next()))
        try await repo.sync()
        let (t3, k3) = try puppet(3)
        let again = await present(t3, key: k3, to: repo, clock: world.clock)
        #expect(again.denialCode == .revoked, "fresh sibling delegation works after a repeat anomaly: \(again)")
        #expect(
            await present(root.token, key: world.supervisorKey, to: repo, clock: world.clock).denialCode == .revoked
        )
    }

    // F13: the delegator chooses the delegate class, which becomes the policy principal's class.
    @Test("F13 a self-delegation cannot change the policy principal's class")
    func delegateClassSpoofsPolicy() async throws {
        let world = try await World()
        let repo = try await world.service(
            "repo",
            policies: """
                permit (principal, action, resource);
                forbid (principal in AgentClass::"supervisor", action == Action::"write", resource);
                """
        )
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        let root = try await world.authority.issue(task: task, step: World.step())
        #expect(
            !(await present(root.token, key: world.supervisorKey, to: repo, clock: world.clock, action: "write")
                .isAllowed)
        )
        let k = Ed25519.PrivateKey()
        let selfDelegated = try root.token.delegating(
            Attenuation(holder: k.publicKey, delegate: world.worker, delegateClass: "worker"),
            holderKey: world.supervisorKey
        )
        let d = await present(selfDelegated, key: k, to: repo, clock: world.clock, action: "write")
        #expect(!d.isAllowed, "forbid on the supervisor class escaped by self-delegation: \(d)")
    }

    // F14: usableToken() compares the pre-await `now` with expiry after a failed refresh.
    @Test("F14 the provider never hands out a token that expired while a refresh was failing")
    func providerStaleNow() async throws {
        let world = try await World()
        let provider = CredentialProvider(
            identity: world.supervisor,
            key: world.supervisorKey,
            source: SlowFailingSource(authority: world.authority, clock: world.clock),
            clock: world.clock,
            refreshPolicy: .init(fraction: 0.75, jitter: 0, attempts: 1)
        )
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(300))
        try await provider.begin(task: task, step: World.step())  // 30 s token
        world.clock.advance(by: .seconds(25))  // past the refresh point
        await #expect(throws: AuthorityError.self, "expired token handed out") {
            _ = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
        }
    }
}

/// A token source whose refresh waits until released.
final class GatedSource: TokenSource {
    let authority: CredentialAuthority
    let entered: AsyncStream<Void>
    let enteredC: AsyncStream<Void>.Continuation
    let release: AsyncStream<Void>
    let releaseC: AsyncStream<Void>.Continuation
    init(_ authority: CredentialAuthority) {
        self.authority = authority
        (entered, enteredC) = AsyncStream.makeStream(of: Void.self)
        (release, releaseC) = AsyncStream.makeStream(of: Void.self)
    }
    func issue(task: String, step: StepGrant) async throws -> IssuedToken {
        try await authority.issue(task: task, step: step)
    }
    func refresh(task: String, step: String) async throws -> IssuedToken {
        enteredC.yield()
        for await _ in release { break }
        return try await authority.refresh(task: task, step: step)
    }
    func recordDelegation(
        _ token: CapabilityToken,
        from supervisor: AgentIdentity,
        to delegate: AgentIdentity
    )
        async throws
    {}
}

@Suite("Review findings, part 3")
struct AdversarialCompositionTests3 {
    // F15: begin()/end() do not cancel an in-flight refresh; its result is adopted afterwards.
    @Test("F15 a refresh of the previous step cannot overwrite the token of a step begun meanwhile")
    func beginDuringRefresh() async throws {
        let world = try await World()
        let source = GatedSource(world.authority)
        let provider = CredentialProvider(
            identity: world.supervisor,
            key: world.supervisorKey,
            source: source,
            clock: world.clock,
            refreshPolicy: .init(fraction: 0.75, jitter: 0, attempts: 1)
        )
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(300))
        try await provider.begin(task: task, step: World.step())
        world.clock.advance(by: .seconds(25))
        let call = Task { try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a") }
        var entered = source.entered.makeAsyncIterator()
        _ = await entered.next()
        try await provider.begin(
            task: task,
            step: StepGrant(name: "triage", audience: "tickets", actions: ["read"], resources: ["tickets/*"])
        )
        let triageID = await provider.tokenID
        source.releaseC.yield()
        _ = try? await call.value
        #expect(await provider.tokenID == triageID, "the old step's refreshed token replaced the new step's token")
    }
}
