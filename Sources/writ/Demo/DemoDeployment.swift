import Foundation
import Synchronization
import Writ
import WritAudit
import WritCrypto

/// The demo's deployment, all in one process on the embedded default: an authority, three services (a
/// repository, a ticket system and a legacy payments API behind the broker), each with its own gatekeeper,
/// revocation follower and file-backed audit log in the work directory.
struct DemoDeployment: Sendable {
    struct Service: Sendable {
        let name: String
        let gatekeeper: Gatekeeper
        let follower: RevocationFeedFollower
        let log: AuditLog
        let store: FileAuditStore
        let path: String
    }

    static let trustDomain = "acme.example"
    static let legacyAPIKey = "sk_live_demo_7d1f0c9a_static_key"

    static let repoPolicies = """
        @id("repo-work")
        permit (principal, action in [Action::"read", Action::"write", Action::"merge"], resource)
        when { context.intent == "fix-bug" };

        @id("release-notes")
        permit (principal, action == Action::"read", resource)
        when { context.intent == "release-notes" };

        @checkpoint("merging to main needs a human's approval")
        forbid (principal, action == Action::"merge", resource)
        unless { context.approvals.contains("merge") };

        @id("sub-agents-read-only")
        forbid (principal, action in [Action::"write", Action::"merge"], resource)
        when { context.token.delegationDepth > 0 };

        @id("drill")
        permit (principal, action == Action::"drill.probe", resource == Resource::"drill/canary");
        """

    static let ticketPolicies = """
        @id("tickets-work")
        permit (principal, action in [Action::"read", Action::"comment"], resource)
        when { context.intent == "fix-bug" };

        @id("drill")
        permit (principal, action == Action::"drill.probe", resource == Resource::"drill/canary");
        """

    static let paymentPolicies = """
        @id("refunds-for-bugs")
        permit (principal, action == Action::"refund", resource)
        when { context.intent == "fix-bug" && context.token.delegationDepth == 0 };

        @id("drill")
        permit (principal, action == Action::"drill.probe", resource == Resource::"drill/canary");
        """

    let directory: String
    let clock: SimulatedClock
    let seed: UInt64?
    let authority: CredentialAuthority
    let authorityLog: AuditLog
    let authorityStore: FileAuditStore
    let authorityPath: String
    let revocations: RevocationPublisher
    let revocationStore: FileRevocationStore
    let attestor: JoinTokenAttestor
    let services: [Service]
    let broker: CredentialBroker

    var repo: Service { services[0] }
    var tickets: Service { services[1] }
    var payments: Service { services[2] }

    /// Derives a key from the seed and a name (deterministic runs), or makes a random one.
    static func key(_ name: String, seed: UInt64?) throws -> Ed25519.PrivateKey {
        guard let seed else { return Ed25519.PrivateKey() }
        let material = BLAKE2b.hash(Array("writ-demo/\(seed)/\(name)".utf8), outputByteCount: 32)
        return try Ed25519.PrivateKey(seed: SecureBytes(material))
    }

    static func make(directory: String, seed: UInt64?) async throws -> DemoDeployment {
        let fm = FileManager.default
        // Each run starts afresh: logs, keys and reports of an earlier run would not verify against this one's.
        for folder in ["audit", "keys", "feed-keys"] {
            try fm.createDirectory(atPath: directory + "/" + folder, withIntermediateDirectories: true)
            for name in (try? fm.contentsOfDirectory(atPath: directory + "/" + folder)) ?? [] {
                try fm.removeItem(atPath: directory + "/\(folder)/" + name)
            }
        }
        let start = Timestamp(secondsSinceEpoch: seed == nil ? SystemClock().now().secondsSinceEpoch : 1_767_225_600)
        let clock = SimulatedClock(start: start)
        let classes = [
            try AgentClass(
                name: "planner",
                defaultTTL: .seconds(20),
                maximumTTL: .seconds(60),
                maximumDelegationDepth: 2,
                mayDelegate: true,
                refreshLimit: 3
            ),
            try AgentClass(name: "reader", defaultTTL: .seconds(10), maximumTTL: .seconds(20), refreshLimit: 1),
            try AgentClass(name: "ticketer", defaultTTL: .seconds(10), maximumTTL: .seconds(20), refreshLimit: 1),
            try AgentClass(name: "canary", defaultTTL: .seconds(60), maximumTTL: .seconds(60), refreshLimit: 10),
        ]
        let entitlements = EntitlementTable([
            "planner": [
                Entitlement(audience: "repo", actions: ["read", "write", "merge"], resources: ["repo/*"]),
                Entitlement(audience: "tickets", actions: ["read", "comment"], resources: ["tickets/*"]),
                Entitlement(audience: "payments", actions: ["refund"], resources: ["payments/*"]),
            ],
            "reader": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])],
            "ticketer": [Entitlement(audience: "tickets", actions: ["read", "comment"], resources: ["tickets/*"])],
            "canary": ["repo", "tickets", "payments"].map {
                Entitlement(audience: $0, actions: [RevocationDrill.canaryAction], resources: ["drill/*"])
            },
        ])
        let issuerKey = try key("issuer", seed: seed)
        // The embedded default: a durable, signed revocation feed in the work directory (`writ revoke --store` can
        // add to it from a shell). Each demo run starts a fresh one. The feed is signed by its own revocation key,
        // kept in `feed-keys/` (apart from the audit logs' note keys in `keys/`) so the files can be verified
        // (`writ revoke --list --trust feed-keys/revocation.pub`). Verifiers leave signed watermark reports in
        // `watermarks/`, apart from the feed, which they only read.
        let revocationPath = directory + "/revocations.log"
        for stale in [revocationPath, revocationPath + ".head", directory + "/watermarks"]
        where fm.fileExists(atPath: stale) {
            try fm.removeItem(atPath: stale)
        }
        let revocationKey = try key("revocation", seed: seed)
        try fm.createDirectory(atPath: directory + "/feed-keys", withIntermediateDirectories: true)
        try OutputFile.replace(
            directory + "/feed-keys/revocation.pub",
            contents: KeyFiles.publicText(revocationKey.publicKey) + "\n",
            mode: 0o644,
            option: "--dir"
        )
        // The private half too (0600), so `writ revoke --key` can append to this demo's feed from a shell.
        try OutputFile.replace(
            directory + "/feed-keys/revocation.key",
            contents: KeyFiles.privateText(revocationKey) + "\n",
            mode: 0o600,
            option: "--dir"
        )
        let revocationStore = try FileRevocationStore.open(path: revocationPath, mode: .create)
        let revocations = RevocationPublisher(
            store: revocationStore,
            signer: revocationKey,
            clock: clock,
            watermarks: try FileWatermarkStore(directory: directory + "/watermarks")
        )
        try await revocations.publishHead()
        let attestor = JoinTokenAttestor(clock: clock)
        let authorityPath = directory + "/audit/authority.log"
        let authorityStore = try FileAuditStore.open(path: authorityPath)
        let authorityLog = try await AuditLog.open(
            store: authorityStore,
            service: "authority",
            signingKey: try key("log/authority", seed: seed),
            salt: AuditSalt(),
            clock: clock
        )
        let authority = CredentialAuthority(
            .init(
                issuerKey: issuerKey,
                agentClasses: classes,
                entitlements: entitlements,
                revocations: revocations,
                audit: authorityLog,
                clock: clock,
                attestor: attestor
            )
        )

        var services: [Service] = []
        for (name, policies, threshold) in [
            ("repo", repoPolicies, 5), ("tickets", ticketPolicies, 4), ("payments", paymentPolicies, 5),
        ] {
            let path = directory + "/audit/\(name).log"
            let store = try FileAuditStore.open(path: path)
            let log = try await AuditLog.open(
                store: store,
                service: name,
                signingKey: try key("log/\(name)", seed: seed),
                salt: AuditSalt(),
                clock: clock
            )
            let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
            let verifierKey = try key("verifier/\(name)", seed: seed)
            revocations.register(verifier: name, key: verifierKey.publicKey)
            let follower = try RevocationFeedFollower(
                verifier: name,
                store: try FileRevocationStore.open(path: revocationPath, mode: .readOnly),
                trustedKeys: [revocations.publicKey],
                snapshot: snapshot,
                clock: clock,
                reportSigner: verifierKey,
                watermarks: revocations.watermarks
            )
            _ = try await follower.syncOnce()
            let gatekeeper = Gatekeeper(
                .init(
                    audience: name,
                    trustBundle: TrustBundle(trusting: issuerKey.publicKey),
                    agentClasses: classes,
                    policies: try PolicySet(text: policies),
                    revocation: snapshot,
                    audit: log,
                    detectors: [
                        DenialBurstDetector(threshold: threshold, window: .seconds(60)), RateSpikeDetector(),
                        ResourceProbeDetector(), UseAfterCloseDetector(),
                    ],
                    clock: clock
                )
            )
            services.append(
                Service(name: name, gatekeeper: gatekeeper, follower: follower, log: log, store: store, path: path)
            )
        }
        let broker = try CredentialBroker(
            gatekeeper: services[2].gatekeeper,
            secret: SecureBytes(Array(legacyAPIKey.utf8)),
            sealingKey: SecretBox.makeKey()
        )
        // The logs' public keys (signed-note verifier keys), so that `writ audit verify --keys <dir>/keys` can
        // check every signature; the authority's log also witnesses the others.
        try fm.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true)
        for (name, log) in [("authority", authorityLog)] + services.map({ ($0.name, $0.log) }) {
            try Data((NoteKey.verifierKey(name: name, key: log.publicKey) + "\n").utf8)
                .write(to: URL(fileURLWithPath: directory + "/keys/\(name).pub"))
        }
        try Data((NoteKey.verifierKey(name: "authority", key: authorityLog.publicKey, witness: true) + "\n").utf8)
            .write(to: URL(fileURLWithPath: directory + "/keys/authority.witness.pub"))
        return DemoDeployment(
            directory: directory,
            clock: clock,
            seed: seed,
            authority: authority,
            authorityLog: authorityLog,
            authorityStore: authorityStore,
            authorityPath: authorityPath,
            revocations: revocations,
            revocationStore: revocationStore,
            attestor: attestor,
            services: services,
            broker: broker
        )
    }

    /// An agent: attested through a one-time join token, with its own key and identity document.
    struct Agent: Sendable {
        let identity: AgentIdentity
        let key: Ed25519.PrivateKey
        let document: IdentityDocument
        let className: String
    }

    func enroll(_ className: String, instance: String, supervisor: AgentIdentity? = nil) async throws -> Agent {
        let identity = try AgentIdentity("spiffe://\(Self.trustDomain)/agent/\(className)/\(instance)")
        let key = try Self.key("agent/\(className)/\(instance)", seed: seed)
        let join = try await attestor.issueJoinToken(
            for: identity,
            agentClass: className,
            supervisor: supervisor,
            ttl: .seconds(60)
        )
        let document = try await authority.attest(join.evidence(signingKey: key))
        return Agent(identity: identity, key: key, document: document, className: className)
    }

    /// Brings every service's revocation snapshot up to date (what their followers do continuously).
    ///
    /// The authority signs a fresh head first, as its publisher does every second in a live deployment (the demo's
    /// clock is simulated, so nothing runs in the background).
    func syncAll() async throws {
        try await revocations.publishHead()
        for service in services { _ = try await service.follower.syncOnce() }
    }

    /// Brings one service's snapshot up to date, after a fresh head.
    func sync(_ service: Service) async throws {
        try await revocations.publishHead()
        _ = try await service.follower.syncOnce()
    }

    /// Forwards every service's anomaly reports to the authority until cancelled.
    func forwardAnomalies(into forwarded: ForwardedAnomalies) async {
        await withTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask {
                    for await report in service.gatekeeper.anomalies {
                        do {
                            try await authority.reportAnomaly(report)
                            forwarded.append(report)
                        } catch {
                            forwarded.fail("\(error)")
                        }
                    }
                }
            }
        }
    }
}

/// Anomalies the demo forwarded to the authority.
final class ForwardedAnomalies: Sendable {
    private let state = Mutex<(reports: [AnomalyReport], errors: [String])>(([], []))
    func append(_ report: AnomalyReport) { state.withLock { $0.reports.append(report) } }
    func fail(_ error: String) { state.withLock { $0.errors.append(error) } }
    var reports: [AnomalyReport] { state.withLock { $0.reports } }
    var errors: [String] { state.withLock { $0.errors } }
}
