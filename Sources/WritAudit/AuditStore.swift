/// Where an audit log keeps its entries: an append-only sequence of canonical entry bytes.
///
/// A store does not interpret entries; the ``AuditLog`` chains and hashes them and the ``AuditVerifier`` checks
/// them. Every implementation runs the shared conformance suite in `WritTesting` (`AuditStoreConformance`).
/// Implementations: ``InMemoryAuditStore`` (tests, short-lived hosts) and ``FileAuditStore`` (append-only file
/// with group commit).
public protocol AuditStore: Sendable {
    /// Number of entries held.
    func count() async throws -> UInt64

    /// Appends `entries` as indices `firstIndex ..< firstIndex + entries.count`, returning only once all of them
    /// are durable.
    ///
    /// The log calls this from one flusher at a time, in index order, with as many entries as have queued up
    /// (group commit), so a store should make the whole batch durable with one sync.
    ///
    /// - Throws: ``AuditError/Code/conflict`` when `firstIndex` is not the store's count;
    ///   ``AuditError/Code/storeFailure`` when the entries could not be made durable.
    func append(_ entries: [[UInt8]], firstIndex: UInt64) async throws

    /// The entries at `range`, as appended.
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` when the range goes beyond ``count()``.
    func read(_ range: Range<UInt64>) async throws -> [[UInt8]]
}

extension AuditStore {
    /// Every entry, in order (reads in chunks).
    public func readAll() async throws -> [[UInt8]] {
        let total = try await count()
        var out: [[UInt8]] = []
        out.reserveCapacity(Int(total))
        var start: UInt64 = 0
        while start < total {
            let end = min(total, start + 65_536)
            out.append(contentsOf: try await read(start..<end))
            start = end
        }
        return out
    }
}
