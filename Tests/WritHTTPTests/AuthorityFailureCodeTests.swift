#if HTTP
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Synchronization
import Testing
import Writ
import WritAudit
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritRevocation
import WritTesting
import WritTokens

/// The authority's failure codes at router level: `store-failed` (its store cannot answer, while authenticating
/// and inside a route), `internal` (a route fails with an error that is not the authority's), and
/// `replay-cache-full` (the caller-proof replay cache is full). Each fails closed with 503, `retry: later`.
@Suite("Authority routes: store-failed, internal, replay-cache-full")
struct AuthorityFailureCodeTests {
    /// Whether the fixture's authority store fails every call.
    final class FailSwitch: Sendable {
        let failing = Mutex(false)
    }

    /// A watermark store that never records, with an error that is not the authority's.
    struct WatermarkDiskGone: Error, CustomStringConvertible {
        var description: String { "WatermarkDiskGone: the test's watermark store is down" }
    }

    struct FailingWatermarks: WatermarkStore {
        func record(_ report: WatermarkReport) async throws { throw WatermarkDiskGone() }
        func reports() async throws -> [WatermarkReport] { [] }
        func removeVerifier(_ verifier: String) async throws {}
    }

    struct Fixture {
        let world: HTTPWorld
        let failSwitch = FailSwitch()
        /// An in-memory authority store that fails every call while `failSwitch` is on.
        let store: HookedAuthorityStore
        let authority: CredentialAuthority
        let publisher: RevocationPublisher

        init() async throws {
            world = try await HTTPWorld()
            let failSwitch = failSwitch
            store = HookedAuthorityStore(InMemoryAuthorityStore()) { _ in
                if failSwitch.failing.withLock({ $0 }) {
                    throw AuthorityStoreError(.unavailable, "the test store is down")
                }
            }
            publisher = RevocationPublisher(
                store: InMemoryRevocationStore(),
                signer: world.revocationKey,
                clock: world.clock,
                watermarks: FailingWatermarks()
            )
            authority = CredentialAuthority(
                .init(
                    issuerKey: world.issuerKey,
                    agentClasses: world.classes,
                    entitlements: EntitlementTable([
                        "coder": [Entitlement(audience: "repo", actions: ["get"], resources: ["repo/writ/*"])]
                    ]),
                    revocations: publisher,
                    audit: world.authorityLog,
                    store: store,
                    clock: world.clock,
                    attestor: world.attestor
                )
            )
        }

        func app(replayCapacity: Int = 100_000) -> some ApplicationProtocol {
            let routes = WritAuthorityRoutes(
                authority: authority,
                publisher: publisher,
                configuration: .init(
                    authenticator: WritCallerAuthenticator(
                        origin: AuthorityRouteTests.origin,
                        audience: "writ-authority",
                        issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                        operatorKeys: [world.operatorKey.publicKey],
                        serviceKeys: ["repo": world.serviceKey.publicKey],
                        replayCache: InMemoryReplayCache(capacity: replayCapacity, clock: world.clock),
                        clock: world.clock
                    ),
                    maximumBodyBytes: 4096,
                    rateLimit: (1000, 1000)
                )
            )
            let router = Router(context: WritBasicRequestContext.self)
            routes.add(to: router)
            return Application(router: router)
        }

        func attest() async throws -> IdentityDocument {
            let join = try await world.attestor.issueJoinToken(for: world.agent, agentClass: "coder")
            return try await authority.attest(join.evidence(signingKey: world.agentKey))
        }
    }

    static func expectUnavailable(
        _ response: TestResponse,
        code: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == .serviceUnavailable, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.refusal?.code == code, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.refusal?.retry == .later, sourceLocation: sourceLocation)
        #expect(response.headers[.retryAfter] != nil, sourceLocation: sourceLocation)
        #expect(
            !response.text.contains("the test store is down"),
            "no internals in the answer",
            sourceLocation: sourceLocation
        )
    }

    @Test("store-failed: the store cannot answer while authenticating an agent, or inside an operator's route")
    func storeFailed() async throws {
        let fixture = try await Fixture()
        let document = try await fixture.attest()
        let world = fixture.world
        let helper = AuthorityRouteTests()
        let body = try helper.json(WritWire.OpenTaskBody(objective: "o", intent: "fix-bug", deadlineSeconds: 60))
        let revoke = try helper.json(WritWire.RevocationBody(agent: world.agent.description))
        try await fixture.app().test(.router) { client in
            // Working store: the agent opens a task.
            let opened = try await helper.send(
                client,
                .identity(document),
                world.agentKey,
                .post,
                "/v1/tasks",
                body,
                clock: world.clock
            )
            #expect(opened.status == .ok, "\(opened.text)")
            fixture.failSwitch.failing.withLock { $0 = true }
            let agentCall = try await helper.send(
                client,
                .identity(document),
                world.agentKey,
                .post,
                "/v1/tasks",
                body,
                clock: world.clock
            )
            Self.expectUnavailable(agentCall, code: "store-failed")
            // An operator is authenticated without the store; the revocation's store write fails in the route.
            let operatorCall = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .post,
                "/v1/revocations",
                revoke,
                clock: world.clock
            )
            Self.expectUnavailable(operatorCall, code: "store-failed")
            fixture.failSwitch.failing.withLock { $0 = false }
            let again = try await helper.send(
                client,
                .identity(document),
                world.agentKey,
                .post,
                "/v1/tasks",
                body,
                clock: world.clock
            )
            #expect(again.status == .ok, "the same calls succeed once the store answers: \(again.text)")
        }
    }

    @Test("internal: a route failing with an error that is not the authority's answers 503 internal")
    func internalError() async throws {
        let fixture = try await Fixture()
        let world = fixture.world
        let helper = AuthorityRouteTests()
        let report = try WatermarkReport(
            verifier: "repo",
            sequence: 0,
            hash: .zero,
            recordedAt: world.clock.now(),
            signer: world.serviceKey
        )
        let body = try helper.json(WritWire.WatermarkBody(report))
        try await fixture.app().test(.router) { client in
            let posted = try await helper.send(
                client,
                .key(world.serviceKey.publicKey),
                world.serviceKey,
                .post,
                "/v1/watermarks",
                body,
                clock: world.clock
            )
            Self.expectUnavailable(posted, code: "internal")
            #expect(!posted.text.contains("WatermarkDiskGone"), "the error itself is logged, not answered")
        }
    }

    @Test("replay-cache-full: a full caller-proof replay cache refuses new proofs (503), never forgets a live nonce")
    func replayCacheFull() async throws {
        let fixture = try await Fixture()
        let world = fixture.world
        let helper = AuthorityRouteTests()
        let body = try helper.json(WritWire.RevocationBody(agent: world.other.description))
        try await fixture.app(replayCapacity: 1).test(.router) { client in
            let first = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .post,
                "/v1/revocations",
                body,
                clock: world.clock
            )
            #expect(first.status != .serviceUnavailable, "\(first.text)")
            let second = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .post,
                "/v1/revocations",
                body,
                clock: world.clock
            )
            Self.expectUnavailable(second, code: "replay-cache-full")
            // Once the first nonce has expired, the cache has room again.
            world.clock.advance(by: .seconds(120))
            let later = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .post,
                "/v1/revocations",
                body,
                clock: world.clock
            )
            #expect(later.status != .serviceUnavailable, "\(later.text)")
        }
    }
}
#endif
