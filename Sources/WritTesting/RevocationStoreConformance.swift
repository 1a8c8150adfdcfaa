import WritCrypto
public import WritRevocation

/// The contract every ``RevocationStore`` implementation must keep, as runnable checks — including what a verifier
/// believes after someone with write access to the store tampered with it.
///
/// Each backend's tests run every check against a fresh store:
/// ```swift
/// @Test("store keeps the contract", arguments: RevocationStoreConformance.Check.allCases)
/// func conformance(_ check: RevocationStoreConformance.Check) async throws {
///     let store = InMemoryRevocationStore()
///     try await RevocationStoreConformance(
///         makeStore: { InMemoryRevocationStore() },
///         overwrite: { store, contents in (store as! InMemoryRevocationStore).overwrite(with: contents) },
///         reopen: { $0 },
///         openPeer: { $0 }
///     ).run(check)
/// }
/// ```
/// `overwrite` replaces the backing data as an attacker would (no checks, no signatures); `reopen` opens the backing
/// data again as a restarted process would (for a memory store, the same store); `openPeer` opens a second
/// handle on the same backing data, as another process started afterwards would. A failed check throws
/// ``Failure`` naming the check and what was wrong. The suite does not depend on a test framework.
public struct RevocationStoreConformance: Sendable {
    /// One property of the store contract.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        /// Sequences start at 1 and are contiguous; each entry links to the previous one and verifies.
        case entriesAreSignedAndChained
        /// Every target kind and reason is stored and returned intact, as the signed bytes.
        case targetsAndReasonsRoundTrip
        /// Repeating a revocation returns the same entry; longer coverage or another reason appends.
        case revokeIsIdempotent
        /// Pages come in sequence order, respect the limit, and carry the latest head.
        case pagesInOrderWithHead
        /// Bad arguments are rejected with typed errors.
        case rejectsBadArguments
        /// Pruning removes only an expired prefix, behind a signed floor a new follower can verify.
        case pruneKeepsTheChain
        /// A write given a minimum tip the store is behind (rolled back) is refused.
        case refusesWritesBehindMinimum
        /// A reopened store holds every entry and the head, and appending continues the chain.
        case reopenKeepsTheFeed
        /// A second handle sees every entry in order and appends after them (one chain, no fork).
        case peerHandlesShareOneChain
        /// Concurrent revocations from two handles all get distinct, contiguous sequences.
        case concurrentRevocations
        /// A follower fresh from the feed sees the revocation, and its signed report proves it.
        case followerAppliesAndProves
        /// Tamper: the last entry deleted.
        case tamperDeleteLastEntry
        /// Tamper: an entry in the middle deleted.
        case tamperDeleteMiddleEntry
        /// Tamper: an entry's target rewritten and re-signed by a key the verifier does not trust.
        case tamperRewrittenEntry
        /// Tamper: every entry removed (an empty feed with the head kept, or with no head).
        case tamperEmptied
        /// Tamper: the whole store rolled back to an older copy.
        case tamperRollback
        /// Tamper: a floor forged over the revocation (signed by another key).
        case tamperForgedFloor
        /// Tamper: a head forged by another key.
        case tamperForgedHead
        /// Tamper: rolled back under a running follower, then new revocations reuse the old sequences.
        case tamperRollbackThenReuse
        /// Forged watermark reports (another key, another chain) prove nothing.
        case forgedReportsProveNothing

        /// The check's name.
        public var description: String { rawValue }
    }

    /// A failed check.
    public struct Failure: Error, CustomStringConvertible {
        /// The check that failed.
        public let check: Check
        /// What was wrong.
        public let detail: String

        /// `check: detail`.
        public var description: String { "\(check): \(detail)" }
    }

    private let makeStore: @Sendable () async throws -> any RevocationStore
    private let overwrite: @Sendable (any RevocationStore, RevocationFeedPage) async throws -> Void
    private let reopen: @Sendable (any RevocationStore) async throws -> any RevocationStore
    private let openPeer: @Sendable (any RevocationStore) async throws -> any RevocationStore

    /// Creates the suite.
    ///
    /// - Parameters:
    ///   - makeStore: returns a new, empty store each time it is called.
    ///   - overwrite: replaces the store's backing data with exactly these records, unchecked (an attacker).
    ///   - reopen: opens the backing data again, as a restarted process would.
    ///   - openPeer: opens another handle on the same backing data (another process).
    public init(
        makeStore: @escaping @Sendable () async throws -> any RevocationStore,
        overwrite: @escaping @Sendable (any RevocationStore, RevocationFeedPage) async throws -> Void,
        reopen: @escaping @Sendable (any RevocationStore) async throws -> any RevocationStore,
        openPeer: @escaping @Sendable (any RevocationStore) async throws -> any RevocationStore
    ) {
        self.makeStore = makeStore
        self.overwrite = overwrite
        self.reopen = reopen
        self.openPeer = openPeer
    }

    /// Runs every check, stopping at the first failure.
    public func runAll() async throws {
        for check in Check.allCases { try await run(check) }
    }

    /// Runs one check against a fresh store.
    ///
    /// - Throws: ``Failure`` when the store breaks the contract, or whatever the store throws unexpectedly.
    public func run(_ check: Check) async throws {
        let context = Context(check: check, store: try await makeStore(), suite: self)
        switch check {
        case .entriesAreSignedAndChained: try await context.entriesAreSignedAndChained()
        case .targetsAndReasonsRoundTrip: try await context.targetsAndReasonsRoundTrip()
        case .revokeIsIdempotent: try await context.revokeIsIdempotent()
        case .pagesInOrderWithHead: try await context.pagesInOrderWithHead()
        case .rejectsBadArguments: try await context.rejectsBadArguments()
        case .pruneKeepsTheChain: try await context.pruneKeepsTheChain()
        case .refusesWritesBehindMinimum: try await context.refusesWritesBehindMinimum()
        case .reopenKeepsTheFeed: try await context.reopenKeepsTheFeed()
        case .peerHandlesShareOneChain: try await context.peerHandlesShareOneChain()
        case .concurrentRevocations: try await context.concurrentRevocations()
        case .followerAppliesAndProves: try await context.followerAppliesAndProves()
        case .tamperDeleteLastEntry, .tamperDeleteMiddleEntry, .tamperRewrittenEntry, .tamperEmptied,
            .tamperRollback, .tamperForgedFloor, .tamperForgedHead:
            try await context.tamper(check)
        case .tamperRollbackThenReuse: try await context.rollbackThenReuse()
        case .forgedReportsProveNothing: try await context.forgedReportsProveNothing()
        }
    }
}

extension RevocationStoreConformance {
    private final class Context: Sendable {
        let check: Check
        let store: any RevocationStore
        let suite: RevocationStoreConformance
        let clock = ManualClock()
        let key = Ed25519.PrivateKey()
        let attacker = Ed25519.PrivateKey()
        let publisher: RevocationPublisher
        let staleness = Duration.seconds(10)

        init(check: Check, store: any RevocationStore, suite: RevocationStoreConformance) {
            self.check = check
            self.store = store
            self.suite = suite
            publisher = RevocationPublisher(
                store: store,
                signer: key,
                clock: clock,
                watermarks: InMemoryWatermarkStore()
            )
        }

        func expect(_ condition: Bool, _ detail: @autoclosure () -> String) throws {
            if !condition { throw Failure(check: check, detail: detail()) }
        }

        func expectError(_ code: RevocationError.Code, _ what: String, _ body: () async throws -> Void) async throws {
            do {
                try await body()
            } catch let error as RevocationError {
                try expect(error.code == code, "\(what): expected \(code), got \(error)")
                return
            }
            throw Failure(check: check, detail: "\(what): expected error \(code), but it succeeded")
        }

        func block(_ n: UInt64) -> RevocationTarget {
            .block(RevocationID(high: 0xA5A5_0000_0000_0000 | n, low: n &* 0x9E37_79B9_7F4A_7C15))
        }

        func request(
            _ target: RevocationTarget,
            _ reason: RevocationReason = .manual,
            covers: Int64 = 600
        )
            -> RevocationRequest
        {
            RevocationRequest(target, reason: reason, at: clock.now(), coversUntil: time(covers))
        }

        func time(_ seconds: Int64) -> Timestamp { Timestamp(secondsSinceEpoch: 1_767_225_600 + seconds) }

        /// A verifier as a process started now would run it: a new snapshot and follower over `store`.
        func newFollower(
            on store: (any RevocationStore)? = nil,
            name: String = "svc",
            reportKey: Ed25519.PrivateKey? = nil
        ) throws -> RevocationFeedFollower {
            let feed = store ?? self.store
            return try RevocationFeedFollower(
                verifier: name,
                store: feed,
                trustedKeys: [key.publicKey],
                snapshot: RevocationSnapshot(maxStaleness: staleness),
                clock: clock,
                reportSigner: reportKey,
                watermarks: reportKey == nil ? nil : publisher.watermarks
            )
        }

        /// What a follower's snapshot says of `target` after one sync attempt.
        func verdict(_ follower: RevocationFeedFollower, _ target: RevocationTarget) async -> RevocationLookup {
            _ = try? await follower.syncOnce()
            guard case .block(let id) = target else { return .notRevoked }
            return follower.snapshot.status(of: id, now: clock.now())
        }

        // MARK: Contract

        func entriesAreSignedAndChained() async throws {
            let empty = try await store.contents()
            try expect(empty.entries.isEmpty && empty.head == nil, "a new store must hold nothing")
            var written: [SignedRevocationEntry] = []
            for i in 1...12 {
                written.append(try await publisher.revoke(block(UInt64(i)), reason: .manual, coversUntil: time(600)))
            }
            try expect(
                written.map(\.sequence) == Array(1...12),
                "sequences must be 1…12, got \(written.map(\.sequence))"
            )
            let stored = try await store.contents().entries
            try expect(stored == written, "stored entries must be the signed bytes returned")
            var previous = RevocationFeedHash.zero
            for entry in stored {
                try expect(entry.isSigned(by: key.publicKey), "entry #\(entry.sequence) does not verify")
                try expect(entry.previousHash == previous, "entry #\(entry.sequence) is not linked")
                previous = entry.hash
            }
        }

        func targetsAndReasonsRoundTrip() async throws {
            let targets: [RevocationTarget] = [
                block(1), .task("task-Ω-42"), .agent("spiffe://acme.dev/agent/a/1"),
                .issuerKey(key.publicKey.keyID),
                .task(String(repeating: "t", count: RevocationTarget.maximumNameByteCount)),
            ]
            var requests: [RevocationRequest] = []
            for target in targets {
                for reason in RevocationReason.allCases { requests.append(request(target, reason, covers: 60)) }
            }
            let written = try await publisher.revoke(requests)
            let stored = try await store.contents().entries
            try expect(stored.count == requests.count, "expected \(requests.count) entries, got \(stored.count)")
            for (entry, request) in zip(stored, requests) {
                try expect(
                    entry.entry.target == request.target && entry.entry.reason == request.reason
                        && entry.entry.revokedAt == request.revokedAt && entry.entry.coversUntil == request.coversUntil,
                    "entry #\(entry.sequence) does not echo \(request.target) (\(request.reason))"
                )
                try expect(try SignedRevocationEntry(bytes: entry.bytes) == entry, "entry #\(entry.sequence) bytes")
            }
            try expect(written == stored, "returned entries differ from stored ones")
        }

        func revokeIsIdempotent() async throws {
            let task = RevocationTarget.task("t-1")
            let first = try await publisher.revoke([request(task, .completed, covers: 100)])[0]
            let again = try await publisher.revoke([request(task, .completed, covers: 90)])[0]
            try expect(again == first, "a retry with shorter coverage must return the first entry")
            let longer = try await publisher.revoke([request(task, .completed, covers: 200)])[0]
            try expect(longer.sequence == first.sequence + 1, "longer coverage must append")
            let other = try await publisher.revoke([request(task, .anomaly, covers: 50)])[0]
            try expect(other.sequence == longer.sequence + 1, "another reason must append")
            try expect(try await store.contents().entries.count == 3, "the feed must hold 3 entries")
        }

        func pagesInOrderWithHead() async throws {
            for i in 1...20 { _ = try await store.append([request(block(UInt64(i)))], signer: key, minimum: nil) }
            let noHead = try await store.page(after: 0, limit: 5)
            try expect(noHead.head == nil, "no head before one is published")
            let head = try await publisher.publishHead()
            try expect(head.sequence == 20 && head.isSigned(by: key.publicKey), "head must cover #20 and verify")
            var seen: [UInt64] = []
            while true {
                let page = try await store.page(after: seen.last ?? 0, limit: 7)
                try expect(page.entries.count <= 7, "a page must respect its limit")
                try expect(page.head == head, "every page must carry the latest head")
                seen += page.entries.map(\.sequence)
                if page.entries.count < 7 { break }
            }
            try expect(seen == Array(1...20), "paging must return 1…20 in order, got \(seen)")
            try expect(try await store.page(after: 20, limit: 3).entries.isEmpty, "nothing after the tip")
        }

        func rejectsBadArguments() async throws {
            try await expectError(.invalidArgument, "page limit 0") { _ = try await store.page(after: 0, limit: 0) }
            try await expectError(.invalidTarget, "empty task") {
                _ = try await store.append([request(.task(""))], signer: key, minimum: nil)
            }
            let long = String(repeating: "x", count: RevocationTarget.maximumNameByteCount + 1)
            try await expectError(.invalidTarget, "oversized agent") {
                _ = try await store.append([request(.agent(long))], signer: key, minimum: nil)
            }
            try expect(try await store.contents().entries.isEmpty, "refused requests must write nothing")
        }

        func pruneKeepsTheChain() async throws {
            _ = try await publisher.revoke([request(block(1), covers: 10), request(block(2), covers: 20)])
            _ = try await publisher.revoke([request(block(3), covers: 1000), request(block(4), covers: 5)])
            let removed = try await publisher.prune(expiredBefore: time(100))
            try expect(removed == 2, "only the expired prefix (#1, #2) may go, removed \(removed)")
            let contents = try await store.contents()
            try expect(
                contents.floor?.sequence == 2,
                "a floor at #2 must remain, got \(String(describing: contents.floor))"
            )
            try expect(contents.entries.map(\.sequence) == [3, 4], "entries #3, #4 must remain")
            _ = try await publisher.revoke(block(5), reason: .manual, coversUntil: time(600))
            let follower = try newFollower()
            let result = try await follower.syncOnce()
            try expect(result.caughtUp && follower.tip.sequence == 5, "a new follower must verify past the floor")
            guard case .block(let three) = block(3) else { return }
            try expect(follower.snapshot.contains(block: three), "the kept entry #3 must apply")
        }

        func refusesWritesBehindMinimum() async throws {
            for i in 1...3 { _ = try await publisher.revoke(block(UInt64(i)), reason: .manual, coversUntil: time(60)) }
            let before = try await store.contents()
            _ = try await publisher.revoke(block(4), reason: .manual, coversUntil: time(60))
            try await suite.overwrite(store, before)  // rolled back under the running authority
            try await expectError(.tampered, "revoke on a rolled-back store") {
                _ = try await publisher.revoke(block(5), reason: .manual, coversUntil: time(60))
            }
            try await expectError(.tampered, "head on a rolled-back store") { _ = try await publisher.publishHead() }
        }

        func reopenKeepsTheFeed() async throws {
            for i in 1...5 { _ = try await publisher.revoke(block(UInt64(i)), reason: .manual, coversUntil: time(60)) }
            let before = try await store.contents()
            let reopened = try await suite.reopen(store)
            let after = try await reopened.contents()
            try expect(after == before, "a reopened store must hold the same entries and head")
            let restarted = RevocationPublisher(store: reopened, signer: key, clock: clock)
            let next = try await restarted.revoke(block(6), reason: .manual, coversUntil: time(60))
            try expect(
                next.sequence == 6 && next.previousHash == before.entries.last?.hash,
                "appending after a reopen must continue the chain, got #\(next.sequence)"
            )
            let follower = try newFollower(on: reopened)
            let result = try await follower.syncOnce()
            try expect(result.caughtUp && follower.tip.sequence == 6, "a follower must verify the reopened feed")
        }

        func peerHandlesShareOneChain() async throws {
            let peer = try await suite.openPeer(store)
            let other = RevocationPublisher(store: peer, signer: key, clock: clock)
            _ = try await publisher.revoke(block(1), reason: .manual, coversUntil: time(60))
            let second = try await other.revoke(block(2), reason: .manual, coversUntil: time(60))
            try expect(second.sequence == 2, "the peer must append after #1, got #\(second.sequence)")
            let third = try await publisher.revoke(block(3), reason: .manual, coversUntil: time(60))
            try expect(third.sequence == 3 && third.previousHash == second.hash, "one chain across handles")
            let seen = try await peer.contents().entries.map(\.sequence)
            try expect(seen == [1, 2, 3], "the peer must see #1…#3, got \(seen)")
        }

        func concurrentRevocations() async throws {
            let peer = try await suite.openPeer(store)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, handle) in [store, peer].enumerated() {
                    group.addTask { [self] in
                        for i in 0..<25 {
                            _ = try await handle.append(
                                [request(block(UInt64(index * 100 + i)))],
                                signer: key,
                                minimum: nil
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            let entries = try await store.contents().entries
            try expect(entries.map(\.sequence) == Array(1...50), "50 contiguous sequences, got \(entries.count)")
            var previous = RevocationFeedHash.zero
            for entry in entries {
                try expect(entry.previousHash == previous, "entry #\(entry.sequence) breaks the chain")
                previous = entry.hash
            }
        }

        func followerAppliesAndProves() async throws {
            let reportKey = Ed25519.PrivateKey()
            publisher.register(verifier: "svc", key: reportKey.publicKey)
            let follower = try newFollower(reportKey: reportKey)
            try expect(follower.snapshot.isStale(at: clock.now()), "a follower that never synced is stale")
            let entry = try await publisher.revoke(block(1), reason: .anomaly, coversUntil: time(600))
            var proof = try await publisher.revocationProof(for: entry.sequence)
            try expect(!proof.isComplete, "no proof before the verifier synced: \(proof)")
            let lookup = await verdict(follower, block(1))
            guard case .revoked = lookup else { throw Failure(check: check, detail: "expected revoked, got \(lookup)") }
            proof = try await publisher.revocationProof(for: entry.sequence)
            try expect(proof.isComplete, "the signed report must prove the revocation: \(proof)")
            try expect(
                follower.snapshot.status(of: RevocationID(high: 1, low: 1), now: clock.now()) == .notRevoked,
                "fresh"
            )
            clock.advance(by: staleness + .seconds(1))
            let stale = follower.snapshot.status(of: RevocationID(high: 1, low: 1), now: clock.now())
            if case .stale = stale {
            } else {
                throw Failure(check: check, detail: "no new head: must be stale, got \(stale)")
            }
            _ = try await publisher.publishHead()
            _ = try await follower.syncOnce()
            try expect(
                follower.snapshot.status(of: RevocationID(high: 1, low: 1), now: clock.now()) == .notRevoked,
                "a new head refreshes"
            )
        }

        // MARK: Tampering

        /// Revokes the target of interest (#2 of 3), then tampers; a follower started afterwards must never find
        /// it not revoked, and one that was running must keep it revoked.
        func tamper(_ check: Check) async throws {
            let running = try newFollower()
            let early = try await store.contents()  // before anything: the rollback copy
            _ = try await publisher.revoke(block(1), reason: .manual, coversUntil: time(600))
            let victim = try await publisher.revoke(block(2), reason: .anomaly, coversUntil: time(600))
            _ = try await publisher.revoke(block(3), reason: .manual, coversUntil: time(600))
            _ = try await running.syncOnce()
            let honest = try await store.contents()
            var forged = honest
            switch check {
            case .tamperDeleteLastEntry:
                forged.entries.removeLast()
                forged.entries.removeLast()  // the victim is the last one left out too
            case .tamperDeleteMiddleEntry:
                forged.entries.remove(at: 1)
            case .tamperRewrittenEntry:
                let altered = RevocationEntry(
                    sequence: victim.sequence,
                    target: block(99),
                    reason: .anomaly,
                    revokedAt: victim.entry.revokedAt,
                    coversUntil: victim.entry.coversUntil
                )
                forged.entries[1] = try SignedRevocationEntry(
                    signing: altered,
                    previousHash: victim.previousHash,
                    signer: attacker
                )
            case .tamperEmptied:
                forged.entries = []
            case .tamperRollback:
                forged = early
            case .tamperForgedFloor:
                forged.floor = try SignedFeedMark(
                    signing: .floor,
                    sequence: 2,
                    hash: victim.hash,
                    issuedAt: clock.now(),
                    signer: attacker
                )
                forged.entries.removeFirst(2)
            case .tamperForgedHead:
                forged.entries.removeLast(2)
                forged.head = try SignedFeedMark(
                    signing: .head,
                    sequence: 1,
                    hash: forged.entries[0].hash,
                    issuedAt: clock.now().advanced(by: .seconds(60)),
                    signer: attacker
                )
            default:
                return
            }
            try await suite.overwrite(store, forged)
            clock.advance(by: .seconds(1))
            // A store that refuses to open the tampered data serves nothing: that is failing closed too.
            let fresh = try (try? await suite.openPeer(store)).map { try newFollower(on: $0) }
            if let fresh, await verdict(fresh, block(2)) == .notRevoked {
                throw Failure(check: check, detail: "a follower started after the tamper finds #2 not revoked")
            }
            let stillRunning = await self.verdict(running, block(2))
            guard case .revoked = stillRunning else {
                throw Failure(check: check, detail: "the running follower lost the revocation: \(stillRunning)")
            }
            clock.advance(by: staleness + .seconds(1))
            if let fresh, await self.verdict(fresh, block(2)) == .notRevoked {
                throw Failure(check: check, detail: "after the staleness bound a new follower finds #2 not revoked")
            }
            try expect(
                running.snapshot.status(of: RevocationID(high: 7, low: 7), now: clock.now()) != .notRevoked,
                "the running follower must go stale, not stay fresh on a tampered feed"
            )
        }

        func rollbackThenReuse() async throws {
            let running = try newFollower()
            _ = try await publisher.revoke(block(1), reason: .manual, coversUntil: time(600))
            let copy = try await store.contents()
            _ = try await publisher.revoke(block(2), reason: .anomaly, coversUntil: time(600))
            _ = try await publisher.revoke(block(3), reason: .manual, coversUntil: time(600))
            _ = try await running.syncOnce()
            try await suite.overwrite(store, copy)
            // A second authority (that never saw #2 and #3) writes on the rolled-back copy, reusing #2 and #3.
            let other = RevocationPublisher(store: try await suite.openPeer(store), signer: key, clock: clock)
            for i in 10...12 { _ = try await other.revoke(block(UInt64(i)), reason: .manual, coversUntil: time(600)) }
            clock.advance(by: .seconds(1))
            await expectFailure(running)
            clock.advance(by: staleness + .seconds(1))
            _ = try await other.publishHead()
            _ = try? await running.syncOnce()
            try expect(running.failure != nil, "a follower that saw a fork must stop for good")
            let id = RevocationID(high: 5, low: 5)
            try expect(running.snapshot.status(of: id, now: clock.now()) != .notRevoked, "it must fail closed")
            guard case .block(let two) = block(2) else { return }
            try expect(running.snapshot.contains(block: two), "it must keep what it applied")
        }

        private func expectFailure(_ follower: RevocationFeedFollower) async {
            _ = try? await follower.syncOnce()
        }

        func forgedReportsProveNothing() async throws {
            let reportKey = Ed25519.PrivateKey()
            publisher.register(verifier: "svc", key: reportKey.publicKey)
            let entry = try await publisher.revoke(block(1), reason: .anomaly, coversUntil: time(600))
            guard let watermarks = publisher.watermarks else { return }
            try await watermarks.record(
                try WatermarkReport(
                    verifier: "svc",
                    sequence: 1,
                    hash: entry.hash,
                    recordedAt: clock.now(),
                    signer: attacker
                )
            )
            var proof = try await publisher.revocationProof(for: 1)
            try expect(!proof.isComplete && !proof.rejected.isEmpty, "a report by another key must not count: \(proof)")
            let forkHash = try SignedRevocationEntry(
                signing: RevocationEntry(
                    sequence: 1,
                    target: block(2),
                    reason: .manual,
                    revokedAt: clock.now(),
                    coversUntil: time(9)
                ),
                previousHash: .zero,
                signer: key
            ).hash
            try await watermarks.record(
                try WatermarkReport(
                    verifier: "svc",
                    sequence: 1,
                    hash: forkHash,
                    recordedAt: clock.now().advanced(by: .seconds(1)),
                    signer: reportKey
                )
            )
            proof = try await publisher.revocationProof(for: 1)
            try expect(!proof.isComplete, "a report naming another chain must not count: \(proof)")
            try await watermarks.record(
                try WatermarkReport(
                    verifier: "svc",
                    sequence: 1,
                    hash: entry.hash,
                    recordedAt: clock.now().advanced(by: .seconds(2)),
                    signer: reportKey
                )
            )
            proof = try await publisher.revocationProof(for: 1)
            try expect(proof.isComplete, "the genuine report proves it: \(proof)")
        }
    }
}
