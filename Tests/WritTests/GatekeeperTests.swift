import Synchronization
import Testing
import Writ
import WritTesting
import WritTokens

@Suite("Gatekeeper end to end")
struct GatekeeperTests {
    /// A supervisor with a live token for step "fix" on repo.
    func started(_ world: World, step: StepGrant = World.step()) async throws -> (CredentialProvider, String) {
        let provider = world.supervisorProvider()
        let task = try await world.authority.openTask(
            for: world.supervisor,
            objective: "fix bug 42",
            intent: "fix-bug",
            deadline: .seconds(120)
        )
        try await provider.begin(task: task, step: step)
        return (provider, task)
    }

    @Test("allowed calls are audited as used with the agent, task and token")
    func allowed() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let (provider, task) = try await started(world)
        let decision = try await world.call(provider, repo, "read", "repo/writ/README")
        guard case .allow(let granted) = decision else {
            Issue.record("expected allow, got \(decision)")
            return
        }
        #expect(granted.agent == world.supervisor.description)
        #expect(granted.taskID == task)
        #expect(granted.policies == ["policy0"])
        let entries = try await repo.log.entries(0..<repo.log.size)
        let used = try #require(entries.last?.event)
        #expect(used.kind == .used)
        #expect(used.task == task)
        #expect(used.traceID == "trace-1")
        #expect(used.tokenID == granted.tokenID.description)
    }

    @Test("a request beyond the token is denied: action, resource, audience")
    func wideningDenied() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let tickets = try await world.service("tickets", policies: World.permissive)
        let (provider, _) = try await started(world, step: World.step(actions: ["read"]))
        let write = try await world.call(provider, repo, "write", "repo/writ/README")
        #expect(write.denialCode == .tokenRejected)
        if case .deny(let denial) = write { #expect(denial.tokenError == .actionNotAllowed) }
        let elsewhere = try await world.call(provider, repo, "read", "repo/other/README")
        if case .deny(let denial) = elsewhere { #expect(denial.tokenError == .resourceNotAllowed) }
        let wrongAudience = try await world.call(provider, tickets, "read", "repo/writ/README")
        if case .deny(let denial) = wrongAudience { #expect(denial.tokenError == .audienceNotAllowed) }
        #expect(!wrongAudience.isAllowed)
    }

    @Test("replicas of one audience sharing a nonce store deny a proof replayed from one to the other")
    func replayAcrossReplicas() async throws {
        let world = try await World()
        let shared = InMemoryReplayCache(clock: world.clock)
        let first = try await world.service("repo", sharedNonces: shared)
        let second = try await world.service("repo", sharedNonces: shared)
        let alone = try await world.service("repo")
        let (provider, _) = try await started(world)
        let credential = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
        let request = World.request(credential, action: "read", resource: "repo/writ/a")
        #expect(await first.gatekeeper.authorize(request).isAllowed)
        let replayed = await second.gatekeeper.authorize(request)
        #expect(replayed.denialCode == .replayed, "\(replayed)")
        #expect(await alone.gatekeeper.authorize(request).isAllowed, "without a shared store each replica is alone")
        // A forged proof never reaches the shared store: its nonce is not burnt.
        let junk = Gatekeeper.Request(token: credential.token, proof: credential.proof, action: "write", resource: "x")
        #expect(!(await second.gatekeeper.authorize(junk)).isAllowed)
    }

    @Test("a shared nonce store that cannot answer denies the request (fail closed)")
    func nonceStoreDown() async throws {
        let world = try await World()
        let repo = try await world.service("repo", sharedNonces: UnavailableNonceStore())
        let (provider, _) = try await started(world)
        let decision = try await world.call(provider, repo, "read", "repo/writ/a")
        #expect(decision.denialCode == .nonceStoreUnavailable)
    }

    @Test("a replayed proof is denied, a tampered token is rejected, a stolen token without the key is useless")
    func replayAndTheft() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let (provider, _) = try await started(world)
        let credential = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
        let request = World.request(credential, action: "read", resource: "repo/writ/a")
        #expect(await repo.gatekeeper.authorize(request).isAllowed)
        #expect(await repo.gatekeeper.authorize(request).denialCode == .replayed)

        // The same token with a proof signed by a thief's key.
        let token = try CapabilityToken(text: credential.token)
        let thief = Ed25519.PrivateKey()
        let forged = ProofOfPossession.sign(
            token: token,
            request: TokenRequest(audience: "repo", action: "read", resource: "repo/writ/a"),
            holderKey: thief,
            at: world.clock.now()
        )
        let stolen = await repo.gatekeeper.authorize(
            Gatekeeper.Request(token: credential.token, proof: forged.text, action: "read", resource: "repo/writ/a")
        )
        if case .deny(let denial) = stolen {
            #expect(denial.tokenError == .proofInvalid)
        } else {
            Issue.record("allowed")
        }

        // A proof made for another request cannot be reused for this one.
        let other = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/b")
        let mismatched = await repo.gatekeeper.authorize(
            Gatekeeper.Request(token: other.token, proof: other.proof, action: "read", resource: "repo/writ/a")
        )
        if case .deny(let denial) = mismatched {
            #expect(denial.tokenError == .proofInvalid)
        } else {
            Issue.record("allowed")
        }

        // Flipped bytes in the token text.
        var text = Array(credential.token.utf8)
        text[text.count / 2] = text[text.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let fresh = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
        let tampered = await repo.gatekeeper.authorize(
            Gatekeeper.Request(
                token: String(decoding: text, as: UTF8.self),
                proof: fresh.proof,
                action: "read",
                resource: "repo/writ/a"
            )
        )
        #expect(!tampered.isAllowed)
        #expect(
            await repo.gatekeeper.authorize(
                Gatekeeper.Request(token: "garbage", proof: fresh.proof, action: "read", resource: "repo/writ/a")
            ).denialCode == .malformedToken
        )
    }

    @Test("an expired token is denied even when its chain is cached")
    func expiryAfterCache() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let (provider, task) = try await started(world, step: World.step(duration: .seconds(5)))
        let token = try #require(try await world.authority.task(task)?.steps["fix"]?.live?.token)
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").isAllowed)
        world.clock.advance(by: .seconds(40))
        try await repo.sync()
        let decision = await present(token, key: world.supervisorKey, to: repo, clock: world.clock)
        if case .deny(let denial) = decision { #expect(denial.tokenError == .expired) } else { Issue.record("allowed") }
    }

    @Test("a checkpoint asks to re-authorise first, then passes with the approval")
    func checkpoint() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let (provider, _) = try await started(world, step: World.step(actions: ["read", "merge"]))
        let first = try await world.call(provider, repo, "merge", "repo/writ/pr/7")
        guard case .reauthorize(let reason, _) = first else {
            Issue.record("expected checkpoint, got \(first)")
            return
        }
        #expect(reason == "merging needs a human's approval")
        #expect(try await world.call(provider, repo, "merge", "repo/writ/pr/7", approvals: ["merge"]).isAllowed)
        let kinds = try await repo.log.entries(0..<repo.log.size).map(\.event.kind)
        #expect(kinds.contains(.reauthorizationRequired))
    }

    @Test("a revoked token is denied mid-flight, and the service's watermark proves it applied the revocation")
    func revokedMidFlight() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let (provider, task) = try await started(world)
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").isAllowed)
        let live = try #require(try await world.authority.task(task)?.steps["fix"]?.live)
        try await world.authority.revoke(block: live.revocationID)
        let sequence = world.revocations.latestSequence
        try await repo.sync()
        #expect(repo.snapshot.watermark >= sequence)
        #expect(try await world.revocations.isApplied(sequence: sequence, byAll: ["repo"]))
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").denialCode == .revoked)
    }

    @Test("an anomaly quarantines at once, is reported, and the authority's revocation reaches other services")
    func anomalyRevokes() async throws {
        let world = try await World()
        let repo = try await world.service(
            "repo",
            detectors: [DenialBurstDetector(threshold: 3, window: .seconds(60))]
        )
        let tickets = try await world.service("tickets", policies: World.permissive)
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        try await provider.begin(task: task, step: World.step())
        let worker = try CredentialProvider(
            identity: world.worker,
            key: world.workerKey,
            delegatedToken: try await provider.delegate(
                to: world.worker,
                publicKey: world.workerKey.publicKey,
                agentClass: "worker",
                actions: ["read"]
            ),
            clock: world.clock
        )
        #expect(try await world.call(worker, repo, "read", "repo/writ/a").isAllowed)
        for i in 0..<3 { _ = try await world.call(worker, repo, "write", "repo/writ/probe-\(i)") }
        // Quarantined locally before any revocation arrives.
        #expect(try await world.call(worker, repo, "read", "repo/writ/a").denialCode == .revoked)

        var reports = repo.gatekeeper.anomalies.makeAsyncIterator()
        let report = try #require(await reports.next())
        #expect(report.detector == "denial-burst")
        #expect(report.agent == world.worker.description)
        try await world.authority.reportAnomaly(report)
        try await tickets.sync()
        // The worker's token is revoked everywhere; the supervisor's own token still works.
        let workerTicket = try await worker.credential(audience: "tickets", action: "read", resource: "repo/writ/a")
        let decision = await tickets.gatekeeper.authorize(
            World.request(workerTicket, action: "read", resource: "repo/writ/a")
        )
        #expect(!decision.isAllowed)
        try await repo.sync()
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").isAllowed)
        let kinds = try await world.authorityLog.entries(0..<world.authorityLog.size).map(\.event.kind)
        #expect(kinds.contains(.anomaly))
    }

    @Test("with audit fail-closed, nothing is allowed unless its audit entry was written")
    func auditFailClosed() async throws {
        let world = try await World()
        let closed = try await world.service("repo", audit: FailingAuditSink())
        let open = try await world.service("repo", audit: FailingAuditSink(), auditFailClosed: false)
        let (provider, _) = try await started(world)
        #expect(try await world.call(provider, closed, "read", "repo/writ/a").denialCode == .auditUnavailable)
        #expect(try await world.call(provider, open, "read", "repo/writ/a").isAllowed)
    }

    @Test("many concurrent requests: each allowed once, replays refused, one valid audit chain")
    func concurrentRequests() async throws {
        let world = try await World()
        let repo = try await world.service("repo", detectors: [])
        let (provider, _) = try await started(world)
        var requests: [Gatekeeper.Request] = []
        for i in 0..<64 {
            let credential = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/\(i)")
            requests.append(World.request(credential, action: "read", resource: "repo/writ/\(i)"))
        }
        let allowed = await withTaskGroup(of: Bool.self) { group in
            for request in requests + requests {
                group.addTask { await repo.gatekeeper.authorize(request).isAllowed }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(allowed == 64)
        #expect(try await AuditVerifier.verify(store: repo.auditStore).isValid)
        #expect(repo.log.size == 128)
    }
}

@Suite("Credential provider")
struct CredentialProviderTests {
    /// Counts refreshes and can be told to fail.
    final class CountingSource: TokenSource {
        let base: CredentialAuthority
        let refreshes = Mutex(0)
        let failing = Mutex(false)
        init(_ base: CredentialAuthority) { self.base = base }
        func issue(task: String, step: StepGrant) async throws -> IssuedToken {
            try await base.issue(task: task, step: step)
        }
        func refresh(task: String, step: String) async throws -> IssuedToken {
            refreshes.withLock { $0 += 1 }
            if failing.withLock({ $0 }) { throw AuthorityError(.recordFailed, "authority unreachable") }
            try await Task.sleep(for: .milliseconds(20))  // hold the refresh open so callers pile up
            return try await base.refresh(task: task, step: step)
        }
        func recordDelegation(_ token: CapabilityToken, from: AgentIdentity, to: AgentIdentity) async throws {
            try await base.recordDelegation(token, from: from, to: to)
        }
    }

    @Test("a hundred concurrent calls past the refresh point cause exactly one refresh")
    func singleFlight() async throws {
        let world = try await World()
        let source = CountingSource(world.authority)
        let provider = world.supervisorProvider(source: source)
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        try await provider.begin(task: task, step: World.step(duration: .seconds(20)))
        let before = await provider.tokenID
        world.clock.advance(by: .seconds(16))  // past 75 % of 20 s
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    _ = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
                }
            }
            try await group.waitForAll()
        }
        #expect(source.refreshes.withLock { $0 } == 1)
        #expect(await provider.refreshes == 1)
        #expect(await provider.tokenID != before)
    }

    @Test("refresh failures keep the valid token, retry with backoff, then fail closed after expiry")
    func failClosed() async throws {
        let world = try await World()
        let source = CountingSource(world.authority)
        let provider = world.supervisorProvider(source: source)
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        try await provider.begin(task: task, step: World.step(duration: .seconds(20)))
        source.failing.withLock { $0 = true }
        world.clock.advance(by: .seconds(16))
        _ = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
        #expect(source.refreshes.withLock { $0 } == 2, "two attempts (policy) per refresh")
        world.clock.advance(by: .seconds(5))
        await #expect(throws: AuthorityError(.credentialUnavailable, "")) {
            try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
        }
        // Recovery once the authority answers again: the step is still open, so a refresh succeeds.
        source.failing.withLock { $0 = false }
        let repo = try await world.service("repo")
        #expect(try await world.call(provider, repo, "read", "repo/writ/a").isAllowed)
        #expect(await provider.refreshes == 1)
    }

    /// The security report's crash through the request path: a captured, expired token and an unsigned proof
    /// dated `Int64.min` ms. The gatekeeper answers with a denial (and does not attribute it to the holder).
    @Test("a captured token with a proof dated Int64.min is denied, not a crash")
    func extremeProofTime() async throws {
        let world = try await World()
        let repo = try await world.service("repo")
        let provider = world.supervisorProvider()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(120))
        try await provider.begin(task: task, step: World.step(duration: .seconds(20)))
        let credential = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
        world.clock.advance(by: .seconds(3600))
        var bytes: [UInt8] = [ProofOfPossession.version, 0x80] + [UInt8](repeating: 0, count: 7)
        bytes += [UInt8](repeating: 0x5A, count: ReplayNonce.byteCount + Ed25519.signatureByteCount)
        let crafted = try ProofOfPossession(bytes: bytes)
        #expect(crafted.timestamp.millisecondsSinceEpoch == .min)
        let decision = await repo.gatekeeper.authorize(
            Gatekeeper.Request(token: credential.token, proof: crafted.text, action: "read", resource: "repo/writ/a")
        )
        #expect(decision.denialCode == .tokenRejected)
    }

    @Test("credentials never print the token or proof")
    func redaction() {
        let credential = PresentedCredential(token: "writ1_secretish", proof: "writp1_more")
        #expect(!"\(credential)".contains("secretish"))
        #expect(!String(reflecting: credential).contains("more"))
    }
}

/// A nonce store whose backend is down.
struct UnavailableNonceStore: NonceStore {
    func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp) async throws -> Bool {
        throw NonceStoreError(.unavailable, "injected outage")
    }
}
