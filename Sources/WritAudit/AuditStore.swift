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
/// also covered by a signature.
public protocol AuditStore: Sendable {
    /// Number of entries held.
    func count() async throws -> UInt64

    /// Appends `entries` as indices `firstIndex ..< firstIndex + entries.count` together with `checkpoint`, the
    /// log's signed checkpoint of the first `firstIndex + entries.count` entries, returning only once both are
    /// durable.
    ///
    /// The log calls this from one flusher at a time, in index order, with as many entries as have queued up
    /// (group commit), so a store should make the whole batch and its checkpoint durable with one sync.
    ///
    /// - Throws: ``AuditError/Code/conflict`` when `firstIndex` is not the store's count, or the checkpoint's size
    ///   is not the count after the batch; ``AuditError/Code/storeFailure`` when the batch could not be made durable.
    func append(_ entries: [[UInt8]], firstIndex: UInt64, checkpoint: SignedCheckpoint) async throws

    /// The entries at `range`, as appended.
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` when the range goes beyond ``count()``.
    func read(_ range: Range<UInt64>) async throws -> [[UInt8]]

    /// The checkpoint stored with the latest batch, or `nil` when nothing was appended.
    func latestCheckpoint() async throws -> SignedCheckpoint?
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
    /// Checks that this checkpoint is the one a store must keep with a batch ending at `size` entries.
    ///
    /// - Throws: ``AuditError/Code/conflict`` when its size is not `size`.
    package func checkStored(size: UInt64) throws {
        guard checkpoint.size == size else {
            throw AuditError(
                .conflict,
                "the batch ends at \(size) entries but its checkpoint covers \(checkpoint.size)"
            )
        }
    }
}
