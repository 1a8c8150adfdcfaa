#if Postgres
import Foundation
import PostgresNIO
import Testing
import WritCrypto
import WritPostgres
import WritRevocation
import WritTokens

/// A server with `ssl = on` (`.ci/pg-clusters` makes one with a self-signed certificate): `WRIT_POSTGRES_TLS_URL`
/// names it with `sslmode=require` and `sslrootcert` its certificate. Unset, the TLS tests skip; set but
/// unreachable, they fail.
enum TLSServer {
    static let url = ProcessInfo.processInfo.environment["WRIT_POSTGRES_TLS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let skipNote = Comment(
        rawValue: "TLS tests skipped: set WRIT_POSTGRES_TLS_URL (a server with ssl = on; sslrootcert its certificate)"
    )

    /// An unrelated self-signed certificate (its key thrown away): a root that signed nothing this server has.
    static let otherRoot = """
        -----BEGIN CERTIFICATE-----
        MIIBrTCCAVOgAwIBAgIUUxvewVcW0N/eg4PeEfIq39nd1lIwCgYIKoZIzj0EAwIw
        KzEpMCcGA1UEAwwgV3JpdCB0ZXN0IENBIHRoYXQgc2lnbmVkIG5vdGhpbmcwIBcN
        MjYxMjAxMTQ0MTQxWhgPMjEyNjExMDcxNDQxNDFaMCsxKTAnBgNVBAMMIFdyaXQg
        dGVzdCBDQSB0aGF0IHNpZ25lZCBub3RoaW5nMFkwEwYHKoZIzj0CAQYIKoZIzj0D
        AQcDQgAE+SyV95v8C05zcyPZAAGkotgLBRtsDjR5xaT+54uwVHgYh2lGCIlH21w0
        tzkF2RrTao/Lf/xF1mARGwauMsItdqNTMFEwHQYDVR0OBBYEFMyxR1av7UOtD1e+
        88doPgfCSzgWMB8GA1UdIwQYMBaAFMyxR1av7UOtD1e+88doPgfCSzgWMA8GA1Ud
        EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgLO0hiScsGp29/wPTCDn4ar1H
        SH+iqAra/pE4g9Q/DW8CIQDBsUgxLoXVS0gClTqh6bOuvi5R7HBuKnkaDpj7hUYk
        wA==
        -----END CERTIFICATE-----

        """

    /// The configured URL with its query parameters changed (`nil` removes one).
    static func configuration(_ changes: [String: String?] = [:]) throws -> WritPostgresConfiguration {
        let text = try #require(url)
        var components = try #require(URLComponents(string: text))
        var items = components.queryItems ?? []
        for (name, value) in changes {
            items.removeAll { $0.name == name }
            if let value { items.append(URLQueryItem(name: name, value: value)) }
        }
        components.queryItems = items
        let changed = try #require(components.string)
        var configuration = try WritPostgresConfiguration(url: changed, schema: PostgresFixture.schemaName())
        configuration.connectTimeout = .seconds(3)
        configuration.maximumConnections = 2
        return configuration
    }

    /// Runs `body` with a running service, then stops it.
    static func withService<T>(
        _ configuration: WritPostgresConfiguration,
        _ body: (WritPostgresService) async throws -> T
    ) async throws -> T {
        let service = try WritPostgresService(configuration: configuration)
        let task = Task { try? await service.run() }
        defer { task.cancel() }
        return try await body(service)
    }
}

@Suite("WritPostgres over TLS", .serialized, .enabled(if: TLSServer.url != nil, TLSServer.skipNote))
struct PostgresTLSTests {
    @Test("sslmode=require with the server's certificate as root: the stores work, over TLS connections only")
    func requireConnects() async throws {
        let configuration = try TLSServer.configuration()
        #expect(configuration.tls == .require)
        try await TLSServer.withService(configuration) { service in
            // A first TLS connection in a debug build under a loaded full-suite run has taken over 3 s.
            try await PostgresFixture.retryingUnreachable { try await service.migrate() }
            let key = Ed25519.PrivateKey()
            let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
            let store = PostgresRevocationStore(service: service)
            let written = try await store.append(
                [RevocationRequest(.task("t"), reason: .manual, at: now, coversUntil: now)],
                signer: key,
                minimum: nil
            )
            #expect(try await store.contents().entries == written)
            let nonce = ReplayNonce.random()
            let nonces = PostgresNonceStore(service: service)
            let first = try await nonces.insertIfAbsent(nonce, expiresAt: now.advanced(by: .seconds(60)))
            let again = try await nonces.insertIfAbsent(nonce, expiresAt: now.advanced(by: .seconds(60)))
            #expect(first && !again)
            // What the server says of this deployment's connections (asked over a plain one of the test's own:
            // the server accepts both, so only the client's sslmode kept Writ's connections on TLS).
            var plain = PostgresConnection.Configuration(
                host: configuration.host,
                port: configuration.port,
                username: configuration.username,
                password: configuration.password,
                database: configuration.database,
                tls: .disable
            )
            plain.options.connectTimeout = .seconds(3)
            let connection = try await PostgresConnection.connect(
                configuration: plain,
                id: 1,
                logger: .init(label: "tls")
            )
            let counts: (Int64, Int64)
            do {
                counts =
                    try await connection.query(
                        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'writ'",
                        logger: .init(label: "tls")
                    ).collect().first?.decode((Int64, Int64).self) ?? (0, 0)
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
            #expect(counts.0 >= 1 && counts.1 == 0, "writ's connections: \(counts.0) over TLS, \(counts.1) plain")
            _ = try await store.page(after: 0, limit: 1)
        }
    }

    @Test("sslmode=verify-full with a root that did not sign the server's certificate: a typed error, no connection")
    func untrustedRoot() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("writ-other-root-\(UUID()).pem")
        try Data(TLSServer.otherRoot.utf8).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        for changes: [String: String?] in [
            ["sslmode": "verify-full", "sslrootcert": path.path],
            ["sslmode": "verify-ca", "sslrootcert": path.path],
            ["sslmode": "require", "sslrootcert": nil],  // the system's roots did not sign it either
        ] {
            let configuration = try TLSServer.configuration(changes)
            let error = try await TLSServer.withService(configuration) { service in
                await #expect(throws: PostgresStoreError.self) { try await service.migrate() }
            }
            #expect(error?.code == .tlsUntrusted, "\(changes): \(String(describing: error))")
            #expect(error?.context.contains("certificate") == true, "\(String(describing: error))")
        }
    }

    @Test("an unreadable sslrootcert is a configuration error, not a silent fallback to the system's roots")
    func missingRootFile() async throws {
        let configuration = try TLSServer.configuration(["sslrootcert": "/nonexistent/writ-root.pem"])
        let error = #expect(throws: PostgresStoreError.self) {
            _ = try WritPostgresService(configuration: configuration)
        }
        #expect(error?.code == .invalidConfiguration, "\(String(describing: error))")
    }
}
#endif
