#if SQLite
import Foundation
import GRDB
import Testing
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritRevocation
import WritSQLite
import WritTesting
import WritTokens

/// Every table Writ writes, changed behind the stores' backs with raw SQL: what does a process that opens the file
/// afterwards believe? (The revocation feed's deletions, rollbacks and forgeries are the conformance suite's
/// tamper checks; these are the rows' own columns, and the other tables.)
@Suite("SQLite tamper: what a process opening the file afterwards believes")
struct TamperTests {
    let clock = ManualClock()
    let key = Ed25519.PrivateKey()
    let alice = try! AgentIdentity("spiffe://tamper.test/agent/alice/1")

    func agent(revoked: Bool) -> AgentRecord {
        AgentRecord(
            identity: alice,
            publicKey: key.publicKey,
            agentClass: "worker",
            supervisor: nil,
            isRevoked: revoked
        )
    }

    /// A fresh process's view: a new database handle on the path.
    func reopened<T>(_ path: String, _ body: (SQLiteDatabase) async throws -> T) async throws -> T {
        let database = try SQLiteDatabase.open(path: path, mode: .readWrite)
        defer { database.close() }
        return try await body(database)
    }

    @Test("authority_records: a damaged, misplaced or re-versioned row is corrupt, never missing")
    func authorityRows() async throws {
        let path = freshPath("authority")
        let store = SQLiteAuthorityStore(database: try SQLiteDatabase.open(path: path))
        try await store.insert(.agent(agent(revoked: true)))
        try await store.insert(
            .task(TaskRecord(id: "t-1", agent: alice, objective: "o", intent: "i", deadline: clock.now()))
        )
        let key = AuthorityRecordKey.agent(alice).description

        func expectCorrupt(_ what: String) async throws {
            try await reopened(path) { database in
                let fresh = SQLiteAuthorityStore(database: database)
                await #expect(throws: AuthorityStoreError(.corrupt, ""), "\(what)") {
                    _ = try await fresh.record(for: .agent(alice))
                }
                do {
                    _ = try await fresh.record(for: .agent(alice))
                } catch {
                    #expect("\(error)".contains(path), "the error must name the file: \(error)")
                }
            }
        }
        try rawSQL(path) { db in
            try db.execute(sql: "UPDATE authority_records SET body = x'7b2262' WHERE key = ?", arguments: [key])
        }
        try await expectCorrupt("truncated JSON")
        try rawSQL(path) { db in
            try db.execute(
                sql:
                    "UPDATE authority_records SET body = (SELECT body FROM authority_records WHERE kind = 'task') WHERE key = ?",
                arguments: [key]
            )
        }
        try await expectCorrupt("another record's JSON under the agent's key")
        try await store.delete(.agent(alice), expecting: 1)
        try await store.insert(.agent(agent(revoked: true)))
        try rawSQL(path) { db in
            try db.execute(sql: "UPDATE authority_records SET version = 7 WHERE key = ?", arguments: [key])
        }
        try await expectCorrupt("a version column that disagrees with the record")
        try rawSQL(path) { db in
            try db.execute(
                sql: "UPDATE authority_records SET kind = 'spaceship', version = 1 WHERE key = ?",
                arguments: [key]
            )
        }
        try await expectCorrupt("an unknown kind")

        // The records are not signed: a consistent rewrite (the agent un-revoked, JSON and columns agreeing) is
        // believed. This is the documented limit — keep the file where only the authority can write it.
        var unrevoked = agent(revoked: false)
        unrevoked.version = 1
        let forged = try JSONEncoder().encode(unrevoked)
        try rawSQL(path) { db in
            try db.execute(
                sql: "UPDATE authority_records SET kind = 'agent', version = 1, body = ? WHERE key = ?",
                arguments: [forged, key]
            )
        }
        let believed = try await reopened(path) { try await SQLiteAuthorityStore(database: $0).agent(alice) }
        #expect(believed?.isRevoked == false, "an unsigned store believes a consistent rewrite")
        // A deleted row reads as absent (a revoked agent could register again): also the documented limit.
        try rawSQL(path) { db in try db.execute(sql: "DELETE FROM authority_records WHERE key = ?", arguments: [key]) }
        #expect(try await reopened(path) { try await SQLiteAuthorityStore(database: $0).agent(alice) } == nil)
    }

    @Test(
        "revocation rows: bad bytes are malformed, a row under another sequence is tampered, a moved target column only costs a duplicate"
    )
    func revocationRows() async throws {
        let path = freshPath("feed")
        let publisher = RevocationPublisher(
            store: SQLiteRevocationStore(database: try SQLiteDatabase.open(path: path)),
            signer: key,
            clock: clock
        )
        let target = RevocationTarget.block(RevocationID(high: 1, low: 2))
        for n in 1...3 {
            try await publisher.revoke(
                .block(RevocationID(high: 1, low: UInt64(n))),
                reason: .manual,
                coversUntil: clock.now().advanced(by: .seconds(60))
            )
        }
        func page() async throws -> RevocationFeedPage {
            try await reopened(path) { try await SQLiteRevocationStore(database: $0).contents() }
        }
        let honest = try await page()

        // Flipped bits in a signed entry: refused as malformed (a valid parse would still fail its signature).
        try rawSQL(path) { db in
            try db.execute(sql: "UPDATE revocation_entries SET record = substr(record, 1, 20) WHERE sequence = 2")
        }
        await #expect(throws: RevocationError(.malformed, "")) { _ = try await page() }
        // The signed entry #3 stored under sequence 2: tampered.
        try rawSQL(path) { db in
            try db.execute(
                sql:
                    "UPDATE revocation_entries SET record = (SELECT record FROM revocation_entries WHERE sequence = 3) WHERE sequence = 2"
            )
        }
        await #expect(throws: RevocationError(.tampered, "")) { _ = try await page() }
        // A head row whose sequence column was edited: tampered.
        try overwriteFeed(path, with: honest)
        try rawSQL(path) { db in try db.execute(sql: "UPDATE revocation_marks SET sequence = 99 WHERE kind = 'head'") }
        await #expect(throws: RevocationError(.tampered, "")) { _ = try await page() }
        // A target column pointing elsewhere: a retry is not recognised and appends a second, valid entry — the feed
        // grows by one; nothing is lost or unrevoked.
        try overwriteFeed(path, with: honest)
        try rawSQL(path) { db in
            try db.execute(sql: "UPDATE revocation_entries SET target = 'block:elsewhere' WHERE sequence = 2")
        }
        let retry = try await reopened(path) { database in
            try await RevocationPublisher(store: SQLiteRevocationStore(database: database), signer: key, clock: clock)
                .revoke(target, reason: .manual, coversUntil: clock.now().advanced(by: .seconds(60)))
        }
        #expect(retry.sequence == 4 && retry.entry.target == target)
        // A head claiming entries that were deleted: writers refuse to extend (or re-sign) the truncated feed.
        try overwriteFeed(path, with: RevocationFeedPage(entries: Array(honest.entries.prefix(1)), head: honest.head))
        try await reopened(path) { database in
            let publisher = RevocationPublisher(
                store: SQLiteRevocationStore(database: database),
                signer: key,
                clock: clock
            )
            await #expect(throws: RevocationError(.tampered, "")) { _ = try await publisher.publishHead() }
            await #expect(throws: RevocationError(.tampered, "")) {
                _ = try await publisher.revoke(.task("t"), reason: .manual, coversUntil: clock.now())
            }
        }
    }

    @Test(
        "nonces: a back-dated row is a replay accepted again (documented: unsigned); a stray row breaks nothing; a dropped table is an error"
    )
    func nonceRows() async throws {
        let path = freshPath("nonces")
        let store = SQLiteNonceStore(database: try SQLiteDatabase.open(path: path), clock: clock)
        let nonce = ReplayNonce.random()
        let expiry = clock.now().advanced(by: .seconds(90))
        #expect(try await store.insertIfAbsent(nonce, expiresAt: expiry))
        #expect(
            try await reopened(path) {
                try await SQLiteNonceStore(database: $0, clock: clock).insertIfAbsent(nonce, expiresAt: expiry)
            } == false
        )
        try rawSQL(path) { db in try db.execute(sql: "UPDATE nonces SET expires_ms = 0") }
        #expect(
            try await reopened(path) {
                try await SQLiteNonceStore(database: $0, clock: clock).insertIfAbsent(nonce, expiresAt: expiry)
            },
            "a back-dated nonce is believed expired"
        )
        // A text key where a 16-byte nonce belongs, or a NULL expiry, breaks no insert and is never a match.
        try rawSQL(path) { db in try db.execute(sql: "INSERT INTO nonces VALUES ('not-a-nonce', 9223372036854775807)") }
        #expect(
            try await reopened(path) {
                try await SQLiteNonceStore(database: $0, clock: clock).insertIfAbsent(.random(), expiresAt: expiry)
            }
        )
        // The table dropped altogether: a typed error, never "not seen before".
        try rawSQL(path) { db in try db.execute(sql: "DROP TABLE nonces") }
        await #expect(throws: NonceStoreError(.unavailable, "")) {
            _ = try await reopened(path) {
                try await SQLiteNonceStore(database: $0, clock: clock).insertIfAbsent(nonce, expiresAt: expiry)
            }
        }
    }

    @Test("audit rows: an altered entry fails verification, a deleted one fails reads, a damaged checkpoint is refused")
    func auditRows() async throws {
        let path = freshPath("audit")
        let logKey = Ed25519.PrivateKey()
        let keys = AuditKeyring(logKey: logKey.publicKey)
        let log = try await AuditLog.open(
            store: SQLiteAuditStore(database: try SQLiteDatabase.open(path: path)),
            service: "svc",
            signingKey: logKey,
            salt: AuditSalt()
        )
        for i in 0..<20 { _ = try await log.record(AuditEvent(.used, tokenID: "tok-\(i)")) }
        func report() async throws -> AuditVerificationReport {
            try await reopened(path) {
                try await AuditVerifier.verify(store: SQLiteAuditStore(database: $0), keys: keys)
            }
        }
        #expect(try await report().isVerified)
        let original = try await reopened(path) { try await SQLiteAuditStore(database: $0).read(7..<8)[0] }
        try rawSQL(path) { db in
            try db.execute(
                sql: "UPDATE audit_entries SET entry = (SELECT entry FROM audit_entries WHERE idx = 8) WHERE idx = 7"
            )
        }
        #expect(try await !report().isVerified, "an entry replaced by another must not verify")
        try rawSQL(path) { db in
            try db.execute(sql: "UPDATE audit_entries SET entry = ? WHERE idx = 7", arguments: [Data(original)])
        }
        #expect(try await report().isVerified)
        try rawSQL(path) { db in try db.execute(sql: "DELETE FROM audit_entries WHERE idx = 19") }
        await #expect(throws: AuditError(.tampered, "")) {
            _ = try await reopened(path) { try await SQLiteAuditStore(database: $0).read(0..<20) }
        }
        try rawSQL(path) { db in try db.execute(sql: "UPDATE audit_logs SET checkpoint = 'not a checkpoint'") }
        await #expect(throws: AuditError(.invalidEncoding, "")) {
            _ = try await reopened(path) { try await SQLiteAuditStore(database: $0).count() }
        }
    }

    @Test("watermarks: a row that is not its verifier's report is refused")
    func watermarkRows() async throws {
        let path = freshPath("watermarks")
        let store = SQLiteWatermarkStore(database: try SQLiteDatabase.open(path: path))
        for name in ["a", "b"] {
            try await store.record(
                try WatermarkReport(verifier: name, sequence: 1, hash: .zero, recordedAt: clock.now(), signer: key)
            )
        }
        try rawSQL(path) { db in
            try db.execute(
                sql:
                    "UPDATE watermarks SET report = (SELECT report FROM watermarks WHERE verifier = 'b') WHERE verifier = 'a'"
            )
        }
        await #expect(throws: RevocationError(.malformed, "")) {
            _ = try await reopened(path) { try await SQLiteWatermarkStore(database: $0).reports() }
        }
    }
}
#endif
