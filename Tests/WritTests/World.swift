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

    typealias Service = LocalDeployment.Service

    /// The deployment's wiring (WritTesting's one-process deployment, in memory).
    let deployment: LocalDeployment
    let clock = ManualClock()
    let revocationStore = InMemoryRevocationStore()
    let authorityStore = InMemoryAuditStore()
    /// Where the authority keeps agents, tasks and steps; ``replica()`` opens another authority on it.
    let state = InMemoryAuthorityStore()
    let classes: [AgentClass]

    var issuerKey: Ed25519.PrivateKey { deployment.issuerKey }
    var revocationKey: Ed25519.PrivateKey { deployment.revocationKey }
    var revocations: RevocationPublisher { deployment.publisher }
    var authorityLog: AuditLog { deployment.authorityLog }
    var authority: CredentialAuthority { deployment.authority }
    /// The authority's configuration (store, revocations, audit and clock included).
    var configuration: CredentialAuthority.Configuration { deployment.configuration }

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
        deployment = try await LocalDeployment(
            clock: clock,
            stores: LocalDeployment.Stores(
                revocations: revocationStore,
                watermarks: InMemoryWatermarkStore(),
                authorityAudit: authorityStore,
                authority: state,
                serviceAudit: { _ in InMemoryAuditStore() }
            ),
            agentClasses: classes,
            entitlements: entitlements
        ) {
            $0.anomalyResponse = anomalyResponse
            if let audit { $0.audit = audit }
        }
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
        try await deployment.makeService(name, policies: try PolicySet(text: policies), maxStaleness: maxStaleness) {
            if let audit { $0.audit = audit }
            $0.auditFailClosed = auditFailClosed
            $0.detectors = detectors
            $0.sharedNonces = sharedNonces
        }
    }

    /// Another authority over the same store, revocation publisher, audit log and clock: a replica, or the
    /// authority after a restart.
    func replica() -> CredentialAuthority { deployment.replica() }

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
        try await service.authorize(action, resource, with: provider, approvals: approvals, traceID: "trace-1")
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
