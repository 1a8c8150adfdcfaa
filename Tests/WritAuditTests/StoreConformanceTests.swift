import Foundation
import Synchronization
import Testing
import WritAudit
import WritTesting

@Suite("Audit store conformance")
struct StoreConformanceTests {
    @Test("the in-memory store keeps the contract", arguments: AuditStoreConformance.Check.allCases)
    func inMemory(_ check: AuditStoreConformance.Check) async throws {
        try await AuditStoreConformance(
            makeStore: { InMemoryAuditStore() },
            reopen: { $0 },
            openPeer: { $0 }
        ).run(check)
    }

    @Test(
        "the file store keeps the contract (reopen; a read-only peer)",
        arguments: AuditStoreConformance.Check.allCases
    )
    func file(_ check: AuditStoreConformance.Check) async throws {
        let directory = try TemporaryDirectory()
        let counter = Counter()
        try await AuditStoreConformance(
            makeStore: { try FileAuditStore.open(path: directory.path("log-\(counter.next()).writ")) },
            reopen: { store in
                let file = try #require(store as? FileAuditStore)
                file.close()
                return try FileAuditStore.open(path: file.path)
            },
            openPeer: { store in
                try FileAuditStore.open(path: try #require(store as? FileAuditStore).path, access: .readOnly)
            }
        ).run(check)
    }

    // MARK: The suite fails against broken stores

    /// An in-memory store with one flaw.
    final class FlawedStore: AuditStore {
        enum Flaw: String, CaseIterable, Sendable {
            /// Accepts an append at a stale index, writing over what was there.
            case acceptsStaleIndex
            /// Keeps no frontier.
            case dropsFrontier
            /// A peer handle is a snapshot that never sees later appends.
            case peerIsSnapshot
            /// Reopening loses the last batch.
            case reopenLosesLastBatch
        }

        let flaw: Flaw
        struct State {
            var entries: [[UInt8]] = []
            var checkpoint: SignedCheckpoint?
            var frontier: AuditFrontier?
            var batches: [Int] = []
        }
        let state: Mutex<State>

        init(_ flaw: Flaw, copying other: FlawedStore? = nil, droppingLastBatch: Bool = false) {
            self.flaw = flaw
            var copy = other?.state.withLock { $0 } ?? State()
            if droppingLastBatch, let last = copy.batches.popLast() {
                copy.entries.removeLast(last)
                copy.checkpoint = nil
                copy.frontier = nil
            }
            state = Mutex(copy)
        }

        func count() async throws -> UInt64 { UInt64(state.withLock { $0.entries.count }) }

        func append(
            _ entries: [[UInt8]],
            firstIndex: UInt64,
            checkpoint: SignedCheckpoint,
            frontier: AuditFrontier
        ) async throws {
            try state.withLock { s in
                let count = UInt64(s.entries.count)
                let stale = flaw == .acceptsStaleIndex && firstIndex < count
                guard firstIndex == count || stale else {
                    throw AuditError(.conflict, "append at \(firstIndex) but the store holds \(count)")
                }
                guard checkpoint.checkpoint.size == firstIndex + UInt64(entries.count),
                    frontier.size == checkpoint.checkpoint.size
                else { throw AuditError(.conflict, "wrong checkpoint or frontier size") }
                if stale { s.entries.removeLast(Int(count - firstIndex)) }
                s.entries += entries
                s.batches.append(entries.count)
                s.checkpoint = checkpoint
                s.frontier = flaw == .dropsFrontier ? nil : frontier
            }
        }

        func read(_ range: Range<UInt64>) async throws -> [[UInt8]] {
            try state.withLock { s in
                guard range.upperBound <= UInt64(s.entries.count) else { throw AuditError(.outOfRange, "beyond") }
                return Array(s.entries[Int(range.lowerBound)..<Int(range.upperBound)])
            }
        }

        func latestCheckpoint() async throws -> SignedCheckpoint? { state.withLock { $0.checkpoint } }
        func latestFrontier() async throws -> AuditFrontier? { state.withLock { $0.frontier } }
    }

    @Test("the suite fails against a broken store, naming the check", arguments: FlawedStore.Flaw.allCases)
    func catchesFlaw(_ flaw: FlawedStore.Flaw) async throws {
        let suite = AuditStoreConformance(
            makeStore: { FlawedStore(flaw) },
            reopen: { store in
                let flawed = try #require(store as? FlawedStore)
                return flaw == .reopenLosesLastBatch
                    ? FlawedStore(flaw, copying: flawed, droppingLastBatch: true) : store
            },
            openPeer: { store in
                flaw == .peerIsSnapshot ? FlawedStore(flaw, copying: try #require(store as? FlawedStore)) : store
            }
        )
        var failed: [AuditStoreConformance.Check] = []
        for check in AuditStoreConformance.Check.allCases {
            do {
                try await suite.run(check)
            } catch let failure as AuditStoreConformance.Failure {
                failed.append(failure.check)
            } catch {
                failed.append(check)  // an unexpected error also fails the check
            }
        }
        let expected: Set<AuditStoreConformance.Check> =
            switch flaw {
            case .acceptsStaleIndex: [.rejectsGapsOverlapsAndWrongSizes, .staleAppendConflictsAcrossHandles]
            case .dropsFrontier: [.keepsCheckpointAndFrontier]
            case .peerIsSnapshot: [.peerSeesAppendsInOrder]
            case .reopenLosesLastBatch: [.reopenKeepsEverything]
            }
        #expect(expected.isSubset(of: Set(failed)), "\(flaw): failed \(failed)")
    }
}
