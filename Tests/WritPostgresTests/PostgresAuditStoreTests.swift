#if Postgres
import Foundation
import PostgresNIO
import Testing
import WritAudit
import WritCrypto
@_spi(Testing) import WritPostgres
import WritTesting

@Suite(
    "PostgresAuditStore",
    .serialized,
    .enabled(if: PostgresTestEnvironment.enabled, PostgresTestEnvironment.skipNote)
)
struct PostgresAuditStoreTests {
    @Test(
        "keeps the audit store contract (shared conformance suite, each check in a fresh schema)",
        arguments: AuditStoreConformance.Check.allCases
    )
    func conformance(_ check: AuditStoreConformance.Check) async throws {
        try await PostgresFixture.with { fixture, service in
            try await AuditStoreConformance(
                makeStore: { PostgresAuditStore(service: service) },
                reopen: { _ in PostgresAuditStore(service: try await fixture.service()) },
                openPeer: { _ in PostgresAuditStore(service: try await fixture.service()) }
            ).run(check)
        }
    }

    @Test("two logs in one schema are independent; a deleted entry row reads as tampered, never as a short log")
    func logsAndTamper() async throws {
        try await PostgresFixture.with { fixture, service in
            let key = Ed25519.PrivateKey()
            let keys = AuditKeyring(logKey: key.publicKey, name: "pg")
            let a = PostgresAuditStore(service: service, log: "a")
            let b = PostgresAuditStore(service: service, log: "b")
            let logA = try await AuditLog.open(store: a, service: "pg", signingKey: key, salt: AuditSalt())
            let logB = try await AuditLog.open(store: b, service: "pg", signingKey: key, salt: AuditSalt())
            for i in 0..<5 { _ = try await logA.record(AuditEvent(.used, tokenID: "a-\(i)")) }
            _ = try await logB.record(AuditEvent(.used, tokenID: "b-0"))
            let counts = (try await a.count(), try await b.count())
            #expect(counts == (5, 1))
            #expect(try await AuditVerifier.verify(store: a, keys: keys).isVerified)
            #expect(try await AuditVerifier.verify(store: b, keys: keys).isVerified)
            let s = "\"\(fixture.schema)\""
            try await fixture.sql("DELETE FROM \(unescaped: s).audit_entries WHERE log = 'a' AND index = 2")
            let error = await #expect(throws: AuditError.self) { _ = try await a.readAll() }
            #expect(error?.code == .tampered)
        }
    }
}
#endif
