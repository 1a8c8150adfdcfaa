import Writ
import WritTesting

/// An in-process deployment for tests: an authority, services with their own gatekeepers, audit logs and
/// revocation followers, all on one manual clock.
final class World: Sendable {
    static let repoPolicies = """
        @id("work-within-intent")
        permit (principal, action in [Action::"read", Action::"write", Action::"merge"], resource)
        when { context.intent == "fix-bug" };

        @checkpoint("merging needs a human's approval")
        forbid (principal, action == Action::"merge", resource)
        unless { context.approvals.contains("merge") };

        @id("drill-canary")
        permit (principal, action == Action::"drill.probe", resource == Resource::"drill/canary");

        @id("no-deep-writes")
        forbid (principal, action == Action::"write", resource)
        when { context.token.delegationDepth > 1 };
        """

    static let permissive = """
        permit (principal, action, resource);
        """

    struct Service: Sendable {
        let name: String
        let gatekeeper: Gatekeeper
        let snapshot: RevocationSnapshot
        let follower: RevocationFeedFollower
        let log: AuditLog
        let store: InMemoryAuditStore
        let publisher: RevocationPublisher

        /// What the service's follower does continuously, after a fresh head (the authority signs one every
        /// second in a live deployment; the manual clock runs nothing in the background).
        func sync() async throws {
            try await publisher.publishHead()
            _ = try await follower.syncOnce()
        }
    }

    let clock = ManualClock()
    let issuerKey = Ed25519.PrivateKey()
    let revocationStore = InMemoryRevocationStore()
    let revocationKey = Ed25519.PrivateKey()
    let revocations: RevocationPublisher
    let authorityStore = InMemoryAuditStore()
    let authorityLog: AuditLog
    let authority: CredentialAuthority
    /// Where the authority keeps agents, tasks and steps; ``replica()`` opens another authority on it.
    let state = InMemoryAuthorityStore()
    /// The authority's configuration (store, revocations, audit and clock included).
    let configuration: CredentialAuthority.Configuration
    let classes: [AgentClass]

    let supervisor = try! AgentIdentity("spiffe://acme.test/agent/supervisor/1")
    let supervisorKey = Ed25519.PrivateKey()
    let worker = try! AgentIdentity("spiffe://acme.test/agent/worker/1")
    let workerKey = Ed25519.PrivateKey()
    let canary = try! AgentIdentity("spiffe://acme.test/agent/canary/1")
    let canaryKey = Ed25519.PrivateKey()

    init(
        anomalyResponse: Set<CredentialAuthority.AnomalyResponse> = [.revokeToken, .revokeAgent],
        audit: (any AuditSink)? = nil
    ) async throws {
        revocations = RevocationPublisher(
            store: revocationStore,
            signer: revocationKey,
            clock: clock,
            watermarks: InMemoryWatermarkStore()
        )
        classes = [
            try AgentClass(
                name: "supervisor",
                defaultTTL: .seconds(30),
                maximumTTL: .seconds(60),
                maximumDelegationDepth: 2,
                mayDelegate: true,
                refreshLimit: 2
            ),
            try AgentClass(name: "worker", defaultTTL: .seconds(10), maximumTTL: .seconds(20), refreshLimit: 1),
            try AgentClass(name: "canary", defaultTTL: .seconds(60), maximumTTL: .seconds(60), refreshLimit: 100),
        ]
        authorityLog = try await AuditLog.open(
            store: authorityStore,
            service: "authority",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt(),
            clock: clock
        )
        let entitlements = EntitlementTable([
            "supervisor": [
                Entitlement(audience: "repo", actions: ["read", "write", "merge"], resources: ["repo/*"]),
                Entitlement(audience: "tickets", actions: ["read", "comment"], resources: ["tickets/*"]),
                Entitlement(audience: "payments", actions: ["refund", "charge"], resources: ["payments/*"]),
            ],
            "worker": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])],
            "canary": ["repo", "tickets", "payments"].map {
                Entitlement(audience: $0, actions: [RevocationDrill.canaryAction], resources: ["drill/*"])
            },
        ])
        configuration = .init(
            issuerKey: issuerKey,
            agentClasses: classes,
            entitlements: entitlements,
            revocations: revocations,
            audit: audit ?? authorityLog,
            store: state,
            clock: clock,
            anomalyResponse: anomalyResponse
        )
        authority = CredentialAuthority(configuration)
        try await authority.register(supervisor, publicKey: supervisorKey.publicKey, agentClass: "supervisor")
        try await authority.register(
            worker,
            publicKey: workerKey.publicKey,
            agentClass: "worker",
            supervisor: supervisor
        )
        try await authority.register(canary, publicKey: canaryKey.publicKey, agentClass: "canary")
    }

    func service(
        _ name: String,
        policies: String = World.repoPolicies,
        audit: (any AuditSink)? = nil,
        auditFailClosed: Bool = true,
        detectors: [any AnomalyDetector] = AnomalyDetectors.defaults(),
        maxStaleness: Duration = .seconds(30),
        sharedNonces: (any NonceStore)? = nil
    ) async throws -> Service {
        let store = InMemoryAuditStore()
        let log = try await AuditLog.open(
            store: store,
            service: name,
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt(),
            clock: clock
        )
        let snapshot = RevocationSnapshot(maxStaleness: maxStaleness)
        let verifierKey = Ed25519.PrivateKey()
        revocations.register(verifier: name, key: verifierKey.publicKey)
        let follower = try RevocationFeedFollower(
            verifier: name,
            store: revocationStore,
            trustedKeys: [revocationKey.publicKey],
            snapshot: snapshot,
            clock: clock,
            reportSigner: verifierKey,
            watermarks: revocations.watermarks
        )
        try await revocations.publishHead()
        _ = try await follower.syncOnce()
        let gatekeeper = Gatekeeper(
            .init(
                audience: name,
                trustBundle: TrustBundle(trusting: issuerKey.publicKey),
                agentClasses: classes,
                policies: try PolicySet(text: policies),
                revocation: snapshot,
                sharedNonces: sharedNonces,
                audit: audit ?? log,
                detectors: detectors,
                clock: clock,
                auditFailClosed: auditFailClosed
            )
        )
        return Service(
            name: name,
            gatekeeper: gatekeeper,
            snapshot: snapshot,
            follower: follower,
            log: log,
            store: store,
            publisher: revocations
        )
    }

    /// Another authority over the same store, revocation publisher, audit log and clock: a replica, or the
    /// authority after a restart.
    func replica() -> CredentialAuthority { CredentialAuthority(configuration) }

    /// Opens a task with intent `fix-bug` (the intent the repo policies permit).
    func openTask(for agent: AgentIdentity, deadline: Duration) async throws -> String {
        try await authority.openTask(for: agent, objective: "o", intent: "fix-bug", deadline: deadline)
    }

    /// A provider for the supervisor, with refresh jitter off so tests are deterministic.
    func supervisorProvider(source: (any TokenSource)? = nil) -> CredentialProvider {
        CredentialProvider(
            identity: supervisor,
            key: supervisorKey,
            source: source ?? authority,
            clock: clock,
            refreshPolicy: .init(fraction: 0.75, jitter: 0, attempts: 2, backoff: .milliseconds(1))
        )
    }

    static func step(
        _ name: String = "fix",
        audience: String = "repo",
        actions: [String] = ["read", "write"],
        resources: [ResourcePattern] = ["repo/writ/*"],
        duration: Duration? = nil
    ) -> StepGrant {
        StepGrant(name: name, audience: audience, actions: actions, resources: resources, duration: duration)
    }

    /// A gatekeeper request from a provider's credential.
    static func request(
        _ credential: PresentedCredential,
        action: String,
        resource: String,
        approvals: Set<String> = []
    ) -> Gatekeeper.Request {
        Gatekeeper.Request(
            token: credential.token,
            proof: credential.proof,
            action: action,
            resource: resource,
            approvals: approvals,
            traceID: "trace-1"
        )
    }

    /// Asks `service` for `action` on `resource` with a fresh credential from `provider`.
    func call(
        _ provider: CredentialProvider,
        _ service: Service,
        _ action: String,
        _ resource: String,
        approvals: Set<String> = []
    ) async throws -> GateDecision {
        let credential = try await provider.credential(audience: service.name, action: action, resource: resource)
        return await service.gatekeeper.authorize(
            World.request(credential, action: action, resource: resource, approvals: approvals)
        )
    }
}

/// Presents `token` to `service` with a fresh proof signed by `key` (which may be the wrong key, for attacks).
func present(
    _ token: CapabilityToken,
    key: Ed25519.PrivateKey,
    to service: World.Service,
    clock: ManualClock,
    action: String = "read",
    resource: String = "repo/writ/a"
) async -> GateDecision {
    let proof = ProofOfPossession.sign(
        token: token,
        request: TokenRequest(audience: service.name, action: action, resource: resource),
        holderKey: key,
        at: clock.now()
    )
    return await service.gatekeeper.authorize(
        Gatekeeper.Request(token: token.text, proof: proof.text, action: action, resource: resource)
    )
}

extension RevocationPublisher {
    /// The latest sequence this publisher wrote (0 before any).
    var latestSequence: UInt64 { tip?.sequence ?? 0 }
}
