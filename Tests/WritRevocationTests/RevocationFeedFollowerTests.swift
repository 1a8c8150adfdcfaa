import Synchronization
import Testing
import WritCrypto
import WritRevocation
import WritTesting

@Suite("Revocation feed follower")
struct RevocationFeedFollowerTests {
    let clock = ManualClock()
    let store = InMemoryRevocationStore()
    let key = Ed25519.PrivateKey()
    let watermarks = InMemoryWatermarkStore()
    let publisher: RevocationPublisher

    init() {
        publisher = RevocationPublisher(store: store, signer: key, clock: clock, watermarks: watermarks)
    }

    func id(_ n: UInt64) -> RevocationID { RevocationID(high: n, low: n &* 31) }

    @discardableResult
    func revoke(_ target: RevocationTarget, _ reason: RevocationReason = .manual) async throws -> RevocationEntry {
        try await publisher.revoke(target, reason: reason, coversUntil: clock.now().advanced(by: .seconds(600))).entry
    }

    func follower(
        _ name: String,
        store: (any RevocationStore)? = nil,
        trusting keys: [Ed25519.PublicKey]? = nil,
        configuration: RevocationFeedFollower.Configuration = .init()
    ) throws -> RevocationFeedFollower {
        let reportKey = Ed25519.PrivateKey()
        publisher.register(verifier: name, key: reportKey.publicKey)
        let feed = store ?? self.store
        return try RevocationFeedFollower(
            verifier: name,
            store: feed,
            trustedKeys: keys ?? [key.publicKey],
            snapshot: RevocationSnapshot(maxStaleness: .seconds(30)),
            clock: clock,
            reportSigner: reportKey,
            watermarks: watermarks,
            configuration: configuration
        )
    }

    @Test("a sync verifies and applies the feed, marks the snapshot fresh as of the head, and reports")
    func syncOnce() async throws {
        let gateway = try follower("gw-1")
        let entry = try await revoke(.block(id(1)), .anomaly)
        let result = try await gateway.syncOnce()
        #expect(result == .init(fetched: 1, watermark: entry.sequence, caughtUp: true))
        #expect(gateway.snapshot.status(blocks: [id(1)], now: clock.now()) == .revoked(entry))
        #expect(gateway.snapshot.lastHeard == clock.now())
        let reports = try await watermarks.reports()
        #expect(reports.map(\.watermark) == [VerifierWatermark(verifier: "gw-1", sequence: 1, recordedAt: clock.now())])
        #expect(reports[0].hash == gateway.tip.hash)
    }

    @Test("freshness is the signed head's time, not the time of the fetch")
    func freshnessFromHead() async throws {
        let gateway = try follower("gw")
        try await publisher.publishHead()
        clock.advance(by: .seconds(25))
        try await gateway.syncOnce()  // the newest head is 25 s old
        #expect(gateway.snapshot.lastHeard == clock.now().advanced(by: .seconds(-25)))
        clock.advance(by: .seconds(6))
        #expect(gateway.snapshot.isStale(at: clock.now()), "no head in 31 s: stale though the store answered")
        try await publisher.publishHead()
        try await gateway.syncOnce()
        #expect(!gateway.snapshot.isStale(at: clock.now()))
    }

    @Test("the proof holds only once every registered verifier has applied the revocation")
    func proof() async throws {
        let one = try follower("gw-1")
        let two = try follower("gw-2")
        try await publisher.publishHead()
        try await one.syncOnce()
        try await two.syncOnce()
        let entry = try await revoke(.task("t-9"), .completed)
        #expect(!(try await publisher.isApplied(sequence: entry.sequence)))
        try await one.syncOnce()
        let partial = try await publisher.revocationProof(for: entry.sequence)
        #expect(!partial.isComplete)
        #expect(partial.laggards.map(\.verifier) == ["gw-2"])
        #expect(two.snapshot.status(blocks: [id(5)], task: "t-9", now: clock.now()) == .notRevoked)
        try await two.syncOnce()
        #expect(try await publisher.isApplied(sequence: entry.sequence))
        #expect(!(try await publisher.isApplied(sequence: entry.sequence, byAll: ["gw-1", "gw-2", "gw-3"])))
        #expect(two.snapshot.status(blocks: [id(5)], task: "t-9", now: clock.now()) == .revoked(entry))
    }

    @Test("a sync pages through a long feed")
    func paging() async throws {
        for n in 1...25 { try await revoke(.block(id(UInt64(n)))) }
        let gateway = try follower("gw", configuration: .init(pageSize: 10))
        let result = try await gateway.syncOnce()
        #expect(result == .init(fetched: 25, watermark: 25, caughtUp: true))
        #expect(gateway.snapshot.statistics.blockCount == 25)
    }

    @Test("a sync that cannot reach the end of the feed does not mark the snapshot fresh")
    func notCaughtUp() async throws {
        for n in 1...25 { try await revoke(.block(id(UInt64(n)))) }
        let gateway = try follower("gw", configuration: .init(pageSize: 5, maximumPagesPerSync: 2))
        let result = try await gateway.syncOnce()
        #expect(result == .init(fetched: 10, watermark: 10, caughtUp: false))
        #expect(gateway.snapshot.isStale(at: clock.now()))
        while try await gateway.syncOnce().caughtUp == false {}
        #expect(!gateway.snapshot.isStale(at: clock.now()))
        #expect(gateway.snapshot.watermark == 25)
    }

    @Test("a feed signed by a key the verifier does not trust is refused, and the snapshot stays stale")
    func untrustedKey() async throws {
        try await revoke(.block(id(1)))
        let gateway = try follower("gw", trusting: [Ed25519.PrivateKey().publicKey])
        await #expect(throws: RevocationError(.tampered, "")) { try await gateway.syncOnce() }
        #expect(gateway.snapshot.isStale(at: clock.now()))
        #expect(!gateway.snapshot.contains(block: id(1)))
    }

    @Test("a feed with no signed head is never fresh")
    func noHead() async throws {
        _ = try await store.append(
            [RevocationRequest(.block(id(1)), reason: .manual, at: clock.now(), coversUntil: clock.now())],
            signer: key,
            minimum: nil
        )
        let gateway = try follower("gw")
        await #expect(throws: RevocationError(.tampered, "")) { try await gateway.syncOnce() }
        #expect(gateway.snapshot.contains(block: id(1)), "verified entries still apply")
        #expect(gateway.snapshot.isStale(at: clock.now()))
    }

    @Test("a failing store leaves the snapshot to go stale and fail closed, then it recovers")
    func storeFailure() async throws {
        let broken = FailingStore(inner: store)
        let gateway = try follower("gw", store: broken)
        try await publisher.publishHead()
        try await gateway.syncOnce()
        broken.failing.withLock { $0 = true }
        clock.advance(by: .seconds(31))
        await #expect(throws: RevocationError(.storeUnavailable, "")) { try await gateway.syncOnce() }
        #expect(gateway.lastError?.code == .storeUnavailable)
        #expect(
            gateway.snapshot.status(blocks: [id(1)], now: clock.now())
                == .stale(lastHeard: clock.now().advanced(by: .seconds(-31)), bound: .seconds(30))
        )
        broken.failing.withLock { $0 = false }
        try await publisher.publishHead()
        try await gateway.syncOnce()
        #expect(gateway.lastError == nil)
        #expect(gateway.snapshot.status(blocks: [id(1)], now: clock.now()) == .notRevoked)
    }

    @Test("following prunes entries whose coverage ended long enough ago")
    func prunes() async throws {
        try await publisher.revoke(.block(id(1)), reason: .timeout, coversUntil: clock.now().advanced(by: .seconds(10)))
        let gateway = try follower("gw", configuration: .init(pruneDelay: .seconds(60), pruneInterval: .zero))
        try await gateway.syncOnce()
        #expect(gateway.snapshot.contains(block: id(1)))
        clock.advance(by: .seconds(69))
        try await publisher.publishHead()
        try await gateway.syncOnce()
        #expect(gateway.snapshot.contains(block: id(1)))
        clock.advance(by: .seconds(2))
        try await gateway.syncOnce()
        #expect(!gateway.snapshot.contains(block: id(1)))
    }

    @Test("bad follower settings are rejected")
    func badSettings() {
        #expect(throws: RevocationError(.invalidArgument, "")) { try follower("") }
        #expect(throws: RevocationError(.invalidArgument, "")) { try follower("gw", configuration: .init(pageSize: 0)) }
        #expect(throws: RevocationError(.invalidArgument, "")) { try follower("gw", trusting: []) }
    }

    @Test("run() syncs on wake-up, reports errors, and returns when cancelled")
    func runLoop() async throws {
        let gateway = try follower("gw", configuration: .init(pollInterval: .seconds(3600)))
        let errors = Counter()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await gateway.run { _ in errors.increment() } }
            await waitUntil { errors.value >= 1 }  // no head yet: the first sync fails closed
            let entry = try? await revoke(.agent("spiffe://example.org/agent/x/1"))
            gateway.wake()
            await waitUntil { gateway.snapshot.watermark == entry?.sequence }
            group.cancelAll()
            await group.waitForAll()
        }
        #expect(gateway.snapshot.watermark == 1)
    }

    @Test("run() syncs on the store's announcements: a revocation is applied without waiting for the poll")
    func pushWakesTheFollower() async throws {
        let gateway = try follower("gw", configuration: .init(pollInterval: .seconds(3600)))
        try await publisher.publishHead()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await gateway.run() }
            await waitUntil { gateway.snapshot.lastHeard != nil }
            for n in 1...3 {
                let entry = try? await revoke(.block(id(UInt64(n))))
                await waitUntil { gateway.snapshot.watermark == entry?.sequence }
            }
            group.cancelAll()
            await group.waitForAll()
        }
        #expect(gateway.snapshot.watermark == 3, "three revocations applied while the poll interval is an hour")
    }

    /// Polls `condition` until it holds; fails the test after many rounds rather than hanging.
    func waitUntil(_ condition: () async -> Bool) async {
        for _ in 0..<10_000 {
            if await condition() { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("condition never held")
    }
}

/// A thread-safe count.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// A store that can be made to fail.
final class FailingStore: RevocationStore {
    let failing = Mutex(false)
    let inner: InMemoryRevocationStore

    init(inner: InMemoryRevocationStore = InMemoryRevocationStore()) { self.inner = inner }

    private func check() throws {
        if failing.withLock({ $0 }) { throw RevocationError(.storeUnavailable, "injected failure") }
    }
    func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        try check()
        return try await inner.append(revocations, signer: signer, minimum: minimum)
    }
    func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws
        -> SignedFeedMark
    {
        try check()
        return try await inner.publishHead(at: time, signer: signer, minimum: minimum)
    }
    func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        try check()
        return try await inner.page(after: sequence, limit: limit)
    }
    func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        try check()
        return try await inner.prune(expiredBefore: time, at: now, signer: signer)
    }
}
