#if HTTP
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Synchronization
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritRevocation
import WritTesting
import WritTokens

/// The routes, codes and clients the other suites did not reach: delegations and join tokens, the authority's
/// own refusal codes, the client's hand-off and complete, the anomaly forwarder, and issuer-key rotation.
@Suite("Coverage: every authority route and code, the client, the forwarder, rotation")
struct CoverageTests {
    let helper = AuthorityRouteTests()

    /// A store whose reads fail (the feed's 503).
    struct BrokenStore: RevocationStore {
        func append(
            _ revocations: [RevocationRequest],
            signer: some Signer,
            minimum: RevocationFeedTip?
        )
            async throws -> [SignedRevocationEntry]
        { throw RevocationError(.storeUnavailable, "down") }
        func publishHead(
            at time: Timestamp,
            signer: some Signer,
            minimum: RevocationFeedTip?
        ) async throws
            -> SignedFeedMark
        { throw RevocationError(.storeUnavailable, "down") }
        func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
            throw RevocationError(.storeUnavailable, "down")
        }
        func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
            throw RevocationError(.storeUnavailable, "down")
        }
    }

    /// Routes with no audit log, no join tokens, no watermark store, over a broken feed store.
    func bareRoutes(_ world: HTTPWorld) -> WritAuthorityRoutes {
        WritAuthorityRoutes(
            authority: world.authority,
            publisher: RevocationPublisher(store: BrokenStore(), signer: world.revocationKey, clock: world.clock),
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: AuthorityRouteTests.origin,
                    audience: "writ-authority",
                    issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: ["repo": world.serviceKey.publicKey],
                    clock: world.clock
                )
            )
        )
    }

    @Test("join tokens: an operator registers an agent that then attests; agents may not; none configured: 404")
    func joinTokens() async throws {
        let world = try await HTTPWorld()
        let clock = world.clock
        let helper = self.helper
        let request = try helper.json(
            WritWire.JoinTokenRequestBody(identity: "spiffe://acme.test/agent/coder/7", agentClass: "coder")
        )
        let router = Router(context: WritBasicRequestContext.self)
        WritAuthorityRoutes(
            authority: world.authority,
            publisher: world.publisher,
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: AuthorityRouteTests.origin,
                    audience: "writ-authority",
                    issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: ["repo": world.serviceKey.publicKey],
                    clock: world.clock
                ),
                joinTokens: world.attestor
            )
        ).add(to: router)
        try await Application(router: router).test(.router) { client in
            let document = try await world.attest(world.agent, key: world.agentKey)
            let byAgent = try await helper.send(
                client,
                .identity(document),
                world.agentKey,
                .post,
                "/v1/join-tokens",
                request,
                clock: clock
            )
            #expect(byAgent.status == .forbidden)
            #expect(byAgent.refusal?.code == "forbidden")
            let bad = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .post,
                "/v1/join-tokens",
                try helper.json(WritWire.JoinTokenRequestBody(identity: "not a spiffe id", agentClass: "coder")),
                clock: clock
            )
            #expect(bad.status == .badRequest)
            #expect(bad.refusal?.code == "malformed-body")
            let issued = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .post,
                "/v1/join-tokens",
                request,
                clock: clock
            )
            #expect(issued.status == .ok, "\(issued.text)")
            let body = try JSONDecoder().decode(WritWire.JoinTokenBody.self, from: Data(issued.body.readableBytesView))
            #expect(body.joinToken.hasPrefix("writjoin1_"))
            // The registered agent attests with it, over the wire.
            let key = Ed25519.PrivateKey()
            let join = try JoinToken(text: body.joinToken)
            let evidence = try helper.json(join.evidence(signingKey: key))
            let attested = try await helper.send(
                client,
                .key(key.publicKey),
                key,
                .post,
                "/v1/attest",
                evidence,
                clock: clock
            )
            #expect(attested.status == .ok, "\(attested.text)")
        }
        try await withBare(world) { client in
            let none = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .post,
                "/v1/join-tokens",
                request,
                clock: clock
            )
            #expect(none.status == .notFound)
            #expect(none.refusal?.code == "no-join-tokens")
        }
    }

    func withBare(_ world: HTTPWorld, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router(context: WritBasicRequestContext.self)
        bareRoutes(world).add(to: router)
        try await Application(router: router).test(.router, body)
    }

    @Test("no audit log, no watermark store, a broken feed store: 404 / 404 / 503, each with its code")
    func unconfigured() async throws {
        let world = try await HTTPWorld()
        let clock = world.clock
        let helper = self.helper
        let report = try await world.service().follower.syncOnce()
        _ = report
        try await withBare(world) { client in
            let checkpoint = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .get,
                "/v1/audit/checkpoint",
                clock: clock
            )
            #expect(checkpoint.status == .notFound)
            #expect(checkpoint.refusal?.code == "no-audit-log")
            for target in ["/v1/feed?after=0", "/v1/feed/head"] {
                try await client.execute(uri: target, method: .get) { response in
                    #expect(response.status == .serviceUnavailable, "\(target)")
                    #expect(response.refusal?.code == "feed-unavailable", "\(target)")
                    #expect(response.headers[.retryAfter] == "1")
                }
            }
        }
        // A publisher without a watermark store.
        let router = Router(context: WritBasicRequestContext.self)
        WritAuthorityRoutes(
            authority: world.authority,
            publisher: RevocationPublisher(
                store: world.revocationStore,
                signer: world.revocationKey,
                clock: world.clock
            ),
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: AuthorityRouteTests.origin,
                    audience: "writ-authority",
                    issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: ["repo": world.serviceKey.publicKey],
                    clock: world.clock
                )
            )
        ).add(to: router)
        let signedReport = try await world.watermarks.reports().first
        try await Application(router: router).test(.router) { client in
            let body = try helper.json(WritWire.WatermarkBody(try #require(signedReport)))
            let response = try await helper.send(
                client,
                .key(world.serviceKey.publicKey),
                world.serviceKey,
                .post,
                "/v1/watermarks",
                body,
                clock: clock
            )
            #expect(response.status == .notFound)
            #expect(response.refusal?.code == "no-watermark-store")
        }
    }

    @Test(
        "the token exchange's own refusals: grant type, actor_token, bad body, unknown task, not entitled, refresh limit"
    )
    func exchangeRefusals() async throws {
        let world = try await HTTPWorld()
        let clock = world.clock
        let helper = self.helper
        let document = try await world.attest(world.agent, key: world.agentKey)
        let task = try await world.authority.openTask(
            for: world.agent,
            objective: "o",
            intent: "fix-bug",
            deadline: .seconds(600)
        )
        try await helper.withApp(world) { client in
            func exchange(_ body: WritWire.TokenExchangeBody) async throws -> TestResponse {
                try await helper.send(
                    client,
                    .identity(document),
                    world.agentKey,
                    .post,
                    "/v1/token",
                    try helper.json(body),
                    clock: clock
                )
            }
            var wrongGrant = WritWire.TokenExchangeBody(subjectToken: document.text, task: task, step: HTTPWorld.step)
            wrongGrant.grantType = "client_credentials"
            let grant = try await exchange(wrongGrant)
            #expect(grant.status == .badRequest)
            #expect(grant.refusal?.code == "unsupported-grant-type")

            var acting = WritWire.TokenExchangeBody(subjectToken: document.text, task: task, step: HTTPWorld.step)
            acting.actorToken = document.text
            let actor = try await exchange(acting)
            #expect(actor.status == .badRequest)
            #expect(actor.refusal?.code == "malformed-body")
            #expect(actor.refusal?.message.contains("actor_token") == true)

            let garbage = try await helper.send(
                client,
                .identity(document),
                world.agentKey,
                .post,
                "/v1/token",
                Array("{".utf8),
                clock: clock
            )
            #expect(garbage.status == .badRequest)
            #expect(garbage.refusal?.code == "malformed-body")

            let unknown = try await exchange(
                WritWire.TokenExchangeBody(subjectToken: document.text, task: "no-such-task", step: HTTPWorld.step)
            )
            #expect(unknown.refusal?.code == AuthorityError.Code.unknownTask.description)

            let wide = StepGrant(
                name: "wide",
                audience: "repo",
                actions: ["delete"],
                resources: ["repo/writ/*"],
                duration: .seconds(30)
            )
            let notEntitled = try await exchange(
                WritWire.TokenExchangeBody(subjectToken: document.text, task: task, step: wide)
            )
            #expect(notEntitled.status == .forbidden, "\(notEntitled.text)")
            #expect(notEntitled.refusal?.code == AuthorityError.Code.notEntitled.description)

            let issued = try await exchange(
                WritWire.TokenExchangeBody(subjectToken: document.text, task: task, step: HTTPWorld.step)
            )
            #expect(issued.status == .ok)
            var last: TestResponse?
            for _ in 0..<4 {  // the class allows 3 refreshes
                last = try await exchange(
                    WritWire.TokenExchangeBody(subjectToken: document.text, task: task, refreshStep: "fix")
                )
            }
            #expect(last?.refusal?.code == AuthorityError.Code.refreshLimitReached.description, "\(last?.text ?? "")")
        }
    }

    @Test("delegations: a supervisor records an offline delegation to its sub-agent; to anyone else it is refused")
    func delegations() async throws {
        let world = try await HTTPWorld()
        let clock = world.clock
        let helper = self.helper
        let issued = try await world.issued()
        let document = try await world.attest(world.agent, key: world.agentKey)
        let sub = try AgentIdentity("spiffe://acme.test/agent/coder/sub")
        let subKey = Ed25519.PrivateKey()
        let join = try await world.attestor.issueJoinToken(for: sub, agentClass: "coder", supervisor: world.agent)
        _ = try await world.authority.attest(join.evidence(signingKey: subKey))
        let delegated = try issued.token.delegating(
            Attenuation(holder: subKey.publicKey, delegate: sub, delegateClass: "coder"),
            holderKey: world.agentKey
        )
        try await helper.withApp(world) { client in
            func record(
                _ token: String,
                _ delegate: String,
                as credential: WritCredential,
                _ key: Ed25519.PrivateKey
            )
                async throws -> TestResponse
            {
                try await helper.send(
                    client,
                    credential,
                    key,
                    .post,
                    "/v1/delegations",
                    try helper.json(WritWire.DelegationBody(token: token, delegate: delegate)),
                    clock: clock
                )
            }
            let ok = try await record(delegated.text, sub.description, as: .identity(document), world.agentKey)
            #expect(ok.status == .ok, "\(ok.text)")
            let stranger = try await record(
                delegated.text,
                world.other.description,
                as: .identity(document),
                world.agentKey
            )
            #expect(stranger.refusal?.code == AuthorityError.Code.delegationRefused.description, "\(stranger.text)")
            let garbage = try await record("writ1_nope", sub.description, as: .identity(document), world.agentKey)
            #expect(garbage.status == .badRequest)
            #expect(garbage.refusal?.code == "malformed-body")
            let byService = try await record(
                delegated.text,
                sub.description,
                as: .key(world.serviceKey.publicKey),
                world.serviceKey
            )
            #expect(byService.status == .forbidden)
            #expect(byService.refusal?.code == "forbidden")
        }
    }

    /// The authority live on loopback for `body(origin, http)`.
    func withLiveAuthority(
        _ world: HTTPWorld,
        issuers: TrustBundle? = nil,
        _ body: @Sendable (WritOrigin, HTTPClient) async throws -> Void
    ) async throws {
        let port = freeLoopbackPort()
        let origin = try WritOrigin("http://127.0.0.1:\(port)")
        let routes = WritAuthorityRoutes(
            authority: world.authority,
            publisher: world.publisher,
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: origin,
                    audience: "writ-authority",
                    issuers: issuers ?? TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: ["repo": world.serviceKey.publicKey],
                    clock: world.clock
                ),
                auditLog: world.authorityLog
            )
        )
        let router = Router(context: WritBasicRequestContext.self)
        routes.add(to: router)
        let app = Application(
            router: router,
            server: WritServerLimits().http1,
            configuration: .init(address: .hostname("127.0.0.1", port: port))
        )
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await withLiveServers([app], ports: [port]) { try await body(origin, http) }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test(
        "WritAuthorityClient hands a task off and completes tasks over HTTP; the authority's refusals come back typed"
    )
    func clientHandOffAndComplete() async throws {
        let world = try await HTTPWorld()
        let document = try await world.attest(world.agent, key: world.agentKey)
        let otherDocument = try await world.attest(world.other, key: world.otherKey)
        try await withLiveAuthority(world) { origin, http in
            let client = WritAuthorityClient(origin: origin, httpClient: http, clock: world.clock)
            let open = WritWire.OpenTaskBody(objective: "first", intent: "fix-bug", deadlineSeconds: 600)
            let task = try await client.openTask(open, as: document, key: world.agentKey)
            let next = try await client.handOff(
                task,
                to: WritWire.OpenTaskBody(objective: "second", intent: "fix-bug", deadlineSeconds: 600),
                as: document,
                key: world.agentKey
            )
            #expect(next != task)
            #expect(try await world.authority.task(next)?.agent == world.agent)
            // The handed-off task is closed: issuing for it is refused with the authority's code.
            await #expect(throws: (any Error).self) {
                _ = try await client.exchange(
                    WritWire.TokenExchangeBody(subjectToken: document.text, task: task, step: HTTPWorld.step),
                    as: document,
                    key: world.agentKey
                )
            }
            // Another agent can neither hand off nor complete it.
            do {
                try await client.completeTask(next, as: otherDocument, key: world.otherKey)
                Issue.record("another agent completed the task")
            } catch let error as WritHTTPError {
                #expect(error.refusal?.code == "forbidden", "\(error)")
            }
            let issued = try await client.exchange(
                WritWire.TokenExchangeBody(subjectToken: document.text, task: next, step: HTTPWorld.step),
                as: document,
                key: world.agentKey
            )
            try await client.completeTask(next, as: document, key: world.agentKey)
            // Completing revoked the task's tokens, and the task takes no more.
            let feed = try await world.revocationStore.contents()
            #expect(
                feed.entries.contains {
                    $0.entry.target == .task(next) || $0.entry.target == .block(issued.revocationID)
                }
            )
            do {
                _ = try await client.exchange(
                    WritWire.TokenExchangeBody(subjectToken: document.text, task: next, refreshStep: "fix"),
                    as: document,
                    key: world.agentKey
                )
                Issue.record("a completed task's step was refreshed")
            } catch let error as WritHTTPError {
                #expect(error.refusal?.code == AuthorityError.Code.taskClosed.description, "\(error)")
            }
        }
    }

    /// Raises an anomaly for every request to `repo/writ/trip`.
    struct TripWire: AnomalyDetector {
        var name: String { "trip-wire" }
        func observe(_ observation: RequestObservation) -> AnomalyReport? {
            observation.resource == "repo/writ/trip" ? AnomalyReport(name, about: observation, detail: "tripped") : nil
        }
    }

    @Test("the anomaly forwarder posts the gatekeeper's reports to the authority, which revokes the token")
    func anomalyForwarder() async throws {
        let world = try await HTTPWorld()
        let issued = try await world.issued()
        // Two services (a gatekeeper's anomaly stream has one consumer, and it quarantines a token locally).
        let strangers = try await world.service(maxStaleness: .seconds(3600), detectors: [TripWire()])
        let service = try await world.service(maxStaleness: .seconds(3600), detectors: [TripWire()])
        try await withLiveAuthority(world) { origin, http in
            let client = WritAuthorityClient(origin: origin, httpClient: http, clock: world.clock)
            func trip(_ gatekeeper: Gatekeeper) async throws {
                let app = Application(router: HTTPWorld.router(gatekeeper))
                let headers = try world.signed(
                    issued.token,
                    key: world.agentKey,
                    method: "GET",
                    target: "/repo/writ/trip"
                )
                try await app.test(.router) { serviceClient in
                    try await serviceClient.execute(uri: "/repo/writ/trip", method: .get, headers: headers) {
                        response in
                        #expect(response.status == .ok)
                    }
                }
            }
            func revocations() async throws -> [SignedRevocationEntry] {
                try await world.revocationStore.contents().entries
            }
            // A forwarder signing in with a key the authority does not know: its report is refused and dropped.
            let stranger = WritAnomalyForwarder(
                gatekeeper: strangers.gatekeeper,
                client: client,
                key: Ed25519.PrivateKey(),
                attempts: 2
            )
            let wrong = Task { try await stranger.run() }
            try await trip(strangers.gatekeeper)
            try await Task.sleep(for: .milliseconds(600))  // both attempts (100 ms apart) are refused by now
            wrong.cancel()
            _ = try? await wrong.value
            #expect(try await revocations().isEmpty, "a report signed by an unknown key was taken")

            let forwarder = WritAnomalyForwarder(gatekeeper: service.gatekeeper, client: client, key: world.serviceKey)
            let running = Task { try await forwarder.run() }
            defer { running.cancel() }
            try await trip(service.gatekeeper)
            var entries: [SignedRevocationEntry] = []
            for _ in 0..<400 {
                entries = try await revocations()
                if !entries.isEmpty { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(entries.contains { $0.entry.target == .block(issued.revocationID) }, "\(entries)")
            #expect(!entries.isEmpty && entries.allSatisfy { $0.entry.reason == .anomaly })
        }
    }

    @Test(
        "issuer rotation over the trust bundle: the old key's tokens are honoured if issued before its end, refused after"
    )
    func rotation() async throws {
        let world = try await HTTPWorld()
        let successor = try await HTTPWorld()  // the new issuer key, with its own agent
        let oldToken = try await world.issued()
        let end = world.clock.now().advanced(by: .seconds(5))
        let announced = TrustBundle(trusting: successor.issuerKey.publicKey)
            .adding(TrustedKey(world.issuerKey.publicKey, validUntil: end))
        try await withLiveAuthority(world, issuers: announced) { origin, http in
            let client = WritAuthorityClient(origin: origin, httpClient: http, clock: world.clock)
            let fetched = try await client.trustBundle().issuers
            #expect(fetched.count == 2)
            #expect(fetched.key(for: world.issuerKey.publicKey.keyID)?.validUntil == end)
            world.clock.advance(by: .seconds(10))
            successor.clock.advance(by: .seconds(10))
            let lateOld = try await world.authority.issue(
                task: oldToken.taskID,
                step: StepGrant(
                    name: "late",
                    audience: "repo",
                    actions: ["get"],
                    resources: ["repo/writ/*"],
                    duration: .seconds(30)
                )
            )
            let newToken = try await successor.issued()
            let service = try await world.service(maxStaleness: .seconds(3600), trustBundle: fetched)
            let app = Application(router: HTTPWorld.router(service.gatekeeper))
            try await app.test(.router) { serviceClient in
                func call(_ token: CapabilityToken, _ key: Ed25519.PrivateKey, _ n: Int) async throws -> TestResponse {
                    let target = "/repo/writ/a?\(n)"
                    let headers = try world.signed(token, key: key, method: "GET", target: target)
                    return try await serviceClient.execute(uri: target, method: .get, headers: headers)
                }
                let before = try await call(oldToken.token, world.agentKey, 1)
                #expect(before.status == .ok, "a token issued before the old key's end is honoured: \(before.text)")
                let after = try await call(lateOld.token, world.agentKey, 2)
                #expect(after.status == .unauthorized, "a token issued by the old key after its end: \(after.text)")
                #expect(after.refusal?.code == "token-rejected")
                let fresh = try await call(newToken.token, successor.agentKey, 3)
                #expect(fresh.status == .ok, "the new key's token: \(fresh.text)")
                // Past its own expiry the old token is refused like any other.
                world.clock.advance(by: .seconds(60))  // past expiry plus the 30 s clock skew
                let expired = try await call(oldToken.token, world.agentKey, 4)
                #expect(expired.status == .unauthorized)
                #expect(expired.refusal?.tokenError == "expired")
            }
        }
    }
}
#endif
