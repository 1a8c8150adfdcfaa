#if Postgres
import Foundation
import PostgresNIO
import Testing
import Writ
import WritCrypto
import WritIdentity
@_spi(Testing) import WritPostgres
import WritTesting

@Suite(
    "PostgresAuthorityStore",
    .serialized,
    .enabled(if: PostgresTestEnvironment.enabled, PostgresTestEnvironment.skipNote)
)
struct PostgresAuthorityStoreTests {
    @Test(
        "keeps the authority store contract (shared conformance suite, each check in a fresh schema)",
        arguments: AuthorityStoreConformance.Check.allCases
    )
    func conformance(_ check: AuthorityStoreConformance.Check) async throws {
        try await PostgresFixture.with { fixture, service in
            try await AuthorityStoreConformance(
                makeStore: { PostgresAuthorityStore(service: service) },
                reopen: { _ in PostgresAuthorityStore(service: try await fixture.service()) },
                openPeer: { _ in PostgresAuthorityStore(service: try await fixture.service()) }
            ).run(check)
        }
    }

    @Test("tamper: a row whose body is not a record, or is another key's record, reads as corrupt")
    func corruptRows() async throws {
        try await PostgresFixture.with { fixture, service in
            let store = PostgresAuthorityStore(service: service)
            let identity = try AgentIdentity("spiffe://acme.dev/agent/a")
            let token = JoinTokenRecord(
                digest: String(repeating: "ab", count: 32),
                identity: identity,
                agentClass: nil,
                supervisor: nil,
                expiresAt: Timestamp(secondsSinceEpoch: 1_800_000_000)
            )
            try await store.insertJoinToken(token)
            let s = "\"\(fixture.schema)\""
            try await fixture.sql("UPDATE \(unescaped: s).authority_records SET body = \(Data("{".utf8))")
            let error = await #expect(throws: AuthorityStoreError.self) {
                _ = try await store.record(for: .joinToken(digest: token.digest))
            }
            #expect(error?.code == .corrupt)
            var other = token
            other.digest = String(repeating: "cd", count: 32)
            let body = try JSONEncoder().encode(other)
            try await fixture.sql("UPDATE \(unescaped: s).authority_records SET body = \(body)")
            let moved = await #expect(throws: AuthorityStoreError.self) {
                _ = try await store.consumeJoinToken(digest: token.digest)
            }
            #expect(moved?.code == .corrupt, "a record moved under another key is not consumed")
        }
    }
}
#endif
