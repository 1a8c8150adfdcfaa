public import Writ
import WritCrypto
import WritIdentity
import WritTokens

/// A whole deployment in one process: one credential authority, its signed revocation feed (publisher and store),
/// its audit log, a join-token attestor and any number of services, each with its own gatekeeper, revocation
/// snapshot and follower, and audit log, all on one clock.
///
/// The demo, the tests and the benchmarks build their worlds on it, so the wiring (who trusts which key, which
/// follower reads which feed and reports to which watermark store) is written once:
/// ```swift
/// let deployment = try await LocalDeployment(
///     clock: ManualClock(),
///     agentClasses: [try AgentClass(name: "coder", defaultTTL: .seconds(30), maximumTTL: .seconds(60))],
///     entitlements: EntitlementTable(["coder": [Entitlement(audience: "repo", actions: ["read"])]])
/// )
/// let repo = try await deployment.makeService("repo", policies: try PolicySet(text: "permit (principal, action, resource);"))
/// ```
/// Where the state lives is the caller's choice (``Stores``): in memory by default, files or a database for a
/// deployment whose logs outlive the process.
public struct LocalDeployment: Sendable {
    /// Where a deployment keeps its state.
    public struct Stores: Sendable {
        /// The revocation feed the authority's publisher writes.
        public var revocations: any RevocationStore
        /// Where verifiers' signed watermark reports go (`nil`: followers do not report).
        public var watermarks: (any WatermarkStore)?
        /// The authority's audit store.
        public var authorityAudit: any AuditStore
        /// Where the authority keeps agents, tasks and steps.
        public var authority: any AuthorityStore
        /// The handle a service's follower reads the feed through (given the service's name); the publisher's
        /// store by default, a second (e.g. read-only) handle on the same feed for a more realistic deployment.
        public var feed: @Sendable (_ service: String) throws -> any RevocationStore
        /// A fresh audit store for a service (given its name).
        public var serviceAudit: @Sendable (_ service: String) throws -> any AuditStore

        /// Creates a set of stores.
        public init(
            revocations: any RevocationStore,
            watermarks: (any WatermarkStore)?,
            authorityAudit: any AuditStore,
            authority: any AuthorityStore,
            feed: (@Sendable (_ service: String) throws -> any RevocationStore)? = nil,
            serviceAudit: @escaping @Sendable (_ service: String) throws -> any AuditStore
        ) {
            self.revocations = revocations
            self.watermarks = watermarks
            self.authorityAudit = authorityAudit
            self.authority = authority
            self.feed = feed ?? { _ in revocations }
            self.serviceAudit = serviceAudit
        }

        /// Everything in memory (watermark reports included), forgotten when the process ends.
        public static func inMemory() -> Stores {
            Stores(
                revocations: InMemoryRevocationStore(),
                watermarks: InMemoryWatermarkStore(),
                authorityAudit: InMemoryAuditStore(),
                authority: InMemoryAuthorityStore(),
                serviceAudit: { _ in InMemoryAuditStore() }
            )
        }
    }

    /// Where the deployment's keys come from: fresh random keys, or keys derived from a seed and the key's name
    /// (`issuer`, `revocation`, `log/<service>`, `verifier/<service>`, `agent/<class>/<instance>`), so a seeded
    /// run signs the same way every time.
    public struct Keys: Sendable {
        /// The seed (`nil`: random keys).
        public let seed: UInt64?
        /// What seeded derivations are prefixed with.
        public let domain: String

        /// Fresh random keys.
        public static let random = Keys(seed: nil, domain: "")

        /// Keys derived from `seed`: BLAKE2b-256 of `"<domain>/<seed>/<name>"` is the Ed25519 seed.
        public static func seeded(_ seed: UInt64, domain: String) -> Keys { Keys(seed: seed, domain: domain) }

        /// The key named `name`.
        public func key(_ name: String) throws -> Ed25519.PrivateKey {
            guard let seed else { return Ed25519.PrivateKey() }
            let material = BLAKE2b.hash(Array("\(domain)/\(seed)/\(name)".utf8), outputByteCount: 32)
            return try Ed25519.PrivateKey(seed: SecureBytes(material))
        }
    }

    /// One service of the deployment.
    public struct Service: Sendable {
        /// The service's audience name.
        public let name: String
        /// Its gatekeeper.
        public let gatekeeper: Gatekeeper
        /// The revocation snapshot its gatekeeper checks.
        public let snapshot: RevocationSnapshot
        /// The follower that keeps the snapshot up to date.
        public let follower: RevocationFeedFollower
        /// Its audit log.
        public let log: AuditLog
        /// The store under its audit log.
        public let auditStore: any AuditStore
        /// The authority's publisher (signs the heads ``sync()`` needs).
        public let publisher: RevocationPublisher

        /// What the service's follower does continuously, after a fresh head (the authority signs one every
        /// second in a live deployment; a manual clock runs nothing in the background).
        public func sync() async throws {
            try await publisher.publishHead()
            _ = try await follower.syncOnce()
        }

        /// Asks this service for `action` on `resource` with a fresh credential (token and proof) from `provider`.
        public func authorize(
            _ action: String,
            _ resource: String,
            with provider: CredentialProvider,
            approvals: Set<String> = [],
            traceID: String? = nil
        ) async throws -> GateDecision {
            let credential = try await provider.credential(audience: name, action: action, resource: resource)
            return await gatekeeper.authorize(
                Gatekeeper.Request(
                    token: credential.token,
                    proof: credential.proof,
                    action: action,
                    resource: resource,
                    approvals: approvals,
                    traceID: traceID
                )
            )
        }
    }

    /// The deployment's clock.
    public let clock: any WallClock
    /// Where its keys come from.
    public let keys: Keys
    /// Where its state lives.
    public let stores: Stores
    /// The issuer key (services trust its public half).
    public let issuerKey: Ed25519.PrivateKey
    /// The key that signs the revocation feed.
    public let revocationKey: Ed25519.PrivateKey
    /// The authority's revocation publisher.
    public let publisher: RevocationPublisher
    /// The authority's audit log.
    public let authorityLog: AuditLog
    /// The attestor issuing one-time join tokens (the authority's configured attestor unless `configure` changed it).
    public let attestor: JoinTokenAttestor
    /// The authority's configuration; ``replica()`` opens another authority with it.
    public let configuration: CredentialAuthority.Configuration
    /// The authority.
    public let authority: CredentialAuthority

    /// Builds the authority side: the publisher (with a first signed head), the authority's audit log and the
    /// authority.
    ///
    /// - Parameters:
    ///   - clock: the clock of every component.
    ///   - keys: where the keys come from (default: random).
    ///   - stores: where the state lives (default: in memory).
    ///   - agentClasses: the classes the authority and every service know.
    ///   - entitlements: what each class may be granted.
    ///   - configure: a last change to the authority's configuration (anomaly response, another audit sink…).
    public init(
        clock: any WallClock,
        keys: Keys = .random,
        stores: Stores = .inMemory(),
        agentClasses: [AgentClass],
        entitlements: any EntitlementPolicy,
        configure: (inout CredentialAuthority.Configuration) -> Void = { _ in }
    ) async throws {
        self.clock = clock
        self.keys = keys
        self.stores = stores
        issuerKey = try keys.key("issuer")
        revocationKey = try keys.key("revocation")
        publisher = RevocationPublisher(
            store: stores.revocations,
            signer: revocationKey,
            clock: clock,
            watermarks: stores.watermarks
        )
        try await publisher.publishHead()
        attestor = JoinTokenAttestor(clock: clock)
        authorityLog = try await AuditLog.open(
            store: stores.authorityAudit,
            service: "authority",
            signingKey: try keys.key("log/authority"),
            salt: AuditSalt(),
            clock: clock
        )
        var configuration = CredentialAuthority.Configuration(
            issuerKey: issuerKey,
            agentClasses: agentClasses,
            entitlements: entitlements,
            revocations: publisher,
            audit: authorityLog,
            store: stores.authority,
            clock: clock,
            attestor: attestor
        )
        configure(&configuration)
        self.configuration = configuration
        authority = CredentialAuthority(configuration)
    }

    /// Another authority with the same configuration (store, publisher, audit log and clock): a replica, or the
    /// authority after a restart.
    public func replica() -> CredentialAuthority { CredentialAuthority(configuration) }

    /// Adds a service: its audit log (key `log/<name>`), a revocation snapshot and a follower reading the feed
    /// (reporting watermarks signed by `verifier/<name>`, registered with the publisher), synced once after a fresh
    /// head, and a gatekeeper trusting the issuer.
    ///
    /// - Parameters:
    ///   - name: the service's audience.
    ///   - policies: its policies.
    ///   - maxStaleness: how old its revocation snapshot may get before it fails closed.
    ///   - configure: a last change to the gatekeeper's configuration (detectors, replay cache, audit sink…).
    public func makeService(
        _ name: String,
        policies: PolicySet,
        maxStaleness: Duration = .seconds(30),
        configure: (inout Gatekeeper.Configuration) -> Void = { _ in }
    ) async throws -> Service {
        let auditStore = try stores.serviceAudit(name)
        let log = try await AuditLog.open(
            store: auditStore,
            service: name,
            signingKey: try keys.key("log/\(name)"),
            salt: AuditSalt(),
            clock: clock
        )
        let snapshot = RevocationSnapshot(maxStaleness: maxStaleness)
        let verifierKey = try keys.key("verifier/\(name)")
        publisher.register(verifier: name, key: verifierKey.publicKey)
        let follower = try RevocationFeedFollower(
            verifier: name,
            store: try stores.feed(name),
            trustedKeys: [publisher.publicKey],
            snapshot: snapshot,
            clock: clock,
            reportSigner: verifierKey,
            watermarks: publisher.watermarks
        )
        var gate = Gatekeeper.Configuration(
            audience: name,
            trustBundle: TrustBundle(trusting: issuerKey.publicKey),
            agentClasses: configuration.agentClasses,
            policies: policies,
            revocation: snapshot,
            audit: log,
            clock: clock
        )
        configure(&gate)
        let service = Service(
            name: name,
            gatekeeper: Gatekeeper(gate),
            snapshot: snapshot,
            follower: follower,
            log: log,
            auditStore: auditStore,
            publisher: publisher
        )
        try await service.sync()
        return service
    }

    /// Brings every one of `services`' snapshots up to date after one fresh head (what their followers do
    /// continuously).
    public func sync(_ services: [Service]) async throws {
        try await publisher.publishHead()
        for service in services { _ = try await service.follower.syncOnce() }
    }

    /// Attests a new agent through a one-time join token: identity `spiffe://<trustDomain>/agent/<class>/<instance>`,
    /// its own key (`agent/<class>/<instance>`), and the identity document the authority returned.
    public func enroll(
        _ className: String,
        instance: String,
        supervisor: AgentIdentity? = nil,
        trustDomain: String
    ) async throws -> EnrolledAgent {
        let identity = try AgentIdentity("spiffe://\(trustDomain)/agent/\(className)/\(instance)")
        let key = try keys.key("agent/\(className)/\(instance)")
        let join = try await attestor.issueJoinToken(
            for: identity,
            agentClass: className,
            supervisor: supervisor,
            ttl: .seconds(60)
        )
        let document = try await authority.attest(join.evidence(signingKey: key))
        return EnrolledAgent(identity: identity, key: key, document: document, className: className)
    }

    /// Forwards every one of `services`' anomaly reports to the authority until cancelled, telling `forwarded`
    /// what was forwarded and what failed.
    public func forwardAnomalies(
        of services: [Service],
        forwarded: @escaping @Sendable (Result<AnomalyReport, any Error>) -> Void
    ) async {
        let authority = self.authority
        await withTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask {
                    for await report in service.gatekeeper.anomalies {
                        do {
                            try await authority.reportAnomaly(report)
                            forwarded(.success(report))
                        } catch {
                            forwarded(.failure(error))
                        }
                    }
                }
            }
        }
    }
}

/// An agent attested by ``LocalDeployment/enroll(_:instance:supervisor:trustDomain:)``.
public struct EnrolledAgent: Sendable {
    /// Its identity.
    public let identity: AgentIdentity
    /// Its private key (its tokens are bound to the public half).
    public let key: Ed25519.PrivateKey
    /// The identity document the authority issued.
    public let document: IdentityDocument
    /// Its class.
    public let className: String
}
