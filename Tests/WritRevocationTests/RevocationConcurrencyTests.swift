import Testing
import WritCrypto
import WritRevocation
import WritTesting

/// Run under ThreadSanitizer too: `swift test --sanitize=thread --scratch-path .build-tsan --filter WritRevocationTests`.
@Suite("Revocation under concurrency")
struct RevocationConcurrencyTests {
    static let revokers = 4
    static let perRevoker = 300
    static let verifiers = 3

    static func id(_ revoker: Int, _ n: Int) -> RevocationID {
        RevocationID(high: UInt64(revoker + 1) << 32 | UInt64(n), low: UInt64(n) &* 0x9E37_79B9_7F4A_7C15)
    }

    static func isExpired(_ n: Int) -> Bool { n % 3 == 0 }

    @Test(
        "concurrent revokes, feed applies, prunes and lookups agree; a live revoked id never reads as unrevoked again"
    )
    func revokeApplyLookup() async throws {
        let clock = ManualClock()
        let store = InMemoryRevocationStore()
        let key = Ed25519.PrivateKey()
        let publisher = RevocationPublisher(
            store: store,
            signer: key,
            clock: clock,
            watermarks: InMemoryWatermarkStore()
        )
        try await publisher.publishHead()
        let followers = try (0..<Self.verifiers).map {
            let reportKey = Ed25519.PrivateKey()
            publisher.register(verifier: "gw-\($0)", key: reportKey.publicKey)
            return try RevocationFeedFollower(
                verifier: "gw-\($0)",
                store: store,
                trustedKeys: [key.publicKey],
                snapshot: RevocationSnapshot(maxStaleness: .seconds(3600)),
                clock: clock,
                reportSigner: reportKey,
                watermarks: publisher.watermarks,
                configuration: .init(pageSize: 64, pruneDelay: .zero, pruneInterval: .zero)
            )
        }
        let flips = try await withThrowingTaskGroup(of: Int.self) { group in
            for revoker in 0..<Self.revokers {
                group.addTask {
                    for n in 0..<Self.perRevoker {
                        // Every third entry's tokens have already expired: followers prune it while others read.
                        _ = try await publisher.revoke(
                            .block(Self.id(revoker, n)),
                            reason: .anomaly,
                            coversUntil: clock.now().advanced(by: .seconds(Self.isExpired(n) ? -1 : 600))
                        )
                        if n % 50 == 0 { await Task.yield() }
                    }
                    return 0
                }
            }
            for follower in followers {
                group.addTask {
                    for _ in 0..<40 {
                        try await follower.syncOnce()
                        await Task.yield()
                    }
                    return 0
                }
                // Readers: once an id reads as revoked it must stay revoked (no lost or torn updates).
                group.addTask {
                    var seen = Set<RevocationID>()
                    var flips = 0
                    for round in 0..<60 {
                        for revoker in 0..<Self.revokers {
                            for n in stride(from: round % 7, to: Self.perRevoker, by: 7) {
                                let id = Self.id(revoker, n)
                                if Self.isExpired(n) { continue }
                                let revoked = follower.snapshot.contains(block: id)
                                if revoked {
                                    seen.insert(id)
                                } else if seen.contains(id) {
                                    flips += 1
                                }
                                _ = follower.snapshot.status(blocks: [Self.id(9, n), id], task: "t", now: clock.now())
                            }
                        }
                        _ = follower.snapshot.watermark
                        await Task.yield()
                    }
                    return flips
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(flips == 0)
        let latest = publisher.tip?.sequence ?? 0
        #expect(latest == UInt64(Self.revokers * Self.perRevoker))
        for follower in followers {
            try await follower.syncOnce()
            #expect(follower.snapshot.watermark == latest)
            #expect(follower.snapshot.statistics.blockCount == Self.revokers * (Self.perRevoker * 2 / 3))
            for revoker in 0..<Self.revokers {
                #expect(
                    (0..<Self.perRevoker).allSatisfy {
                        follower.snapshot.contains(block: Self.id(revoker, $0)) == !Self.isExpired($0)
                    }
                )
            }
        }
        #expect(try await publisher.isApplied(sequence: latest, byAll: followers.map(\.verifier)))
    }

    @Test("concurrent wake-ups and cancellation end run() cleanly")
    func wakeStorm() async throws {
        let store = InMemoryRevocationStore()
        let key = Ed25519.PrivateKey()
        let publisher = RevocationPublisher(store: store, signer: key, clock: ManualClock())
        let follower = try RevocationFeedFollower(
            verifier: "gw",
            store: store,
            trustedKeys: [key.publicKey],
            snapshot: RevocationSnapshot(maxStaleness: .seconds(60)),
            clock: ManualClock(),
            configuration: .init(pollInterval: .milliseconds(5))
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await follower.run() }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<200 {
                        follower.wake()
                        await Task.yield()
                    }
                }
            }
            group.addTask {
                for n in 0..<100 {
                    _ = try await publisher.revoke(
                        .task("t-\(n)"),
                        reason: .completed,
                        coversUntil: .init(millisecondsSinceEpoch: 1)
                    )
                }
            }
            // Wait for the follower to catch up with everything, then stop it.
            var rounds = 0
            while follower.snapshot.watermark < 100 && rounds < 10_000 {
                follower.wake()
                try await Task.sleep(for: .milliseconds(1))
                rounds += 1
            }
            #expect(follower.snapshot.watermark == 100)
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("concurrent syncs of one follower agree: entries applied once, never mistaken for tampering")
    func concurrentSyncs() async throws {
        let clock = ManualClock()
        let store = InMemoryRevocationStore()
        let key = Ed25519.PrivateKey()
        let publisher = RevocationPublisher(store: store, signer: key, clock: clock)
        let follower = try RevocationFeedFollower(
            verifier: "gw",
            store: store,
            trustedKeys: [key.publicKey],
            snapshot: RevocationSnapshot(maxStaleness: .seconds(60)),
            clock: clock,
            configuration: .init(pageSize: 7)
        )
        try await publisher.publishHead()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for n in 0..<60 {
                    try await publisher.revoke(.task("t-\(n)"), reason: .completed, coversUntil: clock.now())
                }
            }
            for _ in 0..<24 {
                group.addTask {
                    for _ in 0..<10 {
                        do {
                            try await follower.syncOnce()
                        } catch let error as RevocationError where error.code == .tampered {
                            Issue.record("a concurrent sync was taken for tampering: \(error)")
                        } catch {}
                        await Task.yield()
                    }
                }
            }
            try await group.waitForAll()
        }
        try await follower.syncOnce()
        #expect(follower.failure == nil)
        #expect(follower.snapshot.watermark == 60)
        #expect(follower.snapshot.statistics.taskCount == 60)
    }
}
