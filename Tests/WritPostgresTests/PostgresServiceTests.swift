#if Postgres
import Foundation
import Logging
import PostgresNIO
import Testing
import WritCrypto
@_spi(Testing) import WritPostgres
import WritRevocation
import WritTesting
import WritTokens

@Suite("WritPostgresConfiguration")
struct PostgresConfigurationTests {
    @Test("a URL gives host, port, credentials, database, TLS mode and schema; the description hides the password")
    func url() throws {
        let c = try WritPostgresConfiguration(
            url: "postgresql://writ%40svc:s%3Acret@db.internal:6543/prod%5Fdb?sslmode=require&schema=team_a"
        )
        #expect(c.host == "db.internal" && c.port == 6543)
        #expect(c.username == "writ@svc" && c.password == "s:cret" && c.database == "prod_db")
        #expect(c.tls == .require && c.schema == "team_a")
        #expect(!c.description.contains("cret"))
        #expect(try WritPostgresConfiguration(url: "postgres://u@h/d?sslmode=verify-ca").tls == .verifyCA)
        #expect(try WritPostgresConfiguration(url: "postgres://u@h/d?sslmode=disable").tls == .disable)
        #expect(try WritPostgresConfiguration(url: "postgres://u@h/d").tls == .prefer)
        #expect(try WritPostgresConfiguration(url: "postgres://u@h/d?schema=x", schema: "y").schema == "y")
    }

    @Test("bad URLs, unknown parameters (a misspelt sslmode), bad sslmodes and unsafe schema names are refused")
    func refusals() {
        for url in [
            "http://h/d", "postgres://h/d?ssl_mode=require", "postgres://h/d?sslmode=maybe",
            "postgres://h/d?schema=Team", "postgres://h/d?schema=a;drop", "postgres://h/d?schema=1a",
            "postgres://h:0/d", "postgres://h/d?schema=\(String(repeating: "a", count: 49))",
        ] {
            #expect(throws: PostgresStoreError(.invalidConfiguration, ""), "\(url)") {
                _ = try WritPostgresConfiguration(url: url)
            }
        }
    }

    @Test("the environment: WRIT_POSTGRES_URL first, else PG* variables, WRIT_POSTGRES_SCHEMA; nil when unset")
    func environment() throws {
        #expect(try WritPostgresConfiguration(environment: [:]) == nil)
        let url = try #require(
            try WritPostgresConfiguration(environment: [
                "WRIT_POSTGRES_URL": "postgres://a:b@h1:1111/d1", "PGHOST": "h2", "WRIT_POSTGRES_SCHEMA": "s1",
            ])
        )
        #expect(url.host == "h1" && url.port == 1111 && url.schema == "s1")
        let pg = try #require(
            try WritPostgresConfiguration(environment: [
                "PGHOST": "h2", "PGPORT": "2222", "PGUSER": "u", "PGPASSWORD": "p", "PGDATABASE": "d2",
                "PGSSLMODE": "require",
            ])
        )
        #expect(pg.host == "h2" && pg.port == 2222 && pg.username == "u" && pg.password == "p")
        #expect(pg.database == "d2" && pg.tls == .require && pg.schema == "writ")
        #expect(throws: PostgresStoreError(.invalidConfiguration, "")) {
            _ = try WritPostgresConfiguration(environment: ["PGHOST": "h", "PGPORT": "x"])
        }
    }
}

@Suite(
    "WritPostgresService",
    .serialized,
    .enabled(if: PostgresTestEnvironment.enabled, PostgresTestEnvironment.skipNote)
)
struct PostgresServiceTests {
    /// Runs `body` with a running service for `configuration`, then stops it.
    func withService<T>(
        _ configuration: WritPostgresConfiguration,
        _ body: (WritPostgresService) async throws -> T
    ) async throws -> T {
        let service = try WritPostgresService(configuration: configuration)
        let task = Task { try? await service.run() }
        defer { task.cancel() }
        return try await body(service)
    }

    @Test("migrations create a versioned schema, are idempotent, and several deployments share one database")
    func migrations() async throws {
        try await PostgresFixture.with { fixture, service in
            try await service.migrate()  // again: nothing to do
            let other = try PostgresFixture()
            let second = try await other.service()
            try await second.migrate()
            let key = Ed25519.PrivateKey()
            let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
            let request = RevocationRequest(.task("t"), reason: .manual, at: now, coversUntil: now)
            _ = try await PostgresRevocationStore(service: service).append([request], signer: key, minimum: nil)
            let separate = try await PostgresRevocationStore(service: second).contents()
            #expect(separate.entries.isEmpty, "another schema is another deployment")
            let version = try await fixture.raw.query(
                "SELECT product, version FROM \(unescaped: "\"\(fixture.schema)\"").writ_schema_version"
            ).collect().first?.decode((String, Int32).self)
            #expect(version?.0 == "writ" && version?.1 == Int32(WritPostgresService.schemaVersion))
            await other.close()
        }
    }

    @Test("concurrent migrations from several processes take turns")
    func concurrentMigrations() async throws {
        let fixture = try PostgresFixture()
        let services = try await [fixture.service(), fixture.service(), fixture.service()]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services { group.addTask { try await service.migrate() } }
            try await group.waitForAll()
        }
        await fixture.close()
    }

    @Test("a foreign schema (other tables, another product's version table) and a newer one are refused")
    func foreignAndNewerSchemas() async throws {
        let fixture = try PostgresFixture()
        let s = "\"\(fixture.schema)\""
        let service = try await fixture.service()
        try await fixture.sql("CREATE SCHEMA \(unescaped: s)")
        try await fixture.sql("CREATE TABLE \(unescaped: s).invoices (id int)")
        await #expect(throws: PostgresStoreError(.foreignSchema, "")) { try await service.migrate() }
        try await fixture.sql("DROP TABLE \(unescaped: s).invoices")
        try await fixture.sql("CREATE TABLE \(unescaped: s).writ_schema_version (product text, version int)")
        try await fixture.sql("INSERT INTO \(unescaped: s).writ_schema_version VALUES ('other', 1)")
        await #expect(throws: PostgresStoreError(.foreignSchema, "")) { try await service.migrate() }
        try await fixture.sql("UPDATE \(unescaped: s).writ_schema_version SET product = 'writ', version = 999")
        let error = await #expect(throws: PostgresStoreError.self) { try await service.migrate() }
        #expect(error?.code == .newerSchema)
        #expect(error?.context.contains("999") == true)
        await fixture.close()
    }

    @Test("wrong credentials and a missing database are clear errors")
    func wrongCredentialsAndMissingDatabase() async throws {
        let base = try PostgresTestEnvironment.configuration(schema: "writ")
        var wrong = base
        wrong.password = "definitely-not-the-password"
        wrong.username = "writ_no_such_user"
        let auth = try await withService(wrong) { service in
            await #expect(throws: PostgresStoreError.self) { try await service.migrate() }
        }
        #expect(auth?.code == .authenticationFailed, "got \(String(describing: auth))")
        var missing = base
        missing.database = "writ_no_such_database"
        let db = try await withService(missing) { service in
            await #expect(throws: PostgresStoreError.self) { try await service.migrate() }
        }
        #expect(db?.code == .databaseMissing, "got \(String(describing: db))")
    }

    @Test("sslmode=require never falls back to plain TCP (this server has TLS off: a tlsUnavailable error)")
    func tlsRequired() async throws {
        var base = try PostgresTestEnvironment.configuration(schema: "writ")
        base.tls = .require
        let error = try await withService(base) { service in
            await #expect(throws: PostgresStoreError.self) { try await service.migrate() }
        }
        // (A server with TLS on and a certificate this machine does not trust fails the handshake instead: also
        // tlsUnavailable. Either way no plaintext connection is made.)
        #expect(error?.code == .tlsUnavailable, "got \(String(describing: error))")
    }

    @Test("a statement queued behind a stalled client's lock fails typed after statementTimeout, never waits on")
    func statementTimeout() async throws {
        try await PostgresFixture.with { fixture, _ in
            var bounded = fixture.configuration
            bounded.statementTimeout = .milliseconds(800)
            let service = try await fixture.service(configuration: bounded)
            let table = "\"\(fixture.schema)\".nonces"
            // A stalled client: holds the nonce table locked in an open transaction for 6 s.
            let (locked, signal) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await fixture.raw.withConnection { connection in
                    let logger = Logger(label: "test")
                    try await connection.query("BEGIN", logger: logger)
                    try await connection.query(
                        "LOCK TABLE \(unescaped: table) IN ACCESS EXCLUSIVE MODE",
                        logger: logger
                    )
                    signal.yield()
                    try await connection.query("SELECT pg_sleep(6)", logger: logger)
                    try await connection.query("ROLLBACK", logger: logger)
                }
            }
            for await _ in locked { break }
            let started = ContinuousClock.now
            let error = await #expect(throws: NonceStoreError.self) {
                _ = try await PostgresNonceStore(service: service).insertIfAbsent(
                    .random(),
                    expiresAt: .init(secondsSinceEpoch: 1)
                )
            }
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            #expect("\(String(describing: error))".contains("57014"), "the server's statement timeout, by its code")
            #expect(ContinuousClock.now - started < .seconds(5), "failed before the holder let go")
            try await holder.value
        }
    }

    @Test("writes to a server that is gone fail with a typed error, and nothing is half-written")
    func serverGone() async throws {
        try await PostgresFixture.with { fixture, service in
            var unreachable = fixture.configuration
            unreachable.port = 1  // nothing listens there: as if the server were gone
            unreachable.connectTimeout = .seconds(1)
            let gone = try WritPostgresService(configuration: unreachable)
            let task = Task { try? await gone.run() }
            defer { task.cancel() }
            let store = PostgresRevocationStore(service: gone)
            let key = Ed25519.PrivateKey()
            let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
            let error = await #expect(throws: RevocationError.self) {
                _ = try await store.append(
                    [RevocationRequest(.task("t"), reason: .manual, at: now, coversUntil: now)],
                    signer: key,
                    minimum: nil
                )
            }
            #expect(error?.code == .storeUnavailable)
            #expect((error?.underlying as? PostgresStoreError)?.code == .unreachable, "\(String(describing: error))")
            let nonceError = await #expect(throws: NonceStoreError.self) {
                _ = try await PostgresNonceStore(service: gone).insertIfAbsent(.random(), expiresAt: now)
            }
            #expect(nonceError?.code == .unavailable)
            #expect(try await PostgresRevocationStore(service: service).contents().entries.isEmpty)
        }
    }
}

@Suite(
    "PostgresNonceStore",
    .serialized,
    .enabled(if: PostgresTestEnvironment.enabled, PostgresTestEnvironment.skipNote)
)
struct PostgresNonceStoreTests {
    @Test("keeps the nonce store contract (shared conformance suite)")
    func conformance() async throws {
        try await PostgresFixture.with { fixture, service in
            let reopened = try await fixture.service()
            let peer = try await fixture.service()
            let failures = try await NonceStoreConformance(
                makeStore: { PostgresNonceStore(service: service, clock: $0) },
                reopen: { PostgresNonceStore(service: reopened, clock: $0) },
                openPeer: { PostgresNonceStore(service: peer, clock: $0) }
            ).run()
            #expect(failures.isEmpty, "\(failures)")
        }
    }

    @Test("pruning deletes only expired nonces")
    func pruning() async throws {
        try await PostgresFixture.with { fixture, service in
            let clock = ManualClock()
            let store = PostgresNonceStore(service: service, clock: clock)
            let soon = clock.now().advanced(by: .seconds(10))
            let later = clock.now().advanced(by: .seconds(100))
            let kept = ReplayNonce.random()
            let first = try await store.insertIfAbsent(.random(), expiresAt: soon)
            let second = try await store.insertIfAbsent(kept, expiresAt: later)
            #expect(first && second)
            clock.advance(by: .seconds(10))
            let pruned = try await store.prune()
            #expect(pruned == 1)
            let again = try await store.insertIfAbsent(kept, expiresAt: later)
            #expect(!again, "an unexpired nonce survives pruning")
        }
    }
}
#endif
