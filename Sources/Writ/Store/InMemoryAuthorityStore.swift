import Synchronization

/// An ``AuthorityStore`` in one process's memory: the ``CredentialAuthority`` default, and what tests use.
///
/// Every operation runs under one lock, so compare-and-swap is exact. Authorities in one process that share an
/// instance behave as replicas sharing a database; nothing survives the process.
public final class InMemoryAuthorityStore: AuthorityStore {
    private let records = Mutex<[AuthorityRecordKey: AuthorityRecord]>([:])

    /// Creates an empty store.
    public init() {}

    public func record(for key: AuthorityRecordKey) async throws -> AuthorityRecord? {
        records.withLock { $0[key] }
    }

    @discardableResult
    public func insert(_ record: AuthorityRecord) async throws -> AuthorityRecord {
        try records.withLock { (records: inout [AuthorityRecordKey: AuthorityRecord]) throws(AuthorityStoreError) in
            let key = record.key
            if let existing = records[key] {
                throw AuthorityStoreError.conflict(key, expected: nil, found: existing.version)
            }
            let stored = record.withVersion(1)
            records[key] = stored
            return stored
        }
    }

    @discardableResult
    public func update(_ record: AuthorityRecord, expecting version: UInt64) async throws -> AuthorityRecord {
        try records.withLock { (records: inout [AuthorityRecordKey: AuthorityRecord]) throws(AuthorityStoreError) in
            let key = record.key
            guard let existing = records[key] else { throw AuthorityStoreError(.notFound, "\(key) is not stored") }
            guard existing.version == version else {
                throw AuthorityStoreError.conflict(key, expected: version, found: existing.version)
            }
            let stored = record.withVersion(version &+ 1)
            records[key] = stored
            return stored
        }
    }

    public func delete(_ key: AuthorityRecordKey, expecting version: UInt64) async throws {
        try records.withLock { (records: inout [AuthorityRecordKey: AuthorityRecord]) throws(AuthorityStoreError) in
            guard let existing = records[key] else { throw AuthorityStoreError(.notFound, "\(key) is not stored") }
            guard existing.version == version else {
                throw AuthorityStoreError.conflict(key, expected: version, found: existing.version)
            }
            records[key] = nil
        }
    }

    public func records(matching query: AuthorityQuery) async throws -> [AuthorityRecord] {
        records.withLock { records in
            records.values.filter(query.matches).sorted { $0.key < $1.key }
        }
    }
}
