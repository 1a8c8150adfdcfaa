public import WritAudit
public import WritCrypto
public import WritIdentity
public import WritRevocation
import WritTokens

/// The issuer side: registers agents, opens tasks, mints a narrow token per task step, refreshes within
/// limits, and revokes — on completion, deadline, anomaly, hand-off or key compromise — recording every
/// action in the audit log.
///
/// Everything the authority remembers lives in its ``AuthorityStore``: it keeps no state of its own, so a
/// restarted authority continues every open task, and several authorities over one store act as replicas.
/// Every change is read → compute → ``AuthorityStore/update(_:expecting:)``; on a version conflict the authority
/// reads again and retries (at most ``Configuration/maximumAttempts`` times, then
/// ``AuthorityError/Code/storeConflict``). A step's live token is committed to the store before any revocation
/// or audit write, and checked again after them, so a token is never handed out unless its issuance was audited
/// and it is still the step's one live token.
public actor CredentialAuthority {
    /// How the authority is set up.
    public struct Configuration: Sendable {
        /// What signs root token blocks and identity documents: the issuer key itself, or a KMS or HSM holding it
        /// (any `Signer`; it is called synchronously for every issue and refresh). Verifiers trust its public key.
        public var issuerKey: any Signer
        /// The agent classes the authority knows (TTL caps, refresh limits, delegation).
        public var agentClasses: [AgentClass]
        /// What each class may be granted.
        public var entitlements: any EntitlementPolicy
        /// Signs revocations into the feed that verifiers follow (the revocation key and its store).
        public var revocations: RevocationPublisher
        /// Where the authority's audit events go.
        public var audit: any AuditSink
        /// Where agents, tasks, steps and anomaly memory are kept (default: in memory, forgotten on restart).
        public var store: any AuthorityStore
        /// The authority's clock.
        public var clock: any WallClock
        /// What an anomaly report revokes (default: the presented token's block and the agent).
        public var anomalyResponse: Set<AnomalyResponse>
        /// Proves what a workload is before it gets an identity (e.g. `JoinTokenAttestor`).
        public var attestor: (any Attestor)?
        /// How long identity documents are valid.
        public var identityLifetime: Duration
        /// How many times one change is attempted when other replicas keep changing the same record.
        public var maximumAttempts: Int

        /// Creates a configuration.
        public init(
            issuerKey: some Signer,
            agentClasses: [AgentClass],
            entitlements: any EntitlementPolicy,
            revocations: RevocationPublisher,
            audit: any AuditSink,
            store: any AuthorityStore = InMemoryAuthorityStore(),
            clock: any WallClock = SystemClock(),
            anomalyResponse: Set<AnomalyResponse> = [.revokeToken, .revokeAgent],
            attestor: (any Attestor)? = nil,
            identityLifetime: Duration = .seconds(3600),
            maximumAttempts: Int = 64
        ) {
            self.attestor = attestor
            self.identityLifetime = identityLifetime
            self.issuerKey = issuerKey
            self.agentClasses = agentClasses
            self.entitlements = entitlements
            self.revocations = revocations
            self.audit = audit
            self.store = store
            self.clock = clock
            self.anomalyResponse = anomalyResponse
            self.maximumAttempts = max(1, maximumAttempts)
        }
    }

    let configuration: Configuration
    let classes: [String: AgentClass]

    /// Creates an authority over the configuration's store (which may already hold agents and open tasks).
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

    var store: any AuthorityStore { configuration.store }

    var longestTTL: Duration {
        configuration.agentClasses.map(\.maximumTTL).max() ?? .seconds(3600)
    }
}
