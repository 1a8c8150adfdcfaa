import Foundation
import Synchronization
import Testing
import WritAudit
import WritCrypto
import WritTesting

/// Recovery after a transient store error: never acknowledge an entry that is not durable, never fork the chain.
@Suite("Audit log recovery after store failures")
struct RecoveryTests {
    static let key = Ed25519.PrivateKey()
    static var keys: AuditKeyring { AuditKeyring(logKey: key.publicKey, name: "gateway") }

    static func open(_ store: some AuditStore) async throws -> AuditLog {
        try await AuditLog.open(store: store, service: "gateway", signingKey: key, salt: AuditSalt())
    }

    static func event(_ i: Int) -> AuditEvent { AuditEvent(.used, task: "t", tokenID: "tok-\(i)") }

    static func tokens(_ store: some AuditStore) async throws -> [String?] {
        try await store.readAll().map { try AuditEntry(decoding: $0).event.tokenID }
    }

    @Test("a batch stored although its append failed is kept; the chain continues after it")
    func lostAcknowledgement() async throws {
        let store = FaultInjectingAuditStore(InMemoryAuditStore())
        let log = try await Self.open(store)
        _ = try await log.record(Self.event(0))
        store.failAppendsAfterStoring()
        await #expect(throws: AuditError(.storeFailure, "")) { try await log.record(Self.event(1)) }
        store.heal()
        #expect(try await log.record(Self.event(2)) == 2)
        #expect(try await Self.tokens(store) == ["tok-0", "tok-1", "tok-2"])
        #expect(try await AuditVerifier.verify(store: store, keys: Self.keys).isVerified)
    }

    @Test("while the store is unreachable each append fails with its error; explicit recover() works too")
    func unreachable() async throws {
        let store = FaultInjectingAuditStore(InMemoryAuditStore())
        let log = try await Self.open(store)
        _ = try await log.record(Self.event(0))
        store.failEverything()
        for i in 1...3 {
            await #expect(throws: AuditError(.storeFailure, "")) { try await log.record(Self.event(i)) }
        }
        await #expect(throws: AuditError(.storeFailure, "")) { try await log.recover() }
        store.heal()
        try await log.recover()
        #expect(log.size == 1 && log.durableSize == 1)
        #expect(try await log.record(Self.event(4)) == 1)
        #expect(try await AuditVerifier.verify(store: store, keys: Self.keys).isVerified)
    }

    @Test("a file log over a failing store recovers, reopens and verifies")
    func fileStore() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("audit.writ")
        do {
            let store = FaultInjectingAuditStore(try FileAuditStore.open(path: path))
            let log = try await Self.open(store)
            _ = try await log.record(Self.event(0))
            store.failNextAppends()
            await #expect(throws: AuditError(.storeFailure, "")) { try await log.record(Self.event(1)) }
            store.failAppendsAfterStoring()
            await #expect(throws: AuditError(.storeFailure, "")) { try await log.record(Self.event(2)) }
            store.heal()
            #expect(try await log.record(Self.event(3)) == 2)
        }
        let reopened = try await reopenFileStore(path: path)
        #expect(try await Self.tokens(reopened) == ["tok-0", "tok-2", "tok-3"])
        let log = try await Self.open(reopened)
        #expect(try await log.record(Self.event(4)) == 3)
        try await reopened.flushCheckpointFile()
        #expect(try AuditVerifier.verify(fileAt: path, keys: Self.keys).isVerified)
    }

    /// A store whose backing data can be replaced under the log (a rollback).
    final class SwappableStore: AuditStore {
        let current: Mutex<any AuditStore>
        init(_ store: any AuditStore) { current = Mutex(store) }
        func swap(to store: any AuditStore) { current.withLock { $0 = store } }
        var base: any AuditStore { current.withLock { $0 } }
        func count() async throws -> UInt64 { try await base.count() }
        func append(
            _ entries: [[UInt8]],
            firstIndex: UInt64,
            checkpoint: SignedCheckpoint,
            frontier: AuditFrontier
        ) async throws {
            try await base.append(entries, firstIndex: firstIndex, checkpoint: checkpoint, frontier: frontier)
        }
        func read(_ range: Range<UInt64>) async throws -> [[UInt8]] { try await base.read(range) }
        func latestCheckpoint() async throws -> SignedCheckpoint? { try await base.latestCheckpoint() }
        func latestFrontier() async throws -> AuditFrontier? { try await base.latestFrontier() }
    }

    @Test("a store that lost acknowledged entries, or holds another log, closes the log for good")
    func rollbackCloses() async throws {
        let faults = FaultInjectingAuditStore(InMemoryAuditStore())
        let store = SwappableStore(faults)
        let log = try await Self.open(store)
        for i in 0..<3 { _ = try await log.record(Self.event(i)) }
        faults.failNextAppends()
        await #expect(throws: AuditError(.storeFailure, "")) { try await log.record(Self.event(3)) }
        store.swap(to: InMemoryAuditStore())  // rolled back to nothing
        await #expect(throws: AuditError(.closed, "")) { try await log.record(Self.event(4)) }
        await #expect(throws: AuditError(.closed, "")) { try await log.record(Self.event(5)) }
        #expect(try await store.count() == 0)

        // Another log's entries where this one's were: not signed by this log's key.
        let other = InMemoryAuditStore()
        let stranger = try await AuditLog.open(
            store: other,
            service: "gateway",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt()
        )
        for i in 0..<5 { _ = try await stranger.record(Self.event(i)) }
        let faults2 = FaultInjectingAuditStore(InMemoryAuditStore())
        let store2 = SwappableStore(faults2)
        let log2 = try await Self.open(store2)
        for i in 0..<3 { _ = try await log2.record(Self.event(i)) }
        faults2.failNextAppends()
        await #expect(throws: AuditError(.storeFailure, "")) { try await log2.record(Self.event(3)) }
        store2.swap(to: other)
        await #expect(throws: AuditError(.closed, "")) { try await log2.record(Self.event(4)) }
    }

    @Test(
        "64 appenders through random faults: every acknowledged entry is stored at its index, one unbroken chain",
        arguments: [1, 2, 3]
    )
    func concurrentFaults(seed: UInt64) async throws {
        // The fault schedule runs on the clock, so on a loaded machine one round may see no fault or no success:
        // such a round proves nothing, and the scenario is run again (a few times at most) until it saw both.
        for attempt in 0..<5 {
            if try await concurrentFaultsRound(seed: seed &+ UInt64(attempt) &* 1000, lastAttempt: attempt == 4) {
                return
            }
        }
    }

    /// One round; returns whether it exercised both failures and acknowledgements (and so checked something).
    private func concurrentFaultsRound(seed: UInt64, lastAttempt: Bool) async throws -> Bool {
        let store = FaultInjectingAuditStore(InMemoryAuditStore())
        let log = try await Self.open(store)
        let ledger = Ledger()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var rng = SplitMix(seed: seed)
                for _ in 0..<40 {
                    switch rng.next() % 4 {
                    case 0: store.failNextAppends()
                    case 1: store.failAppendsAfterStoring()
                    default: store.heal()
                    }
                    try await Task.sleep(for: .microseconds(Int(rng.next() % 2_000)))
                }
                store.heal()
            }
            for a in 0..<64 {
                group.addTask {
                    for k in 0..<20 {
                        // Spread the appends over the fault schedule's time (≈ 40 ms) rather than racing past it.
                        try await Task.sleep(for: .microseconds(500 + (a * 37 + k * 101) % 1500))
                        let token = "tok-\(a)-\(k)"
                        do {
                            let index = try await log.record(AuditEvent(.used, task: "t", tokenID: token))
                            ledger.acknowledged.withLock { $0[index] = token }
                        } catch let error as AuditError {
                            #expect(error.code == .storeFailure, "\(error)")
                            ledger.failures.withLock { $0 += 1 }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        store.heal()
        _ = try await log.record(Self.event(-1))  // recovers if the last batch failed
        let stored = try await Self.tokens(store)
        for (index, token) in ledger.acknowledged.withLock({ $0 }) {
            #expect(stored[Int(index)] == token, "acknowledged entry \(index) is not what the store holds")
        }
        #expect(Set(stored.compactMap { $0 }).count == stored.count, "an entry was stored twice")
        let (failed, acked) = (ledger.failures.withLock { $0 }, ledger.acknowledged.withLock { $0.count })
        guard failed > 0 && acked > 0 else {
            #expect(!lastAttempt, "no round exercised both: \(failed) failed, \(acked) acknowledged")
            return false
        }
        let report = try await AuditVerifier.verify(store: store, keys: Self.keys)
        #expect(report.isVerified, "\(report)")
        var tree = MerkleTree()
        for bytes in try await store.readAll() { tree.append(leafHash: AuditEntry.leafHash(of: bytes)) }
        #expect(try log.root() == tree.root())
        return true
    }
}

/// What the appenders of one run were told.
final class Ledger: Sendable {
    let acknowledged = Mutex<[UInt64: String]>([:])
    let failures = Mutex(0)
}

/// A small seeded generator (SplitMix64), so fault schedules are reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
