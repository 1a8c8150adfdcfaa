import WritCrypto
public import WritRevocation

/// The contract every ``RevocationStore`` implementation must keep, as runnable checks.
///
/// Each backend's tests run every check against a fresh store:
/// ```swift
/// @Test("store keeps the contract", arguments: RevocationStoreConformance.Check.allCases)
/// func conformance(_ check: RevocationStoreConformance.Check) async throws {
///     try await RevocationStoreConformance { InMemoryRevocationStore() }.run(check)
/// }
/// ```
/// A failed check throws ``Failure`` naming the check and what was wrong. The suite does not depend on a test
/// framework, so it also runs from a command-line drill against a live store.
public struct RevocationStoreConformance: Sendable {
    /// One property of the store contract.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        /// Sequences start at 1 and strictly increase; each entry echoes what was revoked.
        case sequencesIncrease
        /// Every target kind and reason is stored and returned intact.
        case targetsAndReasonsRoundTrip
        /// Repeating a revocation returns the same entry; longer coverage or another reason appends.
        case revokeIsIdempotent
        /// `entries(after:limit:)` pages in sequence order and respects the limit.
        case feedPagesInOrder
        /// Bad arguments are rejected with typed errors.
        case rejectsBadArguments
        /// Pruning removes only entries whose coverage ended, and never lowers the latest sequence.
        case pruneRemovesOnlyExpired
        /// Per verifier, the latest report (by time) wins; removed verifiers disappear.
        case watermarksKeepLatestReport
        /// A revocation is proven only once every registered and expected verifier has applied it.
        case proofNeedsEveryVerifier
        /// Concurrent revocations all get distinct sequences and all appear in the feed.
        case concurrentRevocations

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

    /// Creates the suite.
    ///
    /// - Parameter makeStore: returns a new, empty store each time it is called.
    public init(makeStore: @escaping @Sendable () async throws -> any RevocationStore) {
        self.makeStore = makeStore
    }

    /// Runs every check, stopping at the first failure.
    public func runAll() async throws {
        for check in Check.allCases { try await run(check) }
    }

    /// Runs one check against a fresh store.
    ///
    /// - Throws: ``Failure`` when the store breaks the contract, or whatever the store throws unexpectedly.
    public func run(_ check: Check) async throws {
        let store = try await makeStore()
        var context = Context(check: check, store: store)
        switch check {
        case .sequencesIncrease: try await context.sequencesIncrease()
        case .targetsAndReasonsRoundTrip: try await context.targetsAndReasonsRoundTrip()
        case .revokeIsIdempotent: try await context.revokeIsIdempotent()
        case .feedPagesInOrder: try await context.feedPagesInOrder()
        case .rejectsBadArguments: try await context.rejectsBadArguments()
        case .pruneRemovesOnlyExpired: try await context.pruneRemovesOnlyExpired()
        case .watermarksKeepLatestReport: try await context.watermarksKeepLatestReport()
        case .proofNeedsEveryVerifier: try await context.proofNeedsEveryVerifier()
        case .concurrentRevocations: try await context.concurrentRevocations()
        }
    }
}

extension RevocationStoreConformance {
    private struct Context {
        let check: Check
        let store: any RevocationStore
        let start = Timestamp(secondsSinceEpoch: 1_767_225_600)
        var counter: UInt64 = 0

        init(check: Check, store: any RevocationStore) {
            self.check = check
            self.store = store
        }

        func expect(_ condition: Bool, _ detail: @autoclosure () -> String) throws {
            if !condition { throw Failure(check: check, detail: detail()) }
        }

        func expectError(_ code: RevocationError.Code, _ what: String, _ body: () async throws -> Void) async throws {
            do {
                try await body()
            } catch let error as RevocationError {
                try expect(error.code == code, "\(what): expected \(code), got \(error.code)")
                return
            }
            throw Failure(check: check, detail: "\(what): expected error \(code), but it succeeded")
        }

        mutating func nextBlock() -> RevocationTarget {
            counter += 1
            return .block(RevocationID(high: 0xA5A5_0000_0000_0000 | counter, low: counter &* 0x9E37_79B9_7F4A_7C15))
        }

        func time(_ seconds: Int64) -> Timestamp { start.advanced(by: .seconds(seconds)) }

        func allEntries() async throws -> [RevocationEntry] {
            var result: [RevocationEntry] = []
            while true {
                let page = try await store.entries(after: result.last?.sequence ?? 0, limit: 7)
                result += page
                if page.count < 7 { return result }
            }
        }

        mutating func sequencesIncrease() async throws {
            try expect(try await store.latestSequence() == 0, "a new store's latest sequence must be 0")
            var previous: UInt64 = 0
            for i in 0..<20 {
                let target = nextBlock()
                let entry = try await store.revoke(target, reason: .manual, at: time(Int64(i)), coversUntil: time(600))
                try expect(entry.sequence > previous, "sequence \(entry.sequence) does not follow \(previous)")
                try expect(previous != 0 || entry.sequence == 1, "first sequence is \(entry.sequence), not 1")
                try expect(entry.target == target && entry.reason == .manual, "entry does not echo the revocation")
                try expect(entry.revokedAt == time(Int64(i)) && entry.coversUntil == time(600), "times not echoed")
                previous = entry.sequence
            }
            try expect(try await store.latestSequence() == previous, "latest sequence is not the last assigned")
        }

        mutating func targetsAndReasonsRoundTrip() async throws {
            let key = try KeyID(bytes: [1, 2, 3, 4, 5, 6, 7, 0xFF])
            let targets: [RevocationTarget] = [
                nextBlock(), .block(RevocationID(high: 0, low: 0)), .block(RevocationID(high: .max, low: .max)),
                .task("task-Ω-42"), .agent("spiffe://example.org/agent/planner/7"), .issuerKey(key),
            ]
            var written: [RevocationEntry] = []
            for (i, target) in targets.enumerated() {
                let reason = RevocationReason.allCases[i % RevocationReason.allCases.count]
                written.append(try await store.revoke(target, reason: reason, at: time(1), coversUntil: time(60)))
            }
            for reason in RevocationReason.allCases {
                written.append(try await store.revoke(nextBlock(), reason: reason, at: time(2), coversUntil: time(61)))
            }
            let read = try await allEntries()
            try expect(
                read == written,
                "feed returned \(read.count) entries that differ from the \(written.count) written"
            )
        }

        mutating func revokeIsIdempotent() async throws {
            let task = RevocationTarget.task("t-1")
            let first = try await store.revoke(task, reason: .completed, at: time(0), coversUntil: time(100))
            let again = try await store.revoke(task, reason: .completed, at: time(5), coversUntil: time(90))
            try expect(again == first, "a repeated revocation covering no longer must return the first entry")
            let longer = try await store.revoke(task, reason: .completed, at: time(6), coversUntil: time(200))
            try expect(longer.sequence > first.sequence, "a revocation covering longer must be appended")
            let other = try await store.revoke(task, reason: .anomaly, at: time(7), coversUntil: time(50))
            try expect(other.sequence > longer.sequence, "a revocation with another reason must be appended")
            let feed = try await allEntries()
            try expect(feed.map(\.sequence) == [first.sequence, longer.sequence, other.sequence], "feed: \(feed)")
        }

        mutating func feedPagesInOrder() async throws {
            var written: [RevocationEntry] = []
            for i in 0..<25 {
                written.append(
                    try await store.revoke(nextBlock(), reason: .timeout, at: time(Int64(i)), coversUntil: time(900))
                )
            }
            let page = try await store.entries(after: 0, limit: 10)
            try expect(page == Array(written.prefix(10)), "first page of 10 is wrong")
            let middle = try await store.entries(after: written[9].sequence, limit: 10)
            try expect(middle == Array(written[10..<20]), "page after sequence \(written[9].sequence) is wrong")
            let tail = try await store.entries(after: written[19].sequence, limit: 100)
            try expect(tail == Array(written[20...]), "last page is wrong")
            let none = try await store.entries(after: written[24].sequence, limit: 5)
            try expect(none.isEmpty, "entries after the latest must be empty")
            let beyond = try await store.entries(after: .max, limit: 5)
            try expect(beyond.isEmpty, "entries after UInt64.max must be empty")
        }

        func rejectsBadArguments() async throws {
            try await expectError(.invalidArgument, "limit 0") { _ = try await store.entries(after: 0, limit: 0) }
            try await expectError(.invalidArgument, "negative limit") {
                _ = try await store.entries(after: 0, limit: -1)
            }
            try await expectError(.invalidTarget, "empty task") {
                _ = try await store.revoke(.task(""), reason: .manual, at: time(0), coversUntil: time(1))
            }
            let long = String(repeating: "a", count: RevocationTarget.maximumNameByteCount + 1)
            try await expectError(.invalidTarget, "oversized agent") {
                _ = try await store.revoke(.agent(long), reason: .manual, at: time(0), coversUntil: time(1))
            }
            try await expectError(.invalidArgument, "empty verifier") {
                try await store.recordWatermark(verifier: "", sequence: 1, at: time(0))
            }
            try expect(try await store.latestSequence() == 0, "a rejected revocation must not use a sequence")
        }

        mutating func pruneRemovesOnlyExpired() async throws {
            let early = try await store.revoke(nextBlock(), reason: .completed, at: time(0), coversUntil: time(10))
            let late = try await store.revoke(nextBlock(), reason: .completed, at: time(1), coversUntil: time(100))
            let edge = try await store.revoke(nextBlock(), reason: .completed, at: time(2), coversUntil: time(50))
            let removed = try await store.prune(expiredBefore: time(50))
            try expect(removed == 1, "prune at t+50 removed \(removed), expected 1 (coversUntil t+10 only)")
            let remaining = try await allEntries()
            try expect(remaining == [late, edge], "after pruning, feed holds \(remaining.map(\.sequence))")
            try expect(try await store.latestSequence() == edge.sequence, "pruning lowered the latest sequence")
            _ = try await store.prune(expiredBefore: time(1000))
            try expect(try await allEntries().isEmpty, "prune after every coverage ended left entries")
            let next = try await store.revoke(nextBlock(), reason: .manual, at: time(3), coversUntil: time(1))
            try expect(next.sequence > edge.sequence && next.sequence > early.sequence, "sequence reused after prune")
        }

        func watermarksKeepLatestReport() async throws {
            try await store.recordWatermark(verifier: "svc-a", sequence: 5, at: time(10))
            try await store.recordWatermark(verifier: "svc-b", sequence: 3, at: time(10))
            try await store.recordWatermark(verifier: "svc-a", sequence: 4, at: time(9))  // late, older report
            var marks = try await store.watermarks()
            try expect(marks.map(\.verifier) == ["svc-a", "svc-b"], "verifiers not sorted by name: \(marks)")
            try expect(marks[0].sequence == 5 && marks[0].recordedAt == time(10), "an older report overwrote svc-a")
            try await store.recordWatermark(verifier: "svc-a", sequence: 1, at: time(20))  // restarted
            marks = try await store.watermarks()
            try expect(marks[0].sequence == 1, "a newer report (restart) must replace the watermark, got \(marks[0])")
            try await store.removeVerifier("svc-a")
            marks = try await store.watermarks()
            try expect(marks.map(\.verifier) == ["svc-b"], "removed verifier still listed: \(marks)")
        }

        mutating func proofNeedsEveryVerifier() async throws {
            let entry = try await store.revoke(nextBlock(), reason: .anomaly, at: time(0), coversUntil: time(60))
            try expect(!(try await store.isApplied(sequence: entry.sequence)), "proven with no verifier registered")
            try await store.recordWatermark(verifier: "gw-1", sequence: entry.sequence, at: time(1))
            try await store.recordWatermark(verifier: "gw-2", sequence: entry.sequence - 1, at: time(1))
            var proof = try await store.revocationProof(for: entry.sequence)
            try expect(
                !proof.isComplete && proof.laggards.map(\.verifier) == ["gw-2"],
                "laggard not reported: \(proof)"
            )
            try await store.recordWatermark(verifier: "gw-2", sequence: entry.sequence + 3, at: time(2))
            try expect(try await store.isApplied(sequence: entry.sequence), "not proven after every verifier applied")
            proof = try await store.revocationProof(for: entry.sequence, expecting: ["gw-1", "gw-3"])
            try expect(!proof.isComplete && proof.unregistered == ["gw-3"], "expected verifier not reported: \(proof)")
            try expect(!(try await store.isApplied(sequence: entry.sequence + 10)), "a future sequence was proven")
        }

        func concurrentRevocations() async throws {
            let store = self.store
            let start = self.start
            let entries = try await withThrowingTaskGroup(of: RevocationEntry.self) { group in
                for i in 0..<64 {
                    group.addTask {
                        try await store.revoke(
                            .block(RevocationID(high: 7, low: UInt64(i))),
                            reason: .manual,
                            at: start,
                            coversUntil: start.advanced(by: .seconds(60))
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try expect(Set(entries.map(\.sequence)).count == 64, "concurrent revocations shared a sequence")
            let feed = try await allEntries()
            try expect(feed.count == 64, "feed holds \(feed.count) of 64 concurrent revocations")
            try expect(zip(feed, feed.dropFirst()).allSatisfy { $0.sequence < $1.sequence }, "feed out of order")
        }
    }
}
