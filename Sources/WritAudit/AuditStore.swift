/// Where an audit log keeps its entries: an append-only sequence of canonical entry bytes, each batch stored
/// together with the signed checkpoint that covers it.
///
/// A store does not interpret entries; the ``AuditLog`` chains and hashes them, signs one checkpoint per batch,
/// and the ``AuditVerifier`` checks them. Every implementation runs the shared conformance suite in `WritTesting`
/// (`AuditStoreConformance`). Implementations: ``InMemoryAuditStore`` (tests, short-lived hosts) and
/// ``FileAuditStore`` (append-only file with group commit).
///
/// There is no unsigned append: a store receives the batch's checkpoint with the batch and must make both durable
/// together (in one write and one sync, or one transaction), so that every entry a caller was told is durable is
/// also covered by a signature. With them comes the tree's ``AuditFrontier``, which the store keeps with the
/// checkpoint so that the log reopens in O(log n) (``latestFrontier()``) instead of re-reading every entry.
///
/// One writer per log: an append must continue the store exactly where it ends, as seen by every handle on the
/// same backing data. A second handle (another process) appending at a stale `firstIndex` fails with
/// ``AuditError/Code/conflict``; it never interleaves its entries with the first handle's.
public protocol AuditStore: Sendable {
    /// Number of entries held.
    func count() async throws -> UInt64

    /// Appends `entries` as indices `firstIndex ..< firstIndex + entries.count` together with `checkpoint`, the
    /// log's signed checkpoint of the first `firstIndex + entries.count` entries, and `frontier`, the tree's
    /// frontier at that size, returning only once all three are durable.
    ///
    /// The log calls this from one flusher at a time, in index order, with as many entries as have queued up
    /// (group commit), so a store should make the whole batch and its checkpoint durable with one sync.
    ///
    /// - Throws: ``AuditError/Code/conflict`` when `firstIndex` is not the store's count (on any handle), or the
    ///   checkpoint's or frontier's size is not the count after the batch; ``AuditError/Code/storeFailure`` when
    ///   the batch could not be made durable.
    func append(
        _ entries: [[UInt8]],
        firstIndex: UInt64,
        checkpoint: SignedCheckpoint,
        frontier: AuditFrontier
    ) async throws

    /// The entries at `range`, as appended.
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` when the range goes beyond ``count()``.
    func read(_ range: Range<UInt64>) async throws -> [[UInt8]]

    /// The checkpoint stored with the latest batch, or `nil` when nothing was appended.
    func latestCheckpoint() async throws -> SignedCheckpoint?

    /// The frontier stored with the latest batch, or `nil` when nothing was appended (or the store's data predates
    /// frontiers, in which case the log re-reads every entry when it opens).
    func latestFrontier() async throws -> AuditFrontier?
}

extension AuditStore {
    /// Every entry, in order (reads in chunks).
    public func readAll() async throws -> [[UInt8]] {
        let total = try await count()
        var out: [[UInt8]] = []
        out.reserveCapacity(Int(clamping: min(total, 1 << 20)))
        var start: UInt64 = 0
        while start < total {
            let end = start + min(65_536, total - start)
            out.append(contentsOf: try await read(start..<end))
            start = end
        }
        return out
    }
}

extension SignedCheckpoint {
    /// Checks that this checkpoint and `frontier` are the ones a store must keep with a batch ending at `size`
    /// entries.
    ///
    /// - Throws: ``AuditError/Code/conflict`` when the checkpoint's or the frontier's size is not `size`.
    package func checkStored(size: UInt64, frontier: AuditFrontier) throws {
        guard checkpoint.size == size, frontier.size == size else {
            throw AuditError(
                .conflict,
                "the batch ends at \(size) entries but its checkpoint covers \(checkpoint.size) and its frontier "
                    + "\(frontier.size)"
            )
        }
    }
}

/// How much of a stored log opening reads and checks.
public enum AuditOpenCheck: Sendable, Hashable {
    /// Only the end: the latest checkpoint's signature, the frontier stored with it and the last entry, in
    /// O(log n) whatever the log's length (when the store keeps a frontier that matches). Damage before the tail is
    /// found by the ``AuditVerifier``.
    case tail
    /// Every entry (and, for a file, every frame), as the verifier does: O(n).
    case everyEntry
}
