import Synchronization
import Writ
import WritTesting

// The in-process deployment every gatekeeper and authority benchmark runs against, shared with the harness
// (HarnessWorkloads.swift), so it imports nothing but Writ and WritTesting (whose LocalDeployment does the wiring).

// MARK: Clock, measurement brackets

/// A wall clock the benchmark sets. It stands still while a batch is measured.
final class BenchClock: WallClock {
    private let milliseconds: Atomic<Int64>

    init(_ start: Timestamp) { milliseconds = Atomic(start.millisecondsSinceEpoch) }

    func now() -> Timestamp { Timestamp(millisecondsSinceEpoch: milliseconds.load(ordering: .relaxed)) }
}

/// The fixed time of every benchmark: tokens are issued at it and the clock stands on it.
let epoch = Timestamp(secondsSinceEpoch: 1_767_225_600)

/// Called right before a measured region; callgrind's `--zero-before` hooks it.
@inline(never) @_optimize(none)
func gatebenchZeroCounters() {}

/// Called right after a measured region; callgrind's `--dump-before` hooks it.
@inline(never) @_optimize(none)
func gatebenchDumpCounters() {}

/// Keeps a value alive so the optimiser cannot drop the work that made it.
@inline(never) @_optimize(none)
func keep<T>(_ value: T) {}

// MARK: Deployment

/// A repository service's policies: twelve rules of the kind an agent-facing service loads.
let servicePolicies = """
    @id("repo-work")
    permit (principal, action in [Action::"read", Action::"write", Action::"merge"], resource)
    when { context.intent == "fix-bug" };

    @id("release-notes")
    permit (principal, action == Action::"read", resource)
    when { context.intent == "release-notes" };

    @id("workers-read")
    permit (principal in AgentClass::"worker", action == Action::"read", resource)
    when { context.intent == "fix-bug" && context.token.delegationDepth == 1 };

    @id("supervisor-comments")
    permit (principal in AgentClass::"supervisor", action == Action::"comment", resource)
    when { context.intent == "fix-bug" && context.task != "" };

    @id("incident-response")
    permit (principal in AgentClass::"ops", action, resource)
    when { context.intent == "incident" && context.approvals.contains("incident") };

    @id("drill")
    permit (principal, action == Action::"drill.probe", resource == Resource::"drill/canary");

    @checkpoint("merging to main needs a human's approval")
    forbid (principal, action == Action::"merge", resource)
    unless { context.approvals.contains("merge") };

    @id("sub-agents-read-only")
    forbid (principal, action in [Action::"write", Action::"merge"], resource)
    when { context.token.delegationDepth > 0 };

    @id("no-deep-delegation")
    forbid (principal, action, resource)
    when { context.token.delegationDepth > 2 };

    @id("high-risk")
    forbid (principal, action, resource)
    when { context.risk.score >= 80 };

    @id("flagged-agents-read-only")
    forbid (principal, action in [Action::"write", Action::"merge"], resource)
    when { context.risk.signals.containsAny(["denial-burst", "outside-intent"]) };

    @id("expiring-tokens-read-only")
    forbid (principal, action == Action::"write", resource)
    when { context.token.remainingSeconds < 5 };
    """

/// An authority, its two agents and one service ("repo"), all in memory on one fixed clock.
struct Deployment: Sendable {
    let clock: BenchClock
    let issuerKey: Ed25519.PrivateKey
    let supervisorClass: AgentClass
    let supervisor: AgentIdentity
    let supervisorKey: Ed25519.PrivateKey
    let worker: AgentIdentity
    let workerKey: Ed25519.PrivateKey
    let revocations: InMemoryRevocationStore
    let publisher: RevocationPublisher
    let authority: CredentialAuthority
    let gatekeeper: Gatekeeper
    let follower: RevocationFeedFollower
    let taskID: String

    static let audience = "repo"

    static func make() async throws -> Deployment {
        let clock = BenchClock(epoch)
        let classes = [
            try AgentClass(
                name: "supervisor",
                defaultTTL: .seconds(300),
                maximumTTL: .seconds(900),
                maximumDelegationDepth: 2,
                mayDelegate: true,
                refreshLimit: 4
            ),
            try AgentClass(name: "worker", defaultTTL: .seconds(120), maximumTTL: .seconds(300), refreshLimit: 2),
        ]
        let revocations = InMemoryRevocationStore()
        let entitlements = EntitlementTable([
            "supervisor": [
                Entitlement(audience: audience, actions: ["read", "write", "merge"], resources: ["repo/*"]),
                Entitlement(audience: "tickets", actions: ["read", "comment"], resources: ["tickets/*"]),
            ],
            "worker": [Entitlement(audience: audience, actions: ["read"], resources: ["repo/*"])],
        ])
        // In memory; no watermark reports (a benchmark measures decisions, not the drill).
        let local = try await LocalDeployment(
            clock: clock,
            stores: LocalDeployment.Stores(
                revocations: revocations,
                watermarks: nil,
                authorityAudit: InMemoryAuditStore(),
                authority: InMemoryAuthorityStore(),
                serviceAudit: { _ in InMemoryAuditStore() }
            ),
            agentClasses: classes,
            entitlements: entitlements
        )
        let authority = local.authority
        let supervisor = try AgentIdentity("spiffe://acme.test/agent/supervisor/1")
        let supervisorKey = Ed25519.PrivateKey()
        let worker = try AgentIdentity("spiffe://acme.test/agent/worker/1")
        let workerKey = Ed25519.PrivateKey()
        try await authority.register(supervisor, publicKey: supervisorKey.publicKey, agentClass: "supervisor")
        try await authority.register(
            worker,
            publicKey: workerKey.publicKey,
            agentClass: "worker",
            supervisor: supervisor
        )
        let taskID = try await authority.openTask(
            for: supervisor,
            objective: "fix bug 42",
            intent: "fix-bug",
            deadline: .seconds(3600)
        )
        // A follower is fresh only once it has verified a signed head; makeService syncs it after a fresh one.
        let service = try await local.makeService(audience, policies: try PolicySet(text: servicePolicies)) {
            $0.replayCache = InMemoryReplayCache(capacity: 10_000_000)
        }
        return Deployment(
            clock: clock,
            issuerKey: local.issuerKey,
            supervisorClass: classes[0],
            supervisor: supervisor,
            supervisorKey: supervisorKey,
            worker: worker,
            workerKey: workerKey,
            revocations: revocations,
            publisher: local.publisher,
            authority: authority,
            gatekeeper: service.gatekeeper,
            follower: service.follower,
            taskID: taskID
        )
    }

    /// A token for one step of the task, minted the way the authority mints it; with `delegated`, a second block
    /// hands a read-only view to the worker sub-agent.
    func token(step: UInt64, delegated: Bool) -> (token: CapabilityToken, holder: Ed25519.PrivateKey) {
        let claims = TokenClaims(
            subject: supervisor,
            holder: supervisorKey.publicKey,
            agentClass: "supervisor",
            audiences: [Deployment.audience],
            actions: ["read", "write"],
            resources: ["repo/writ/*"],
            taskID: taskID,
            step: step,
            intent: "fix-bug",
            issuedAt: epoch,
            expiresAt: epoch.advanced(by: .seconds(600))
        )
        let root = try! CapabilityToken.mint(claims, agentClass: supervisorClass, issuerKey: issuerKey)
        guard delegated else { return (root, supervisorKey) }
        let attenuation = Attenuation(
            holder: workerKey.publicKey,
            delegate: worker,
            delegateClass: "worker",
            actions: ["read"],
            expiresAt: epoch.advanced(by: .seconds(300))
        )
        return (try! root.delegating(attenuation, holderKey: supervisorKey), workerKey)
    }

    /// A request presenting `token` to read a file, with a freshly signed proof (new nonce).
    func request(_ token: CapabilityToken, holder: Ed25519.PrivateKey, text: String, file: Int) -> Gatekeeper.Request {
        let resource = "repo/writ/Sources/File\(file % 8).swift"
        let proof = ProofOfPossession.sign(
            token: token,
            request: TokenRequest(audience: Deployment.audience, action: "read", resource: resource),
            holderKey: holder,
            at: clock.now()
        )
        return Gatekeeper.Request(
            token: text,
            proof: proof.text,
            action: "read",
            resource: resource,
            traceID: "trace-\(file)"
        )
    }

    private func nextStep() -> UInt64 { stepCounter.add(1, ordering: .relaxed).newValue }

    /// `count` requests, each presenting a token the gatekeeper has never seen.
    func freshRequests(_ count: Int, delegated: Bool) -> [Gatekeeper.Request] {
        (0..<count).map { i in
            let (token, holder) = self.token(step: nextStep(), delegated: delegated)
            return request(token, holder: holder, text: token.text, file: i)
        }
    }

    /// `count` requests over `count / usesPerToken` tokens, round robin, each token already presented once (so its
    /// verified chain is cached). Each token is used at most `usesPerToken + 1` times in all, well below the rate
    /// and probing detectors' thresholds.
    func reusedRequests(_ count: Int, delegated: Bool, usesPerToken: Int = 10) async -> [Gatekeeper.Request] {
        let tokens = (0..<max(1, count / usesPerToken)).map { _ in
            let (token, holder) = self.token(step: nextStep(), delegated: delegated)
            return (token, holder, token.text)
        }
        for (index, (token, holder, text)) in tokens.enumerated() {
            let decision = await gatekeeper.authorize(request(token, holder: holder, text: text, file: index))
            precondition(decision.isAllowed, "warm-up request was not allowed: \(decision)")
        }
        return (0..<count).map { i in
            let (token, holder, text) = tokens[i % tokens.count]
            return request(token, holder: holder, text: text, file: i / tokens.count)
        }
    }

    /// `count` step grants to issue, ten per task (each task opened here, before any measured region).
    func stepsToIssue(_ count: Int) async throws -> [(task: String, grant: StepGrant)] {
        var work: [(task: String, grant: StepGrant)] = []
        work.reserveCapacity(count)
        for t in 0..<(count + 9) / 10 {
            let task = try await authority.openTask(
                for: supervisor,
                objective: "fix bug \(t)",
                intent: "fix-bug",
                deadline: .seconds(3600)
            )
            for s in 0..<10 where work.count < count {
                work.append(
                    (
                        task,
                        StepGrant(
                            name: "step-\(s)",
                            audience: Deployment.audience,
                            actions: ["read", "write"],
                            resources: ["repo/writ/*"]
                        )
                    )
                )
            }
        }
        return work
    }

    /// Authorizes `requests` in order and returns how many were not allowed.
    func authorizeAll(_ requests: [Gatekeeper.Request]) async -> Int {
        var refused = 0
        for request in requests {
            let decision = await gatekeeper.authorize(request)
            if !decision.isAllowed { refused += 1 }
        }
        return refused
    }

    /// Authorizes `requests` split over `workers` concurrent tasks; returns how many were not allowed.
    func authorizeConcurrently(_ requests: [Gatekeeper.Request], workers: Int) async -> Int {
        let gatekeeper = self.gatekeeper
        return await withTaskGroup(of: Int.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var refused = 0
                    for index in stride(from: worker, to: requests.count, by: workers) {
                        let decision = await gatekeeper.authorize(requests[index])
                        if !decision.isAllowed { refused += 1 }
                    }
                    return refused
                }
            }
            return await group.reduce(0, +)
        }
    }
}

/// Step numbers for minted tokens, shared by every deployment (token ids are random anyway).
let stepCounter = Atomic<UInt64>(0)

/// The deployment of the benchmark that is running, set by its setup hook.
final class Current: Sendable {
    private let slot = Mutex<Deployment?>(nil)

    var deployment: Deployment { slot.withLock { $0! } }

    func setUp() async throws {
        let deployment = try await Deployment.make()
        slot.withLock { $0 = deployment }
    }

    func tearDown() { slot.withLock { $0 = nil } }
}

let current = Current()
