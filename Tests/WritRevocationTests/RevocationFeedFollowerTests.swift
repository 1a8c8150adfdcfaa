import Testing
import WritCrypto
import WritRevocation
import WritTesting

@Suite("Revocation feed follower")
struct RevocationFeedFollowerTests {
    let clock = ManualClock()
    let store = InMemoryRevocationStore()

    func id(_ n: UInt64) -> RevocationID { RevocationID(high: n, low: n &* 31) }

    func revoke(_ target: RevocationTarget, _ reason: RevocationReason = .manual) async throws -> RevocationEntry {
        try await store.revoke(
            target,
            reason: reason,
            at: clock.now(),
            coversUntil: clock.now().advanced(by: .seconds(600))
        )
    }

    func follower(
        _ name: String,
        configuration: RevocationFeedFollower.Configuration = .init()
    ) throws
        -> RevocationFeedFollower
    {
        try RevocationFeedFollower(
            verifier: name,
            store: store,
            snapshot: RevocationSnapshot(maxStaleness: .seconds(30)),
            clock: clock,
            configuration: configuration
        )
    }

    @Test("a sync applies the feed, marks the snapshot fresh and records the watermark")
    func syncOnce() async throws {
        let gateway = try follower("gw-1")
        let entry = try await revoke(.block(id(1)), .anomaly)
        let result = try await gateway.syncOnce()
        #expect(result == .init(fetched: 1, watermark: entry.sequence, caughtUp: true))
        #expect(gateway.snapshot.status(blocks: [id(1)], now: clock.now()) == .revoked(entry))
        #expect(
            try await store.watermarks() == [VerifierWatermark(verifier: "gw-1", sequence: 1, recordedAt: clock.now())]
        )
    }

    @Test("the watermark proof holds only once every verifier has applied the revocation")
    func proof() async throws {
        let one = try follower("gw-1")
        let two = try follower("gw-2")
        try await one.syncOnce()
        try await two.syncOnce()
        let entry = try await revoke(.task("t-9"), .completed)
        #expect(!(try await store.isApplied(sequence: entry.sequence)))
        try await one.syncOnce()
        let partial = try await store.revocationProof(for: entry.sequence)
        #expect(!partial.isComplete)
        #expect(partial.laggards.map(\.verifier) == ["gw-2"])
        #expect(two.snapshot.status(blocks: [id(5)], task: "t-9", now: clock.now()) == .notRevoked)
        try await two.syncOnce()
        #expect(try await store.isApplied(sequence: entry.sequence))
        #expect(try await store.isApplied(sequence: entry.sequence, byAll: ["gw-1", "gw-2"]))
        #expect(!(try await store.isApplied(sequence: entry.sequence, byAll: ["gw-1", "gw-2", "gw-3"])))
        #expect(two.snapshot.status(blocks: [id(5)], task: "t-9", now: clock.now()) == .revoked(entry))
    }

    @Test("a sync pages through a long feed")
    func paging() async throws {
        for n in 1...25 { _ = try await revoke(.block(id(UInt64(n)))) }
        let gateway = try follower("gw", configuration: .init(pageSize: 10))
        let result = try await gateway.syncOnce()
        #expect(result == .init(fetched: 25, watermark: 25, caughtUp: true))
        #expect(gateway.snapshot.statistics.blockCount == 25)
    }

    @Test("a sync that cannot reach the end of the feed does not mark the snapshot fresh")
    func notCaughtUp() async throws {
        for n in 1...25 { _ = try await revoke(.block(id(UInt64(n)))) }
        let gateway = try follower("gw", configuration: .init(pageSize: 5, maximumPagesPerSync: 2))
        let result = try await gateway.syncOnce()
        #expect(result == .init(fetched: 10, watermark: 10, caughtUp: false))
        #expect(gateway.snapshot.isStale(at: clock.now()))
        #expect(try await store.watermarks().first?.sequence == 10)
        while try await gateway.syncOnce().caughtUp == false {}
        #expect(!gateway.snapshot.isStale(at: clock.now()))
        #expect(gateway.snapshot.watermark == 25)
    }

    @Test("a failing store leaves the snapshot to go stale and fail closed")
    func storeFailure() async throws {
        let broken = FailingStore()
        let gateway = try RevocationFeedFollower(
            verifier: "gw",
            store: broken,
            snapshot: RevocationSnapshot(maxStaleness: .seconds(30)),
            clock: clock
        )
        try await gateway.syncOnce()
        broken.failing = true
        clock.advance(by: .seconds(31))
        await #expect(throws: RevocationError(.storeUnavailable, "")) { try await gateway.syncOnce() }
        #expect(gateway.lastError?.code == .storeUnavailable)
        #expect(
            gateway.snapshot.status(blocks: [id(1)], now: clock.now())
                == .stale(
                    lastHeard: clock.now().advanced(by: .seconds(-31)),
                    bound: .seconds(30)
                )
        )
        broken.failing = false
        try await gateway.syncOnce()
        #expect(gateway.lastError == nil)
        #expect(gateway.snapshot.status(blocks: [id(1)], now: clock.now()) == .notRevoked)
    }

    @Test("a store that returns sequence 0 is rejected")
    func corruptStore() async throws {
        let gateway = try RevocationFeedFollower(
            verifier: "gw",
            store: FailingStore(corrupt: true),
            snapshot: RevocationSnapshot(maxStaleness: .seconds(30)),
            clock: clock
        )
        await #expect(throws: RevocationError(.corruptStore, "")) { try await gateway.syncOnce() }
        #expect(gateway.snapshot.isStale(at: clock.now()))
    }

    @Test("following prunes entries whose coverage ended long enough ago")
    func prunes() async throws {
        _ = try await store.revoke(
            .block(id(1)),
            reason: .timeout,
            at: clock.now(),
            coversUntil: clock.now().advanced(by: .seconds(10))
        )
        let gateway = try follower("gw", configuration: .init(pruneDelay: .seconds(60), pruneInterval: .zero))
        try await gateway.syncOnce()
        #expect(gateway.snapshot.contains(block: id(1)))
        clock.advance(by: .seconds(69))
        try await gateway.syncOnce()
        #expect(gateway.snapshot.contains(block: id(1)))
        clock.advance(by: .seconds(2))
        try await gateway.syncOnce()
        #expect(!gateway.snapshot.contains(block: id(1)))
    }

    @Test("prunes run at most once per prune interval")
    func pruneInterval() async throws {
        _ = try await store.revoke(.block(id(1)), reason: .timeout, at: clock.now(), coversUntil: clock.now())
        let gateway = try follower("gw", configuration: .init(pruneDelay: .zero, pruneInterval: .seconds(60)))
        try await gateway.syncOnce()  // prunes (first time): the entry was not yet expired
        #expect(gateway.snapshot.contains(block: id(1)))
        clock.advance(by: .seconds(30))
        try await gateway.syncOnce()
        #expect(gateway.snapshot.contains(block: id(1)), "no prune within the interval")
        clock.advance(by: .seconds(30))
        try await gateway.syncOnce()
        #expect(!gateway.snapshot.contains(block: id(1)))
    }

    @Test("bad follower settings are rejected")
    func badSettings() {
        #expect(throws: RevocationError(.invalidArgument, "")) { try follower("") }
        #expect(throws: RevocationError(.invalidArgument, "")) { try follower("gw", configuration: .init(pageSize: 0)) }
    }

    @Test("run() syncs on wake-up and returns when cancelled")
    func runLoop() async throws {
        let gateway = try follower("gw", configuration: .init(pollInterval: .seconds(3600)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gateway.run() }
            try await waitUntil { try await store.watermarks().count == 1 }
            let entry = try await revoke(.agent("spiffe://example.org/agent/x/1"))
            gateway.wake()
            try await waitUntil { gateway.snapshot.watermark == entry.sequence }
            #expect(try await store.isApplied(sequence: entry.sequence) || gateway.snapshot.watermark == entry.sequence)
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    /// Polls `condition` (yielding) until it holds; fails the test after many rounds rather than hanging.
    func waitUntil(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<10_000 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("condition never held")
    }
}

/// A store that can be made to fail, or to return a corrupt entry.
final class FailingStore: RevocationStore, @unchecked Sendable {
    // @unchecked: `failing` is only set by the test between awaited calls, never concurrently with them.
    var failing = false
    let corrupt: Bool
    let inner = InMemoryRevocationStore()

    init(corrupt: Bool = false) { self.corrupt = corrupt }

    private func check() throws {
        if failing { throw RevocationError(.storeUnavailable, "injected failure") }
    }
    func revoke(
        _ target: RevocationTarget,
        reason: RevocationReason,
        at time: Timestamp,
        coversUntil: Timestamp
    ) async throws -> RevocationEntry {
        try check()
        return try await inner.revoke(target, reason: reason, at: time, coversUntil: coversUntil)
    }
    func entries(after sequence: UInt64, limit: Int) async throws -> [RevocationEntry] {
        try check()
        if corrupt {
            return [
                RevocationEntry(
                    sequence: 0,
                    target: .task("x"),
                    reason: .manual,
                    revokedAt: .init(millisecondsSinceEpoch: 0),
                    coversUntil: .init(millisecondsSinceEpoch: 0)
                )
            ]
        }
        return try await inner.entries(after: sequence, limit: limit)
    }
    func latestSequence() async throws -> UInt64 {
        try check()
        return try await inner.latestSequence()
    }
    func recordWatermark(verifier: String, sequence: UInt64, at time: Timestamp) async throws {
        try check()
        try await inner.recordWatermark(verifier: verifier, sequence: sequence, at: time)
    }
    func watermarks() async throws -> [VerifierWatermark] {
        try check()
        return try await inner.watermarks()
    }
    func removeVerifier(_ verifier: String) async throws { try check() }
    func prune(expiredBefore time: Timestamp) async throws -> Int {
        try check()
        return 0
    }
}
