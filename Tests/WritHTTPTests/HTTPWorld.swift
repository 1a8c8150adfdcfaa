#if HTTP
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Writ
import WritAudit
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritPolicy
import WritRevocation
import WritTesting
import WritTokens

/// An authority and one resource service (`repo`), in process, on one manual clock.
final class HTTPWorld: Sendable {
    static let policies = """
        @id("reads-and-writes")
        permit (principal, action in [Action::"get", Action::"post", Action::"put"], resource);

        @id("no-secrets")
        forbid (principal, action, resource == Resource::"repo/writ/secret");

        @checkpoint("merging needs a human's approval")
        forbid (principal, action == Action::"post", resource == Resource::"repo/writ/merge")
        unless { context.approvals.contains("merge") };
        """

    struct FailingAudit: AuditSink {
        func record(_ event: AuditEvent) async throws -> UInt64 { throw AuditError(.storeFailure, "down") }
    }

    struct FailingNonces: NonceStore {
        func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp) async throws -> Bool {
            throw NonceStoreError(.unavailable, "down")
        }
    }

    let clock = ManualClock()
    let issuerKey = Ed25519.PrivateKey()
    let revocationKey = Ed25519.PrivateKey()
    let revocationStore = InMemoryRevocationStore()
    let watermarks = InMemoryWatermarkStore()
    let publisher: RevocationPublisher
    let authorityAudit = InMemoryAuditStore()
    let authorityLog: AuditLog
    let attestor: JoinTokenAttestor
    let authority: CredentialAuthority
    let classes: [AgentClass]
    let operatorKey = Ed25519.PrivateKey()
    let serviceKey = Ed25519.PrivateKey()
    let agent = try! AgentIdentity("spiffe://acme.test/agent/coder/1")
    let agentKey = Ed25519.PrivateKey()
    let other = try! AgentIdentity("spiffe://acme.test/agent/coder/2")
    let otherKey = Ed25519.PrivateKey()

    init(store: any AuthorityStore = InMemoryAuthorityStore()) async throws {
        publisher = RevocationPublisher(
            store: revocationStore,
            signer: revocationKey,
            clock: clock,
            watermarks: watermarks
        )
        publisher.register(verifier: "repo", key: serviceKey.publicKey)
        classes = [
            try AgentClass(name: "coder", defaultTTL: .seconds(30), maximumTTL: .seconds(60), refreshLimit: 3)
        ]
        authorityLog = try await AuditLog.open(
            store: authorityAudit,
            service: "authority",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt(),
            clock: clock
        )
        attestor = JoinTokenAttestor(clock: clock)
        authority = CredentialAuthority(
            .init(
                issuerKey: issuerKey,
                agentClasses: classes,
                entitlements: EntitlementTable([
                    "coder": [
                        Entitlement(audience: "repo", actions: ["get", "post", "put"], resources: ["repo/writ/*"])
                    ]
                ]),
                revocations: publisher,
                audit: authorityLog,
                store: store,
                clock: clock,
                attestor: attestor
            )
        )
    }

    /// Attests `identity` in process (a join token, then the evidence): its identity document.
    func attest(_ identity: AgentIdentity, key: Ed25519.PrivateKey) async throws -> IdentityDocument {
        let join = try await attestor.issueJoinToken(for: identity, agentClass: "coder")
        return try await authority.attest(join.evidence(signingKey: key))
    }

    static let step = StepGrant(
        name: "fix",
        audience: "repo",
        actions: ["get", "post", "put"],
        resources: ["repo/writ/*"],
        duration: .seconds(30)
    )

    /// An agent with an open task and an issued token.
    func issued(_ identity: AgentIdentity? = nil, key: Ed25519.PrivateKey? = nil) async throws -> IssuedToken {
        let identity = identity ?? agent
        _ = try await attest(identity, key: key ?? agentKey)
        let task = try await authority.openTask(
            for: identity,
            objective: "o",
            intent: "fix-bug",
            deadline: .seconds(600)
        )
        return try await authority.issue(task: task, step: Self.step)
    }

    struct Service: Sendable {
        let gatekeeper: Gatekeeper
        let snapshot: RevocationSnapshot
        let follower: RevocationFeedFollower
        let log: AuditLog
        let audit: InMemoryAuditStore
    }

    /// The `repo` service following the local feed (tests sync it by hand).
    func service(
        audit: (any AuditSink)? = nil,
        nonces: (any NonceStore)? = nil,
        maxStaleness: Duration = .seconds(5),
        store: (any RevocationStore)? = nil,
        trustBundle: TrustBundle? = nil,
        detectors: [any AnomalyDetector] = []
    ) async throws -> Service {
        let auditStore = InMemoryAuditStore()
        let log = try await AuditLog.open(
            store: auditStore,
            service: "repo",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt(),
            clock: clock
        )
        let snapshot = RevocationSnapshot(maxStaleness: maxStaleness)
        let feed: any RevocationStore = store ?? revocationStore
        let follower = try RevocationFeedFollower(
            verifier: "repo",
            store: feed,
            trustedKeys: [revocationKey.publicKey],
            snapshot: snapshot,
            clock: clock,
            reportSigner: serviceKey,
            watermarks: watermarks
        )
        if store == nil {
            try await publisher.publishHead()
            _ = try await follower.syncOnce()
        }
        let gatekeeper = Gatekeeper(
            .init(
                audience: "repo",
                trustBundle: trustBundle ?? TrustBundle(trusting: issuerKey.publicKey),
                agentClasses: classes,
                policies: try PolicySet(text: Self.policies),
                revocation: snapshot,
                sharedNonces: nonces,
                audit: audit ?? log,
                detectors: detectors,
                clock: clock
            )
        )
        return Service(gatekeeper: gatekeeper, snapshot: snapshot, follower: follower, log: log, audit: auditStore)
    }

    static let serviceOrigin = try! WritOrigin("https://repo.test")

    /// A router with the middleware in front of `GET/POST/PUT /repo/writ/*`, echoing the granted agent.
    static func router(
        _ gatekeeper: Gatekeeper,
        maximumBodyBytes: Int = 1024,
        origin: WritOrigin = serviceOrigin
    ) -> Router<WritBasicRequestContext> {
        let router = Router(context: WritBasicRequestContext.self)
        router.add(
            middleware: WritGatekeeperMiddleware(
                gatekeeper: gatekeeper,
                configuration: .init(origin: origin, maximumBodyBytes: maximumBodyBytes)
            )
        )
        let echo: @Sendable (Request, WritBasicRequestContext) async throws -> String = { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 4096)
            return "\(context.writGrant?.agent ?? "none") \(body.readableBytes)"
        }
        router.get("/repo/writ/**", use: echo)
        router.post("/repo/writ/**", use: echo)
        router.put("/repo/writ/**", use: echo)
        return router
    }

    /// Headers for a request signed by `key` presenting `token`, for `method` and `target` with `body`.
    func signed(
        _ token: CapabilityToken,
        key: Ed25519.PrivateKey,
        method: String,
        target: String,
        body: String = "",
        signFor: (method: String, target: String, body: String)? = nil,
        origin: WritOrigin = HTTPWorld.serviceOrigin
    ) throws -> HTTPFields {
        let sign = signFor ?? (method, target, body)
        let mapped = try WritRouteMap().map(method: sign.method, target: sign.target)
        let fields = try WritHTTPSigner.headerFields(
            credential: .token(token),
            key: key,
            request: TokenRequest(audience: "repo", action: mapped.action, resource: mapped.resource),
            method: sign.method,
            origin: origin,
            target: sign.target,
            body: Array(sign.body.utf8),
            at: clock.now()
        )
        var headers = HTTPFields()
        for field in fields { headers.append(HTTPField(name: HTTPField.Name(field.name)!, value: field.value)) }
        return headers
    }
}

extension TestResponse {
    /// The refusal in the body.
    var refusal: WritRefusal? {
        try? JSONDecoder().decode(WritRefusal.self, from: Data(body.readableBytesView))
    }
    var text: String { String(buffer: body) }
}
#endif
