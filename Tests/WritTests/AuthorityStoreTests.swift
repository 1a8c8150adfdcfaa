import Synchronization
import Testing
import Writ
import WritTesting

/// A store with one deliberate flaw, to show the conformance suite catches it.
final class FlawedAuthorityStore: AuthorityStore {
    enum Flaw: Sendable {
        /// `update` writes whatever version is stored (no compare-and-swap).
        case updateIgnoresVersion
        /// `delete` removes whatever is stored, and an absent key is not an error (so two consumers both win).
        case deleteIgnoresVersion
        /// Queries return nothing.
        case queriesSeeNothing
        /// Every query fails (the store is unreachable for reads of many records).
        case queriesFail
    }

    let inner = InMemoryAuthorityStore()
    let flaw: Flaw

    init(_ flaw: Flaw) { self.flaw = flaw }

    func record(for key: AuthorityRecordKey) async throws -> AuthorityRecord? {
        let record = try await inner.record(for: key)
        await Task.yield()  // let racing callers interleave between the read and their write
        return record
    }

    func insert(_ record: AuthorityRecord) async throws -> AuthorityRecord { try await inner.insert(record) }

    func update(_ record: AuthorityRecord, expecting version: UInt64) async throws -> AuthorityRecord {
        guard flaw == .updateIgnoresVersion else { return try await inner.update(record, expecting: version) }
        let current = try await inner.record(for: record.key)?.version ?? version
        return try await inner.update(record, expecting: current)
    }

    func delete(_ key: AuthorityRecordKey, expecting version: UInt64) async throws {
        guard flaw == .deleteIgnoresVersion else { return try await inner.delete(key, expecting: version) }
        if let current = try await inner.record(for: key) { try await inner.delete(key, expecting: current.version) }
    }

    func records(matching query: AuthorityQuery) async throws -> [AuthorityRecord] {
        switch flaw {
        case .queriesSeeNothing: return []
        case .queriesFail: throw AuthorityStoreError(.unavailable, "the database is down")
        default: return try await inner.records(matching: query)
        }
    }
}

/// What a callback reported, shared with the test.
final class Reported: Sendable {
    let codes = Mutex<[String]>([])
}

@Suite("Authority store")
struct AuthorityStoreTests {
    @Test("the in-memory store keeps the shared contract", arguments: AuthorityStoreConformance.Check.allCases)
    func conformance(_ check: AuthorityStoreConformance.Check) async throws {
        try await AuthorityStoreConformance(
            makeStore: { InMemoryAuthorityStore() },
            reopen: { $0 },
            openPeer: { $0 }
        ).run(check)
    }

    @Test(
        "the suite fails against a deliberately broken store",
        arguments: [
            (FlawedAuthorityStore.Flaw.updateIgnoresVersion, AuthorityStoreConformance.Check.updateIsCompareAndSwap),
            (.updateIgnoresVersion, .conflictsDetectedAcrossHandles),
            (.deleteIgnoresVersion, .deleteIsCompareAndSwap),
            (.deleteIgnoresVersion, .joinTokenConsumedOnceAcrossHandles),
            (.queriesSeeNothing, .queriesSelectTheirRecords),
        ]
    )
    func brokenStoreFails(_ flaw: FlawedAuthorityStore.Flaw, _ check: AuthorityStoreConformance.Check) async throws {
        let suite = AuthorityStoreConformance(
            makeStore: { FlawedAuthorityStore(flaw) },
            reopen: { $0 },
            openPeer: { $0 }
        )
        await #expect(throws: AuthorityStoreConformance.Failure.self) { try await suite.run(check) }
    }

    @Test("the suite fails when reopening loses the data or a peer handle is a separate store")
    func unsharedHandlesFail() async throws {
        let forgetful = AuthorityStoreConformance(
            makeStore: { InMemoryAuthorityStore() },
            reopen: { _ in InMemoryAuthorityStore() },
            openPeer: { _ in InMemoryAuthorityStore() }
        )
        for check in [
            AuthorityStoreConformance.Check.reopenKeepsRecordsAndVersions, .peerHandlesShareRecords,
            .conflictsDetectedAcrossHandles, .concurrentUpdatesNeverLost,
        ] {
            await #expect(throws: AuthorityStoreConformance.Failure.self, "\(check)") {
                try await forgetful.run(check)
            }
        }
    }

    @Test("store errors compare by code and keep the underlying error")
    func errors() {
        struct Boom: Error {}
        let error = AuthorityStoreError(.unavailable, "agent:x", underlying: Boom())
        #expect(error == AuthorityStoreError(.unavailable, "other"))
        #expect(error != AuthorityStoreError(.conflict, "agent:x"))
        #expect(error.underlying is Boom)
        #expect("\(error)".hasPrefix("unavailable: agent:x"))
    }

    @Test("the watchdog reports a failing store to onError and keeps running")
    func watchdogReportsErrors() async throws {
        let world = try await World()
        var configuration = world.configuration
        configuration.store = FlawedAuthorityStore(.queriesFail)
        let authority = CredentialAuthority(configuration)
        let reported = Reported()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await authority.run(checkEvery: .milliseconds(2)) { error in
                    let code = (error as? AuthorityError)?.code.description ?? "\(error)"
                    reported.codes.withLock { $0.append(code) }
                }
            }
            while reported.codes.withLock({ $0.count }) < 3 { try await Task.sleep(for: .milliseconds(2)) }
            group.cancelAll()
            _ = try? await group.waitForAll()
        }
        let codes = reported.codes.withLock { $0 }
        #expect(codes.allSatisfy { $0 == AuthorityError.Code.storeFailed.description }, "\(codes)")
        await #expect(throws: AuthorityError(.storeFailed, "")) { try await authority.expireOverdueTasks() }
    }
}
