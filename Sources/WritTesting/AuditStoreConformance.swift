public import WritAudit
import WritCrypto

/// The conformance suite every ``AuditStore`` implementation runs (in-memory, file, and later SQLite and
/// PostgreSQL stores), in the manner of swift-configuration's `ProviderCompatTest`.
///
/// ```swift
/// @Test func conformance() async throws {
///     try await AuditStoreConformance(makeStore: { InMemoryAuditStore() }).run()
/// }
/// ```
///
/// ``run()`` throws an ``AuditStoreConformance/Failure`` naming the first check that failed. It needs no test
/// framework, so any test target can call it.
public struct AuditStoreConformance: Sendable {
    /// A failed conformance check.
    public struct Failure: Error, CustomStringConvertible {
        /// Which check failed and how.
        public let description: String
    }

    private let makeStore: @Sendable () async throws -> any AuditStore
    private let reopenStore: (@Sendable () async throws -> any AuditStore)?

    /// Creates the suite.
    ///
    /// - Parameters:
    ///   - makeStore: returns a new, empty store each time it is called.
    ///   - reopenStore: for a persistent store, reopens the store most recently made (after the suite has
    ///     dropped every reference to it); `nil` for stores that do not persist.
    public init(
        makeStore: @escaping @Sendable () async throws -> any AuditStore,
        reopenStore: (@Sendable () async throws -> any AuditStore)? = nil
    ) {
        self.makeStore = makeStore
        self.reopenStore = reopenStore
    }

    /// Runs every check.
    public func run() async throws {
        try await emptyStore()
        try await appendAndReadBack()
        try await rejectsGapsAndOverlaps()
        try await rejectsReadsBeyondEnd()
        try await largeEntries()
        try await keepsCheckpoints()
        try await logOverStore()
    }

    private func check(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw Failure(description: what()) }
    }

    private func expectError(_ code: AuditError.Code, _ what: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as AuditError {
            try check(error.code == code, "\(what): expected \(code), got \(error.code)")
            return
        }
        throw Failure(description: "\(what): expected \(code), but it succeeded")
    }

    static func entry(_ i: Int, size: Int = 40) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
    }

    static let key = Ed25519.PrivateKey()

    /// A frontier of `size` (over made-up hashes: stores do not interpret it).
    static func frontier(_ size: UInt64, tag: UInt8 = 0) throws -> AuditFrontier {
        try AuditFrontier(
            size: size,
            lastLeafHash: [UInt8](repeating: tag, count: 32),
            hashes: Array(repeating: [UInt8](repeating: tag &+ 1, count: 32), count: (size - 1).nonzeroBitCount)
        )
    }

    /// A signed checkpoint of `size` (over a made-up root: stores do not interpret entries).
    static func checkpoint(_ size: UInt64, tag: UInt8 = 0) throws -> SignedCheckpoint {
        let body = try Checkpoint(origin: "conformance", size: size, rootHash: [UInt8](repeating: tag, count: 32))
        return SignedCheckpoint.sign(body, name: "conformance", key: key)
    }

    /// Appends `entries` at `first` with their checkpoint.
    private func append(_ store: any AuditStore, _ entries: [[UInt8]], at first: UInt64) async throws {
        try await store.append(
            entries,
            firstIndex: first,
            checkpoint: try Self.checkpoint(first + UInt64(entries.count)),
            frontier: try Self.frontier(first + UInt64(entries.count))
        )
    }

    func emptyStore() async throws {
        let store = try await makeStore()
        try check(try await store.count() == 0, "a new store is empty")
        try check(try await store.read(0..<0).isEmpty, "reading an empty range returns nothing")
        try check(try await store.latestCheckpoint() == nil, "a new store holds no checkpoint")
    }

    func appendAndReadBack() async throws {
        let entries = (0..<25).map { Self.entry($0, size: 1 + $0 * 7) }
        do {
            let store = try await makeStore()
            try await append(store, Array(entries[0..<1]), at: 0)
            try await append(store, Array(entries[1..<10]), at: 1)
            try await append(store, Array(entries[10...]), at: 10)
            try check(try await store.count() == 25, "count after three batches")
            try check(try await store.read(0..<25) == entries, "entries read back as appended")
            try check(try await store.read(7..<13) == Array(entries[7..<13]), "a range across batches")
            try check(try await store.readAll() == entries, "readAll")
        }
        if let reopenStore {
            let store = try await reopenStore()
            try check(try await store.count() == 25, "count after reopening")
            try check(try await store.read(0..<25) == entries, "entries survive reopening")
            try check(
                try await store.latestCheckpoint() == (try Self.checkpoint(25)),
                "the latest batch's checkpoint survives reopening"
            )
            try await append(store, [Self.entry(99)], at: 25)
            try check(try await store.read(25..<26) == [Self.entry(99)], "append after reopening")
        }
    }

    func rejectsGapsAndOverlaps() async throws {
        let store = try await makeStore()
        try await append(store, [Self.entry(0), Self.entry(1)], at: 0)
        try await expectError(.conflict, "append leaving a gap") {
            try await append(store, [Self.entry(5)], at: 5)
        }
        try await expectError(.conflict, "append overwriting entry 1") {
            try await append(store, [Self.entry(9)], at: 1)
        }
        try await expectError(.conflict, "append with a checkpoint of the wrong size") {
            try await store.append(
                [Self.entry(2)],
                firstIndex: 2,
                checkpoint: try Self.checkpoint(2),
                frontier: try Self.frontier(3)
            )
        }
        try check(try await store.read(0..<2) == [Self.entry(0), Self.entry(1)], "rejected appends change nothing")
    }

    func rejectsReadsBeyondEnd() async throws {
        let store = try await makeStore()
        try await append(store, [Self.entry(0)], at: 0)
        try await expectError(.outOfRange, "read beyond the end") { _ = try await store.read(0..<2) }
    }

    func largeEntries() async throws {
        let store = try await makeStore()
        let big = Self.entry(3, size: 65_536)
        try await append(store, [big, Self.entry(4, size: 1)], at: 0)
        try check(try await store.read(0..<2) == [big, Self.entry(4, size: 1)], "a 64 KiB entry round-trips")
    }

    func keepsCheckpoints() async throws {
        let store = try await makeStore()
        try await append(store, [Self.entry(0)], at: 0)
        try check(try await store.latestCheckpoint() == (try Self.checkpoint(1)), "the batch's checkpoint is kept")
        try await append(store, [Self.entry(1), Self.entry(2)], at: 1)
        try check(try await store.latestCheckpoint() == (try Self.checkpoint(3)), "the latest batch's checkpoint wins")
    }

    func logOverStore() async throws {
        let key = Ed25519.PrivateKey()
        let root: [UInt8]
        do {
            let store = try await makeStore()
            let log = try await AuditLog.open(store: store, service: "conformance", signingKey: key, salt: AuditSalt())
            let indices = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for i in 0..<64 {
                    group.addTask { try await log.record(AuditEvent(.used, task: "t\(i % 4)", tokenID: "tok-\(i)")) }
                }
                var all: Set<UInt64> = []
                for try await index in group { all.insert(index) }
                return all
            }
            try check(indices == Set(0..<64), "64 concurrent records get indices 0..<64")
            let report = try await AuditVerifier.verify(
                store: store,
                keys: AuditKeyring(logKey: key.publicKey, name: "conformance")
            )
            try check(report.isVerified, "a log over the store verifies with its stored checkpoint: \(report)")
            root = try log.root()
        }
        if let reopenStore {
            let store = try await reopenStore()
            let log = try await AuditLog.open(store: store, service: "conformance", signingKey: key, salt: AuditSalt())
            try check(try log.root() == root, "a reopened log has the same root")
            try check(try await log.record(AuditEvent(.taskClosed)) == 64, "appending continues after reopening")
        }
    }
}
