import Synchronization
public import Writ

/// An ``AuthorityStore`` for tests that forwards every call to another store after a hook has run, and records the
/// calls and the version conflicts it forwards: the hook adds latency or fails calls.
public final class HookedAuthorityStore: AuthorityStore {
    /// The call about to be forwarded.
    public enum Call: Sendable {
        /// ``AuthorityStore/record(for:)``.
        case record(AuthorityRecordKey)
        /// ``AuthorityStore/insert(_:)``.
        case insert(AuthorityRecordKey)
        /// ``AuthorityStore/update(_:expecting:)``.
        case update(AuthorityRecordKey)
        /// ``AuthorityStore/delete(_:expecting:)``.
        case delete(AuthorityRecordKey)
        /// ``AuthorityStore/records(matching:)``.
        case query(AuthorityQuery)
    }

    /// The store calls are forwarded to.
    public let base: any AuthorityStore
    private let hook: @Sendable (Call) async throws -> Void
    private let conflictCount = Mutex(0)
    private let log = Mutex<[Call]>([])

    /// A store forwarding to `base`; `before` runs before each call, and what it throws is the call's error.
    public init(_ base: any AuthorityStore, before: @escaping @Sendable (Call) async throws -> Void = { _ in }) {
        self.base = base
        hook = before
    }

    /// How many ``AuthorityStoreError/Code/conflict`` errors `base` returned so far.
    public var conflicts: Int { conflictCount.withLock { $0 } }

    /// Every call so far, in order (each recorded before its hook runs).
    public var calls: [Call] { log.withLock { $0 } }

    public func record(for key: AuthorityRecordKey) async throws -> AuthorityRecord? {
        try await before(.record(key))
        return try await base.record(for: key)
    }

    public func insert(_ record: AuthorityRecord) async throws -> AuthorityRecord {
        try await before(.insert(record.key))
        return try await counting { try await base.insert(record) }
    }

    public func update(_ record: AuthorityRecord, expecting version: UInt64) async throws -> AuthorityRecord {
        try await before(.update(record.key))
        return try await counting { try await base.update(record, expecting: version) }
    }

    public func delete(_ key: AuthorityRecordKey, expecting version: UInt64) async throws {
        try await before(.delete(key))
        try await counting { try await base.delete(key, expecting: version) }
    }

    public func records(matching query: AuthorityQuery) async throws -> [AuthorityRecord] {
        try await before(.query(query))
        return try await base.records(matching: query)
    }

    private func before(_ call: Call) async throws {
        log.withLock { $0.append(call) }
        try await hook(call)
    }

    private func counting<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AuthorityStoreError where error.code == .conflict {
            conflictCount.withLock { $0 += 1 }
            throw error
        }
    }
}
