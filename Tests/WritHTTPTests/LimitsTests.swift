#if HTTP
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

/// Rate limits (before any signature is verified, bounded tables, Retry-After) and the feed's long-poll wake-up.
@Suite("Flood limits: rate limits before verification, bounded buckets, the long-poll's wake-up")
struct LimitsTests {
    static let origin = try! WritOrigin("https://authority.test")

    func routes(
        _ world: HTTPWorld,
        publisher: RevocationPublisher? = nil,
        rate: (Double, Double) = (1000, 1000),
        anonymous: (Double, Double) = (1000, 1000),
        callers: Int = 100_000
    ) -> WritAuthorityRoutes {
        WritAuthorityRoutes(
            authority: world.authority,
            publisher: publisher ?? world.publisher,
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: Self.origin,
                    audience: "writ-authority",
                    issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: ["repo": world.serviceKey.publicKey],
                    clock: world.clock
                ),
                maximumBodyBytes: 4096,
                rateLimit: rate,
                anonymousRateLimit: anonymous,
                rateLimitedCallers: callers
            )
        )
    }

    func withApp(
        _ routes: WritAuthorityRoutes,
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let router = Router(context: WritBasicRequestContext.self)
        routes.add(to: router)
        try await Application(router: router).test(.router, body)
    }

    /// `POST /v1/tasks` presenting `credential`, with a proof signed by `signer` (the wrong key makes the proof
    /// invalid: only a verify can tell).
    func call(
        _ client: any TestClientProtocol,
        _ credential: WritCredential,
        signer: Ed25519.PrivateKey,
        clock: any WallClock
    ) async throws -> TestResponse {
        let body = Array(#"{"objective":"o","intent":"fix-bug","deadline_s":600}"#.utf8)
        let mapped = try WritRouteMap().map(method: "POST", target: "/v1/tasks")
        let fields = try WritHTTPSigner.headerFields(
            credential: credential,
            key: signer,
            request: TokenRequest(audience: "writ-authority", action: mapped.action, resource: mapped.resource),
            method: "POST",
            origin: Self.origin,
            target: "/v1/tasks",
            body: body,
            at: clock.now()
        )
        var headers = HTTPFields()
        for field in fields { headers.append(HTTPField(name: HTTPField.Name(field.name)!, value: field.value)) }
        return try await client.execute(
            uri: "/v1/tasks",
            method: .post,
            headers: headers,
            body: ByteBuffer(bytes: body)
        )
    }

    @Test("the per-key limit runs before the proof is verified: a flood of bad proofs is cut off by 429")
    func limitBeforeVerification() async throws {
        let world = try await HTTPWorld()
        let document = try await world.attest(world.agent, key: world.agentKey)
        let forger = Ed25519.PrivateKey()
        try await withApp(routes(world, rate: (0, 2))) { client in
            var statuses: [Int] = []
            for _ in 0..<4 {
                // Claims the agent's identity document; the proof is by another key.
                let response = try await self.call(client, .identity(document), signer: forger, clock: world.clock)
                statuses.append(Int(response.status.code))
                if response.status == .tooManyRequests {
                    #expect(response.headers[.retryAfter] == "1")
                    #expect(response.refusal?.code == "rate-limited")
                    #expect(response.refusal?.retry == .later)
                }
            }
            #expect(statuses == [401, 401, 429, 429])
        }
    }

    @Test("Retry-After is the bucket's refill time, and the bucket refills")
    func retryAfterIsRefill() async throws {
        let world = try await HTTPWorld()
        let document = try await world.attest(world.agent, key: world.agentKey)
        try await withApp(routes(world, rate: (0.25, 1))) { client in
            let first = try await self.call(client, .identity(document), signer: world.agentKey, clock: world.clock)
            #expect(first.status == .ok)
            let second = try await self.call(client, .identity(document), signer: world.agentKey, clock: world.clock)
            #expect(second.status == .tooManyRequests)
            #expect(second.headers[.retryAfter] == "4", "one call per 4 s")
            world.clock.advance(by: .seconds(4))
            let third = try await self.call(client, .identity(document), signer: world.agentKey, clock: world.clock)
            #expect(third.status == .ok)
        }
    }

    @Test("the bucket table is capped; a flood of invented keys cannot reset a throttled caller's bucket")
    func boundedBuckets() async throws {
        let world = try await HTTPWorld()
        let document = try await world.attest(world.agent, key: world.agentKey)
        let forger = Ed25519.PrivateKey()
        try await withApp(routes(world, rate: (1, 1), callers: 3)) { client in
            let clock = world.clock
            #expect(
                try await self.call(client, .identity(document), signer: forger, clock: clock).status == .unauthorized
            )
            #expect(
                try await self.call(client, .identity(document), signer: forger, clock: clock).status
                    == .tooManyRequests
            )
            // Two invented keys fill the table (3 buckets), a third finds it full of active buckets.
            for _ in 0..<2 {
                let key = Ed25519.PrivateKey()
                let response = try await self.call(client, .key(key.publicKey), signer: forger, clock: clock)
                #expect(response.status == .unauthorized)
            }
            let late = Ed25519.PrivateKey()
            #expect(
                try await self.call(client, .key(late.publicKey), signer: forger, clock: clock).status
                    == .tooManyRequests
            )
            // The throttled caller is still throttled: its bucket was not dropped to make room.
            #expect(
                try await self.call(client, .identity(document), signer: forger, clock: clock).status
                    == .tooManyRequests
            )
            // Once buckets have refilled they are idle, indistinguishable from new, and make room.
            clock.advance(by: .seconds(2))
            #expect(
                try await self.call(client, .key(late.publicKey), signer: late, clock: clock).status != .tooManyRequests
            )
        }
    }

    @Test("anonymous routes are limited per remote address, with Retry-After")
    func anonymousPerAddress() async throws {
        let world = try await HTTPWorld()
        try await withApp(routes(world, anonymous: (0.5, 2))) { client in
            var statuses: [Int] = []
            for target in ["/v1/trust-bundle", "/v1/feed/head", "/v1/feed?after=0", WritResourceMetadata.path] {
                try await client.execute(uri: target, method: .get) { response in
                    statuses.append(Int(response.status.code))
                    if response.status == .tooManyRequests {
                        #expect(response.headers[.retryAfter] == "2")
                        #expect(response.refusal?.code == "rate-limited")
                    }
                }
            }
            #expect(statuses == [200, 200, 429, 429])
        }
    }

    @Test("the middleware's per-key limit runs before the token is verified")
    func middlewareLimit() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        let router = Router(context: WritBasicRequestContext.self)
        router.add(
            middleware: WritGatekeeperMiddleware(
                gatekeeper: service.gatekeeper,
                configuration: .init(origin: HTTPWorld.serviceOrigin, rateLimit: (0, 2))
            )
        )
        router.get("/repo/writ/**") { _, _ in "ok" }
        let forger = Ed25519.PrivateKey()
        let forgerHeaders = try world.signed(issued.token, key: forger, method: "GET", target: "/repo/writ/a")
        try await Application(router: router).test(.router) { client in
            var statuses: [Int] = []
            for _ in 0..<3 {
                try await client.execute(uri: "/repo/writ/a", method: .get, headers: forgerHeaders) {
                    statuses.append(Int($0.status.code))
                }
            }
            #expect(statuses == [401, 401, 429])
        }
    }

    /// A store that counts its page reads.
    final class CountingStore: RevocationStore {
        let inner = InMemoryRevocationStore()
        let pages = Mutex(0)

        func append(
            _ revocations: [RevocationRequest],
            signer: some Signer,
            minimum: RevocationFeedTip?
        ) async throws -> [SignedRevocationEntry] {
            try await inner.append(revocations, signer: signer, minimum: minimum)
        }

        func publishHead(
            at time: Timestamp,
            signer: some Signer,
            minimum: RevocationFeedTip?
        ) async throws
            -> SignedFeedMark
        {
            try await inner.publishHead(at: time, signer: signer, minimum: minimum)
        }

        func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
            pages.withLock { $0 += 1 }
            return try await inner.page(after: sequence, limit: limit)
        }

        func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
            try await inner.prune(expiredBefore: time, at: now, signer: signer)
        }

        func announcements() -> AsyncStream<UInt64>? { inner.announcements() }
    }

    @Test("a held feed poll reads the store once, then answers on the append's announcement (no re-read timer)")
    func longPollWakes() async throws {
        let world = try await HTTPWorld()
        let store = CountingStore()
        let publisher = RevocationPublisher(store: store, signer: world.revocationKey, clock: world.clock)
        try await withApp(routes(world, publisher: publisher)) { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    try await client.execute(uri: "/v1/feed?after=0&wait=30", method: .get) { response in
                        #expect(response.status == .ok)
                        let page = try JSONDecoder().decode(
                            WritWire.FeedPageBody.self,
                            from: Data(response.body.readableBytesView)
                        ).page()
                        return page.entries.count
                    }
                }
                // The poll has read once and is waiting.
                for _ in 0..<1000 where store.pages.withLock({ $0 }) == 0 {
                    try await Task.sleep(for: .milliseconds(5))
                }
                #expect(store.pages.withLock { $0 } == 1)
                // A re-reading loop (every 100 ms before) would have read again by now; a waiting one has not.
                try await Task.sleep(for: .milliseconds(400))
                #expect(store.pages.withLock { $0 } == 1, "the held poll re-read the store without an append")
                try await publisher.revoke(
                    .agent("spiffe://acme.test/agent/coder/9"),
                    reason: .manual,
                    coversUntil: world.clock.now().advanced(by: .seconds(60))
                )
                let entries = try await group.next()
                #expect(entries == 1)
                #expect(store.pages.withLock { $0 } == 2, "one read before the wait, one on the announcement")
            }
        }
    }
}
#endif
