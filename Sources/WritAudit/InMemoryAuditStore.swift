import Synchronization

/// An ``AuditStore`` in memory: for tests and short-lived hosts. Nothing survives the process.
public final class InMemoryAuditStore: AuditStore {
    private let entries = Mutex<[[UInt8]]>([])

    /// Creates an empty store.
    public init() {}

    public func count() async throws -> UInt64 { UInt64(entries.withLock { $0.count }) }

    public func append(_ batch: [[UInt8]], firstIndex: UInt64) async throws {
        try entries.withLock { entries in
            guard firstIndex == UInt64(entries.count) else {
                throw AuditError(.conflict, "append at \(firstIndex) but the store holds \(entries.count) entries")
            }
            entries.append(contentsOf: batch)
        }
    }

    public func read(_ range: Range<UInt64>) async throws -> [[UInt8]] {
        try entries.withLock { entries in
            guard range.upperBound <= UInt64(entries.count) else {
                throw AuditError(.outOfRange, "read up to \(range.upperBound) but the store holds \(entries.count)")
            }
            return Array(entries[Int(range.lowerBound)..<Int(range.upperBound)])
        }
    }

    /// Replaces the stored bytes of one entry — for tamper tests only.
    package func tamper(at index: Int, with bytes: [UInt8]) {
        entries.withLock { $0[index] = bytes }
    }
}
