import Synchronization

/// An ``AuditStore`` in memory: for tests and short-lived hosts. Nothing survives the process.
public final class InMemoryAuditStore: AuditStore {
    private let state = Mutex<(entries: [[UInt8]], checkpoint: SignedCheckpoint?, frontier: AuditFrontier?)>(
        ([], nil, nil)
    )

    /// Creates an empty store.
    public init() {}

    public func count() async throws -> UInt64 { UInt64(state.withLock { $0.entries.count }) }

    public func append(
        _ batch: [[UInt8]],
        firstIndex: UInt64,
        checkpoint: SignedCheckpoint,
        frontier: AuditFrontier
    ) async throws {
        guard !batch.isEmpty else { return }
        try state.withLock { state in
            guard firstIndex == UInt64(state.entries.count) else {
                throw AuditError(
                    .conflict,
                    "append at \(firstIndex) but the store holds \(state.entries.count) entries"
                )
            }
            try checkpoint.checkStored(size: firstIndex + UInt64(batch.count), frontier: frontier)
            state.entries.append(contentsOf: batch)
            state.checkpoint = checkpoint
            state.frontier = frontier
        }
    }

    public func read(_ range: Range<UInt64>) async throws -> [[UInt8]] {
        try state.withLock { state in
            guard range.upperBound <= UInt64(state.entries.count) else {
                throw AuditError(
                    .outOfRange,
                    "read up to \(range.upperBound) but the store holds \(state.entries.count)"
                )
            }
            return Array(state.entries[Int(range.lowerBound)..<Int(range.upperBound)])
        }
    }

    public func latestCheckpoint() async throws -> SignedCheckpoint? { state.withLock { $0.checkpoint } }

    public func latestFrontier() async throws -> AuditFrontier? { state.withLock { $0.frontier } }

    /// Replaces the stored bytes of one entry — for tamper tests only.
    package func tamper(at index: Int, with bytes: [UInt8]) {
        state.withLock { $0.entries[index] = bytes }
    }
}
