#if SQLite
import Foundation
import Testing
import Writ
import WritAudit
import WritCrypto
import WritRevocation
import WritSQLite
import WritTesting
import WritTokens

/// Every shared conformance suite, unchanged, over real database files: `openPeer` opens a second `DatabasePool`
/// on the same path (as a second process would), `reopen` closes the pool and opens the file again, and the
/// revocation suite's `overwrite` rewrites the feed's rows with raw SQL on a connection of its own.
@Suite("SQLite stores keep the shared contracts")
struct ConformanceTests {
    static let authority = AuthorityStoreConformance(
        makeStore: { SQLiteAuthorityStore(database: try SQLiteDatabase.open(path: freshPath("authority"))) },
        reopen: { store in
            let database = try #require(store as? SQLiteAuthorityStore).database
            database.close()
            return try SQLiteAuthorityStore(path: database.path)
        },
        openPeer: { store in try SQLiteAuthorityStore(path: try #require(store as? SQLiteAuthorityStore).database.path)
        }
    )

    static let revocations = RevocationStoreConformance(
        makeStore: { SQLiteRevocationStore(database: try SQLiteDatabase.open(path: freshPath("feed"))) },
        overwrite: { store, contents in
            try overwriteFeed(try #require(store as? SQLiteRevocationStore).database.path, with: contents)
        },
        reopen: { store in
            let database = try #require(store as? SQLiteRevocationStore).database
            database.close()
            return try SQLiteRevocationStore(path: database.path)
        },
        openPeer: { store in
            try SQLiteRevocationStore(path: try #require(store as? SQLiteRevocationStore).database.path)
        }
    )

    static let audit = AuditStoreConformance(
        makeStore: { SQLiteAuditStore(database: try SQLiteDatabase.open(path: freshPath("audit"))) },
        reopen: { store in
            let database = try #require(store as? SQLiteAuditStore).database
            database.close()
            return try SQLiteAuditStore(path: database.path)
        },
        openPeer: { store in try SQLiteAuditStore(path: try #require(store as? SQLiteAuditStore).database.path) }
    )

    @Test("authority store", arguments: AuthorityStoreConformance.Check.allCases)
    func authorityStore(_ check: AuthorityStoreConformance.Check) async throws {
        try await Self.authority.run(check)
    }

    @Test("revocation store", arguments: RevocationStoreConformance.Check.allCases)
    func revocationStore(_ check: RevocationStoreConformance.Check) async throws {
        try await Self.revocations.run(check)
    }

    @Test("audit store", arguments: AuditStoreConformance.Check.allCases)
    func auditStore(_ check: AuditStoreConformance.Check) async throws {
        try await Self.audit.run(check)
    }

    @Test("nonce store")
    func nonceStore() async throws {
        let last = LastPath()
        let failures = try await NonceStoreConformance(
            makeStore: { clock in
                let path = freshPath("nonces")
                last.set(path)
                return SQLiteNonceStore(database: try SQLiteDatabase.open(path: path), clock: clock)
            },
            reopen: { clock in try SQLiteNonceStore(path: last.path, clock: clock) },
            openPeer: { clock in try SQLiteNonceStore(path: last.path, clock: clock) }
        ).run()
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("the suites fail against a store that loses its data on reopen (they can fail)")
    func suitesCanFail() async throws {
        let amnesiac = AuthorityStoreConformance(
            makeStore: { SQLiteAuthorityStore(database: try SQLiteDatabase.open(path: freshPath("authority"))) },
            reopen: { _ in SQLiteAuthorityStore(database: try SQLiteDatabase.open(path: freshPath("other"))) },
            openPeer: { store in store }
        )
        await #expect(throws: AuthorityStoreConformance.Failure.self) {
            try await amnesiac.run(.reopenKeepsRecordsAndVersions)
        }
        let last = LastPath()
        let failures = try await NonceStoreConformance(
            makeStore: { clock in
                let path = freshPath("nonces")
                last.set(path)
                return SQLiteNonceStore(database: try SQLiteDatabase.open(path: path), clock: clock)
            },
            reopen: { clock in try SQLiteNonceStore(path: freshPath("elsewhere"), clock: clock) },
            openPeer: { clock in try SQLiteNonceStore(path: last.path, clock: clock) }
        ).run()
        #expect(!failures.isEmpty)
    }

    @Test("watermarks: the latest report per verifier is kept, never moved backwards, and removable")
    func watermarks() async throws {
        let path = freshPath("watermarks")
        let store = SQLiteWatermarkStore(database: try SQLiteDatabase.open(path: path))
        let key = Ed25519.PrivateKey()
        let at = Timestamp(secondsSinceEpoch: 1_767_225_600)
        func report(_ verifier: String, _ sequence: UInt64, _ seconds: Int64) throws -> WatermarkReport {
            try WatermarkReport(
                verifier: verifier,
                sequence: sequence,
                hash: .zero,
                recordedAt: at.advanced(by: .seconds(seconds)),
                signer: key
            )
        }
        try await store.record(try report("b", 5, 10))
        try await store.record(try report("a", 1, 1))
        try await store.record(try report("b", 3, 5))  // older: ignored
        let peer = SQLiteWatermarkStore(database: try SQLiteDatabase.open(path: path))
        #expect(try await peer.reports().map(\.description) == ["a@1", "b@5"])
        try await peer.removeVerifier("a")
        #expect(try await store.reports().map(\.verifier) == ["b"])
    }
}
#endif
