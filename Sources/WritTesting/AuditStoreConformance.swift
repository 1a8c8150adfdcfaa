public import WritAudit
import WritCrypto

/// The contract every ``AuditStore`` implementation must keep, as runnable checks — including what two handles on
/// one backing store (two processes) must agree on — in the manner of swift-configuration's `ProviderCompatTest`.
///
/// ```swift
/// @Test("the store keeps the contract", arguments: AuditStoreConformance.Check.allCases)
/// func conformance(_ check: AuditStoreConformance.Check) async throws {
///     try await AuditStoreConformance(
///         makeStore: { InMemoryAuditStore() },
///         reopen: { $0 },
///         openPeer: { $0 }
///     ).run(check)
/// }
/// ```
///
/// `reopen` closes the handle and opens the same backing data again, as a restarted process would; `openPeer`
/// opens a second handle on the same backing data while the first stays open, as a second process would (for an
/// in-memory store both return the same instance). A peer may refuse every append (a file store admits one
/// writer; its other handles are read-only): the contract is that an append at a stale `firstIndex`, through any
/// handle, fails with ``AuditError/Code/conflict`` and never interleaves. A failed check throws ``Failure`` naming
/// the check and what was wrong. The suite needs no test framework.
public struct AuditStoreConformance: Sendable {
    /// One property of the store contract.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        /// A new store is empty: no entries, no checkpoint, no frontier.
        case emptyStore
        /// Batches read back as appended, in order, across batch boundaries.
        case appendAndReadBack
        /// An append leaving a gap, overwriting an entry, or with a checkpoint or frontier of the wrong size fails
        /// with `conflict` and changes nothing.
        case rejectsGapsOverlapsAndWrongSizes
        /// A read beyond the end fails with `outOfRange`.
        case rejectsReadsBeyondEnd
        /// A 64 KiB entry round-trips.
        case largeEntries
        /// The latest batch's checkpoint and frontier are kept, and replaced by the next batch's.
        case keepsCheckpointAndFrontier
        /// A reopened store returns every acknowledged entry, its latest checkpoint and frontier, and appending
        /// continues after them.
        case reopenKeepsEverything
        /// A second handle sees the first's batches, in order, with their checkpoint and frontier.
        case peerSeesAppendsInOrder
        /// A second handle's append at a stale `firstIndex` fails with `conflict`; neither handle's entries change.
        case staleAppendConflictsAcrossHandles
        /// Two handles racing to append at the same index: exactly one wins, the other gets `conflict`, and the
        /// stored entries are the winners' in order.
        case racingAppendsNeverInterleave
        /// A log over the store: 64 concurrent records verify; a reopened log has the same root and continues.
        case logOverStore
        /// A second log on a peer handle cannot append behind the first's back: its append fails with `conflict`,
        /// the stored log stays one verified chain, and the first log continues.
        case secondLogConflicts

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

    private let makeStore: @Sendable () async throws -> any AuditStore
    private let reopen: @Sendable (any AuditStore) async throws -> any AuditStore
    private let openPeer: @Sendable (any AuditStore) async throws -> any AuditStore

    /// Creates the suite.
    ///
    /// - Parameters:
    ///   - makeStore: returns a new, empty store each time it is called.
    ///   - reopen: closes the handle and opens its backing data again (a restart).
    ///   - openPeer: opens another handle on the same backing data (another process).
    public init(
        makeStore: @escaping @Sendable () async throws -> any AuditStore,
        reopen: @escaping @Sendable (any AuditStore) async throws -> any AuditStore,
        openPeer: @escaping @Sendable (any AuditStore) async throws -> any AuditStore
    ) {
        self.makeStore = makeStore
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
        let c = Context(check: check, suite: self)
        let store = try await makeStore()
        switch check {
        case .emptyStore: try await c.emptyStore(store)
        case .appendAndReadBack: try await c.appendAndReadBack(store)
        case .rejectsGapsOverlapsAndWrongSizes: try await c.rejectsGapsOverlapsAndWrongSizes(store)
        case .rejectsReadsBeyondEnd: try await c.rejectsReadsBeyondEnd(store)
        case .largeEntries: try await c.largeEntries(store)
        case .keepsCheckpointAndFrontier: try await c.keepsCheckpointAndFrontier(store)
        case .reopenKeepsEverything: try await c.reopenKeepsEverything(store)
        case .peerSeesAppendsInOrder: try await c.peerSeesAppendsInOrder(store)
        case .staleAppendConflictsAcrossHandles: try await c.staleAppendConflictsAcrossHandles(store)
        case .racingAppendsNeverInterleave: try await c.racingAppendsNeverInterleave(store)
        case .logOverStore: try await c.logOverStore(store)
        case .secondLogConflicts: try await c.secondLogConflicts(store)
        }
    }

    static func entry(_ i: Int, size: Int = 40) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
    }

    static let key = Ed25519.PrivateKey()

    /// A signed checkpoint of `size` (over a made-up root: stores do not interpret entries).
    static func checkpoint(_ size: UInt64, tag: UInt8 = 0) throws -> SignedCheckpoint {
        let body = try LogCheckpoint(origin: "conformance", size: size, rootHash: [UInt8](repeating: tag, count: 32))
        return SignedCheckpoint.sign(body, name: "conformance", key: key)
    }

    /// A frontier of `size` (over made-up hashes: stores do not interpret it).
    static func frontier(_ size: UInt64, tag: UInt8 = 0) throws -> AuditFrontier {
        try AuditFrontier(
            size: size,
            lastLeafHash: [UInt8](repeating: tag, count: 32),
            hashes: Array(repeating: [UInt8](repeating: tag &+ 1, count: 32), count: (size - 1).nonzeroBitCount)
        )
    }
}

extension AuditStoreConformance {
    private struct Context {
        let check: Check
        let suite: AuditStoreConformance

        func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
            if !condition { throw Failure(check: check, detail: what()) }
        }

        func expectError(_ code: AuditError.Code, _ what: String, _ body: () async throws -> Void) async throws {
            do {
                try await body()
            } catch let error as AuditError {
                try expect(error.code == code, "\(what): expected \(code), got \(error)")
                return
            }
            throw Failure(check: check, detail: "\(what): expected \(code), but it succeeded")
        }

        /// Appends `entries` at `first` with their checkpoint and frontier (tagged, to tell batches apart).
        func append(_ store: any AuditStore, _ entries: [[UInt8]], at first: UInt64, tag: UInt8 = 0) async throws {
            let end = first + UInt64(entries.count)
            try await store.append(
                entries,
                firstIndex: first,
                checkpoint: try AuditStoreConformance.checkpoint(end, tag: tag),
                frontier: try AuditStoreConformance.frontier(end, tag: tag)
            )
        }

        /// Checks that `store` holds exactly `entries` and the checkpoint and frontier of the last batch.
        func expectHolds(_ store: any AuditStore, _ entries: [[UInt8]], tag: UInt8 = 0, _ who: String) async throws {
            let n = UInt64(entries.count)
            let count = try await store.count()
            try expect(count == n, "\(who): count is \(count), not \(n)")
            try expect(try await store.read(0..<n) == entries, "\(who): entries differ from those appended")
            if n > 0 {
                try expect(
                    try await store.latestCheckpoint() == (try AuditStoreConformance.checkpoint(n, tag: tag)),
                    "\(who): the latest checkpoint is not the last batch's"
                )
                try expect(
                    try await store.latestFrontier() == (try AuditStoreConformance.frontier(n, tag: tag)),
                    "\(who): the latest frontier is not the last batch's"
                )
            }
        }

        func emptyStore(_ store: any AuditStore) async throws {
            try expect(try await store.count() == 0, "a new store is empty")
            try expect(try await store.read(0..<0).isEmpty, "reading an empty range returns nothing")
            try expect(try await store.latestCheckpoint() == nil, "a new store holds no checkpoint")
            try expect(try await store.latestFrontier() == nil, "a new store holds no frontier")
        }

        func appendAndReadBack(_ store: any AuditStore) async throws {
            let entries = (0..<25).map { AuditStoreConformance.entry($0, size: 1 + $0 * 7) }
            try await append(store, Array(entries[0..<1]), at: 0)
            try await append(store, Array(entries[1..<10]), at: 1)
            try await append(store, Array(entries[10...]), at: 10)
            try await expectHolds(store, entries, "after three batches")
            try expect(try await store.read(7..<13) == Array(entries[7..<13]), "a range across batches")
            try expect(try await store.readAll() == entries, "readAll")
        }

        func rejectsGapsOverlapsAndWrongSizes(_ store: any AuditStore) async throws {
            let two = [AuditStoreConformance.entry(0), AuditStoreConformance.entry(1)]
            try await append(store, two, at: 0)
            try await expectError(.conflict, "append leaving a gap") {
                try await append(store, [AuditStoreConformance.entry(5)], at: 5)
            }
            try await expectError(.conflict, "append overwriting entry 1") {
                try await append(store, [AuditStoreConformance.entry(9)], at: 1)
            }
            try await expectError(.conflict, "append with a checkpoint of the wrong size") {
                try await store.append(
                    [AuditStoreConformance.entry(2)],
                    firstIndex: 2,
                    checkpoint: try AuditStoreConformance.checkpoint(2),
                    frontier: try AuditStoreConformance.frontier(3)
                )
            }
            try await expectError(.conflict, "append with a frontier of the wrong size") {
                try await store.append(
                    [AuditStoreConformance.entry(2)],
                    firstIndex: 2,
                    checkpoint: try AuditStoreConformance.checkpoint(3),
                    frontier: try AuditStoreConformance.frontier(2)
                )
            }
            try await expectHolds(store, two, "rejected appends change nothing")
        }

        func rejectsReadsBeyondEnd(_ store: any AuditStore) async throws {
            try await append(store, [AuditStoreConformance.entry(0)], at: 0)
            try await expectError(.outOfRange, "read beyond the end") { _ = try await store.read(0..<2) }
        }

        func largeEntries(_ store: any AuditStore) async throws {
            let big = AuditStoreConformance.entry(3, size: 65_536)
            let entries = [big, AuditStoreConformance.entry(4, size: 1)]
            try await append(store, entries, at: 0)
            try expect(try await store.read(0..<2) == entries, "a 64 KiB entry round-trips")
        }

        func keepsCheckpointAndFrontier(_ store: any AuditStore) async throws {
            try await append(store, [AuditStoreConformance.entry(0)], at: 0, tag: 1)
            try await expectHolds(store, [AuditStoreConformance.entry(0)], tag: 1, "the batch's checkpoint is kept")
            let three = (0..<3).map { AuditStoreConformance.entry($0) }
            try await append(store, Array(three[1...]), at: 1, tag: 2)
            try await expectHolds(store, three, tag: 2, "the latest batch's checkpoint and frontier win")
        }

        func reopenKeepsEverything(_ store: any AuditStore) async throws {
            let entries = (0..<25).map { AuditStoreConformance.entry($0, size: 1 + $0 * 7) }
            try await append(store, Array(entries[0..<1]), at: 0)
            try await append(store, Array(entries[1..<10]), at: 1)
            try await append(store, Array(entries[10...]), at: 10, tag: 7)
            let reopened = try await suite.reopen(store)
            try await expectHolds(reopened, entries, tag: 7, "after reopening")
            try await append(reopened, [AuditStoreConformance.entry(99)], at: 25)
            try await expectHolds(reopened, entries + [AuditStoreConformance.entry(99)], "append after reopening")
            let again = try await suite.reopen(reopened)
            try await expectHolds(again, entries + [AuditStoreConformance.entry(99)], "after reopening twice")
        }

        func peerSeesAppendsInOrder(_ store: any AuditStore) async throws {
            let early = try await suite.openPeer(store)
            var all: [[UInt8]] = []
            for (batch, size) in [1, 9, 15].enumerated() {
                let entries = (all.count..<all.count + size).map { AuditStoreConformance.entry($0) }
                try await append(store, entries, at: UInt64(all.count), tag: UInt8(batch))
                all += entries
                try await expectHolds(early, all, tag: UInt8(batch), "a peer opened before, after batch \(batch)")
            }
            let late = try await suite.openPeer(store)
            try await expectHolds(late, all, tag: 2, "a peer opened after")
        }

        func staleAppendConflictsAcrossHandles(_ store: any AuditStore) async throws {
            let e = (0..<6).map { AuditStoreConformance.entry($0) }
            try await append(store, [e[0], e[1]], at: 0)
            let peer = try await suite.openPeer(store)
            try await append(store, [e[2]], at: 2)
            try await expectError(.conflict, "a peer's append at stale index 2") {
                try await append(peer, [e[5]], at: 2, tag: 9)
            }
            try await expectError(.conflict, "a peer's append at stale index 0") {
                try await append(peer, [e[5]], at: 0, tag: 9)
            }
            try await expectHolds(store, Array(e[0..<3]), "the first handle, after the peer's stale appends")
            try await expectHolds(peer, Array(e[0..<3]), "the peer, after its stale appends")
            // At the current end a peer may append (then the first handle is stale) or refuse (a read-only peer).
            do {
                try await append(peer, [e[3]], at: 3, tag: 3)
                try await expectHolds(store, Array(e[0..<4]), tag: 3, "the first handle sees the peer's append")
                try await expectError(.conflict, "the first handle's append at stale index 3") {
                    try await append(store, [e[4]], at: 3)
                }
            } catch let error as AuditError where error.code == .conflict {
                try await append(store, [e[3]], at: 3, tag: 3)
            }
            try await expectHolds(peer, Array(e[0..<4]), tag: 3, "both handles agree")
        }

        func racingAppendsNeverInterleave(_ store: any AuditStore) async throws {
            let peer = try await suite.openPeer(store)
            var winners: [[UInt8]] = []
            for round in 0..<16 {
                let index = UInt64(round)
                let mine = AuditStoreConformance.entry(1_000 + round)
                let theirs = AuditStoreConformance.entry(2_000 + round)
                async let first = outcome { try await append(store, [mine], at: index, tag: 1) }
                async let second = outcome { try await append(peer, [theirs], at: index, tag: 2) }
                let (a, b) = try await (first, second)
                try expect(a != b, "round \(round): exactly one racing append must win (first won: \(a), peer: \(b))")
                winners.append(a ? mine : theirs)
                try await expectHolds(store, winners, tag: a ? 1 : 2, "round \(round), first handle")
                try await expectHolds(peer, winners, tag: a ? 1 : 2, "round \(round), peer")
            }
        }

        /// `true` when `body` succeeded, `false` when it failed with `conflict`.
        func outcome(_ body: () async throws -> Void) async throws -> Bool {
            do {
                try await body()
                return true
            } catch let error as AuditError where error.code == .conflict {
                return false
            }
        }

        func logOverStore(_ store: any AuditStore) async throws {
            let key = Ed25519.PrivateKey()
            let keys = AuditKeyring(logKey: key.publicKey, name: "conformance")
            let log = try await AuditLog.open(store: store, service: "conformance", signingKey: key, salt: AuditSalt())
            let indices = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for i in 0..<64 {
                    group.addTask { try await log.record(AuditEvent(.used, task: "t\(i % 4)", tokenID: "tok-\(i)")) }
                }
                var all: Set<UInt64> = []
                for try await index in group { all.insert(index) }
                return all
            }
            try expect(indices == Set(0..<64), "64 concurrent records get indices 0..<64")
            let report = try await AuditVerifier.verify(store: store, keys: keys)
            try expect(report.isVerified, "a log over the store verifies with its stored checkpoint: \(report)")
            let root = try log.root()
            let reopened = try await suite.reopen(store)
            let again = try await AuditLog.open(
                store: reopened,
                service: "conformance",
                signingKey: key,
                salt: AuditSalt()
            )
            try expect(try again.root() == root, "a reopened log has the same root")
            try expect(try await again.record(AuditEvent(.taskClosed)) == 64, "appending continues after reopening")
            let after = try await AuditVerifier.verify(store: reopened, keys: keys)
            try expect(after.isVerified, "the continued log verifies: \(after)")
        }

        func secondLogConflicts(_ store: any AuditStore) async throws {
            let key = Ed25519.PrivateKey()
            let keys = AuditKeyring(logKey: key.publicKey, name: "conformance")
            let first = try await AuditLog.open(
                store: store,
                service: "conformance",
                signingKey: key,
                salt: AuditSalt()
            )
            for i in 0..<10 { _ = try await first.record(AuditEvent(.used, tokenID: "first-\(i)")) }
            let peer = try await suite.openPeer(store)
            let second = try await AuditLog.open(
                store: peer,
                service: "conformance",
                signingKey: key,
                salt: AuditSalt()
            )
            for i in 10..<15 { _ = try await first.record(AuditEvent(.used, tokenID: "first-\(i)")) }
            try await expectError(.conflict, "the second log's append behind the first's back") {
                _ = try await second.record(AuditEvent(.used, tokenID: "second"))
            }
            try expect(
                try await first.record(AuditEvent(.used, tokenID: "first-15")) == 15,
                "the first log continues"
            )
            let tokens = try await store.readAll().map { try AuditEntry(decoding: $0).event.tokenID }
            try expect(tokens == (0..<16).map { "first-\($0)" }, "the stored log is the first log's only: \(tokens)")
            let report = try await AuditVerifier.verify(store: peer, keys: keys)
            try expect(report.isVerified, "the stored log is one verified chain: \(report)")
        }
    }
}
