#if CLI
import Foundation
import Synchronization
import Writ
import WritAudit
import WritCrypto
import WritSQLite
import WritTesting
import WritTokens

/// The demo's deployment, all in one process on the embedded default: an authority, three services (a
/// repository, a ticket system and a legacy payments API behind the broker), each with its own gatekeeper,
/// revocation follower and file-backed audit log in the work directory. The wiring is WritTesting's
/// ``LocalDeployment``; what is the demo's own is here: its classes, entitlements and policies, its stores
/// (``makeStores(directory:)``), and the key files it leaves for the CLI.
struct DemoDeployment: Sendable {
    typealias Service = LocalDeployment.Service

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
    let seed: UInt64?
    let local: LocalDeployment
    let clock: ManualClock
    let services: [Service]
    let broker: CredentialBroker

    var authority: CredentialAuthority { local.authority }
    var authorityLog: AuditLog { local.authorityLog }
    var authorityAudit: any AuditStore { local.stores.authorityAudit }
    var revocations: RevocationPublisher { local.publisher }
    var attestor: JoinTokenAttestor { local.attestor }

    var repo: Service { services[0] }
    var tickets: Service { services[1] }
    var payments: Service { services[2] }

    /// The demo's stores, in the work directory. By default (`sqlite:<dir>/writ.sqlite`, the embedded default)
    /// one SQLite database holds the authority's agents, tasks, steps and join tokens, the durable, signed
    /// revocation feed (`writ revoke --store sqlite:…` can add to it from a shell), which each service's follower
    /// reads through its own database handle, the verifiers' signed watermark reports, and the nonces the services
    /// share; the audit logs stay one file a system in `audit/`. With `file:` the feed and watermarks are flat
    /// files (`revocations.log`, `watermarks/`) and agents, tasks and steps stay in memory.
    ///
    /// Each run starts afresh: the stores of an earlier run are removed by ``make(directory:seed:store:)``.
    static func makeStores(
        directory: String,
        store: StoreLocator?,
        clock: ManualClock
    ) throws -> (LocalDeployment.Stores, nonces: (any NonceStore)?) {
        let audit: @Sendable (String) throws -> any AuditStore = { name in
            try FileAuditStore.open(path: auditPath(directory: directory, system: name))
        }
        switch store ?? .sqlite(path: sqlitePath(directory: directory)) {
        case .sqlite(let path):
            #if SQLite
            let database = try SQLiteDatabase.open(path: path)
            let stores = LocalDeployment.Stores(
                revocations: SQLiteRevocationStore(database: database),
                watermarks: SQLiteWatermarkStore(database: database),
                authorityAudit: try audit("authority"),
                authority: SQLiteAuthorityStore(database: database),
                feed: { _ in SQLiteRevocationStore(database: try SQLiteDatabase.open(path: path, mode: .readWrite)) },
                serviceAudit: audit
            )
            return (stores, SQLiteNonceStore(database: database, clock: clock))
            #else
            throw StoreLocator.sqlite(path: path).notAvailable("--store", in: "demo")
            #endif
        case .postgres(let url):
            throw StoreLocator.postgres(url: url).notAvailable("--store", in: "demo")
        case .file(let path):
            return (try makeFileStores(directory: directory, feedPath: path), nil)
        }
    }

    /// The flat-file stores (`--store file:`): the feed file, `watermarks/`, authority state in memory.
    private static func makeFileStores(directory: String, feedPath: String) throws -> LocalDeployment.Stores {
        LocalDeployment.Stores(
            revocations: try FileRevocationStore.open(path: feedPath, mode: .create),
            watermarks: try FileWatermarkStore(directory: directory + "/watermarks"),
            authorityAudit: try FileAuditStore.open(path: auditPath(directory: directory, system: "authority")),
            authority: InMemoryAuthorityStore(),
            feed: { _ in try FileRevocationStore.open(path: feedPath, mode: .readOnly) },
            serviceAudit: { name in try FileAuditStore.open(path: auditPath(directory: directory, system: name)) }
        )
    }

    /// Where the revocation feed is kept with `--store file:`.
    static func revocationPath(directory: String) -> String { directory + "/revocations.log" }

    /// Where the demo's SQLite database is kept by default.
    static func sqlitePath(directory: String) -> String { directory + "/writ.sqlite" }

    /// Where a system's audit log is kept (`authority`, or a service's name).
    static func auditPath(directory: String, system: String) -> String { directory + "/audit/\(system).log" }

    /// Where a system's audit log is kept in this run.
    func auditPath(_ system: String) -> String { Self.auditPath(directory: directory, system: system) }

    /// The demo's agent classes: a planner that may delegate, two narrow sub-agents, and the drill's canary.
    static func classes() throws -> [AgentClass] {
        [
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
    }

    /// What each class may be granted.
    static let entitlements = EntitlementTable([
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

    static func make(directory: String, seed: UInt64?, store: StoreLocator? = nil) async throws -> DemoDeployment {
        try clean(directory: directory, store: store)
        let start = Timestamp(secondsSinceEpoch: seed == nil ? SystemClock().now().secondsSinceEpoch : 1_767_225_600)
        let clock = ManualClock(start)
        let (stores, nonces) = try makeStores(directory: directory, store: store, clock: clock)
        let local = try await LocalDeployment(
            clock: clock,
            keys: seed.map { .seeded($0, domain: "writ-demo") } ?? .random,
            stores: stores,
            agentClasses: try classes(),
            entitlements: entitlements
        )
        try writeFeedKeys(directory: directory, key: local.revocationKey)
        var services: [Service] = []
        for (name, policies, threshold) in [
            ("repo", repoPolicies, 5), ("tickets", ticketPolicies, 4), ("payments", paymentPolicies, 5),
        ] {
            services.append(
                try await local.makeService(name, policies: try PolicySet(text: policies)) {
                    $0.sharedNonces = nonces
                    $0.detectors = [
                        DenialBurstDetector(threshold: threshold, window: .seconds(60)), RateSpikeDetector(),
                        ResourceProbeDetector(), UseAfterCloseDetector(),
                    ]
                }
            )
        }
        let broker = try CredentialBroker(
            gatekeeper: services[2].gatekeeper,
            secret: SecureBytes(Array(legacyAPIKey.utf8)),
            sealingKey: SecretBox.makeKey()
        )
        try writeLogKeys(
            directory: directory,
            logs: [("authority", local.authorityLog)] + services.map { ($0.name, $0.log) }
        )
        return DemoDeployment(
            directory: directory,
            seed: seed,
            local: local,
            clock: clock,
            services: services,
            broker: broker
        )
    }

    /// Removes what an earlier run left: logs, keys and reports of an earlier run would not verify against this
    /// one's.
    private static func clean(directory: String, store: StoreLocator?) throws {
        let fm = FileManager.default
        for folder in ["audit", "keys", "feed-keys"] {
            try fm.createDirectory(atPath: directory + "/" + folder, withIntermediateDirectories: true)
            for name in (try? fm.contentsOfDirectory(atPath: directory + "/" + folder)) ?? [] {
                try fm.removeItem(atPath: directory + "/\(folder)/" + name)
            }
        }
        var stale = [revocationPath(directory: directory), revocationPath(directory: directory) + ".head"]
        stale.append(directory + "/watermarks")
        switch store ?? .sqlite(path: sqlitePath(directory: directory)) {
        case .sqlite(let path): stale += [path, path + "-wal", path + "-shm"]
        case .file(let path): stale += [path, path + ".head"]
        case .postgres: break
        }
        for stale in stale where fm.fileExists(atPath: stale) {
            try fm.removeItem(atPath: stale)
        }
    }

    /// The feed is signed by its own revocation key, kept in `feed-keys/` (apart from the audit logs' note keys in
    /// `keys/`) so the files can be verified (`writ revoke --list --trust feed-keys/revocation.pub`); the private
    /// half too (0600), so `writ revoke --key` can append to this demo's feed from a shell.
    private static func writeFeedKeys(directory: String, key: Ed25519.PrivateKey) throws {
        try FileManager.default.createDirectory(atPath: directory + "/feed-keys", withIntermediateDirectories: true)
        try OutputFile.replace(
            directory + "/feed-keys/revocation.pub",
            contents: KeyFiles.publicText(key.publicKey) + "\n",
            mode: 0o644,
            option: "--dir"
        )
        try OutputFile.replace(
            directory + "/feed-keys/revocation.key",
            contents: KeyFiles.privateText(key) + "\n",
            mode: 0o600,
            option: "--dir"
        )
    }

    /// The logs' public keys (signed-note verifier keys), so that `writ audit verify --keys <dir>/keys` can check
    /// every signature; the authority's log also witnesses the others.
    private static func writeLogKeys(directory: String, logs: [(String, AuditLog)]) throws {
        try FileManager.default.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true)
        for (name, log) in logs {
            try Data((NoteKey.verifierKey(name: name, key: log.publicKey) + "\n").utf8)
                .write(to: URL(fileURLWithPath: directory + "/keys/\(name).pub"))
        }
        if let authority = logs.first(where: { $0.0 == "authority" })?.1 {
            try Data((NoteKey.verifierKey(name: "authority", key: authority.publicKey, witness: true) + "\n").utf8)
                .write(to: URL(fileURLWithPath: directory + "/keys/authority.witness.pub"))
        }
    }

    typealias Agent = EnrolledAgent

    /// Attests an agent of `className` through a one-time join token, with its own key and identity document.
    func enroll(_ className: String, instance: String, supervisor: AgentIdentity? = nil) async throws -> Agent {
        try await local.enroll(className, instance: instance, supervisor: supervisor, trustDomain: Self.trustDomain)
    }

    /// Brings every service's revocation snapshot up to date (what their followers do continuously).
    ///
    /// The authority signs a fresh head first, as its publisher does every second in a live deployment (the demo's
    /// clock is simulated, so nothing runs in the background).
    func syncAll() async throws { try await local.sync(services) }

    /// Brings one service's snapshot up to date, after a fresh head.
    func sync(_ service: Service) async throws { try await service.sync() }

    /// Forwards every service's anomaly reports to the authority until cancelled.
    func forwardAnomalies(into forwarded: ForwardedAnomalies) async {
        await local.forwardAnomalies(of: services) { result in
            switch result {
            case .success(let report): forwarded.append(report)
            case .failure(let error): forwarded.fail("\(error)")
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
#endif
