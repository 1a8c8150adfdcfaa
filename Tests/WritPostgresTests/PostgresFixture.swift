#if Postgres
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
@_spi(Testing) import WritPostgres

/// Where the PostgreSQL tests connect: `WRIT_POSTGRES_URL`. Unset, they skip with a note; with
/// `WRIT_REQUIRE_POSTGRES=1` (CI) they run anyway, so an unset URL or an unreachable server fails them.
enum PostgresTestEnvironment {
    static let url = ProcessInfo.processInfo.environment["WRIT_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let required = ProcessInfo.processInfo.environment["WRIT_REQUIRE_POSTGRES"] == "1"
    static var enabled: Bool { url != nil || required }
    static let skipText =
        "PostgreSQL tests skipped: set WRIT_POSTGRES_URL (e.g. postgres://postgres:postgres@127.0.0.1:5432/writ_test); "
        + "WRIT_REQUIRE_POSTGRES=1 makes an unset or unreachable server a failure"
    static let skipNote = Comment(rawValue: skipText)

    static func configuration(schema: String) throws -> WritPostgresConfiguration {
        guard let url else {
            throw PostgresStoreError(.invalidConfiguration, "WRIT_REQUIRE_POSTGRES=1 but WRIT_POSTGRES_URL is not set")
        }
        var configuration = try WritPostgresConfiguration(url: url, schema: schema)
        configuration.maximumConnections = 3
        // The wait for a pooled connection: a loaded full-suite run (many schemas and pools at once on 2 cores)
        // has taken over 3 s; an unreachable server still fails at once (connection refused).
        configuration.connectTimeout = .seconds(10)
        return configuration
    }
}

/// A fresh schema for one test, services on it (each its own pool, as separate processes would have), and a raw
/// client for writing the tables as an attacker would. ``close()`` stops everything and drops the schema.
final class PostgresFixture: Sendable {
    let schema: String
    let configuration: WritPostgresConfiguration
    let raw: PostgresClient
    private let tasks = Mutex<[Task<Void, Never>]>([])
    private let services = Mutex<[WritPostgresService]>([])

    static func schemaName() -> String {
        "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    init(schema: String = PostgresFixture.schemaName()) throws {
        self.schema = schema
        configuration = try PostgresTestEnvironment.configuration(schema: schema)
        var rawConfiguration = PostgresClient.Configuration(
            host: configuration.host,
            port: configuration.port,
            username: configuration.username,
            password: configuration.password,
            database: configuration.database,
            tls: .disable
        )
        rawConfiguration.options.maximumConnections = 2
        rawConfiguration.options.connectTimeout = .seconds(3)
        raw = PostgresClient(configuration: rawConfiguration)
        let raw = self.raw
        tasks.withLock { $0.append(Task { await raw.run() }) }
    }

    /// Runs `body` with a fixture whose schema is migrated, then closes it (also when `body` throws).
    static func with<T>(
        pollInterval: Duration = .milliseconds(200),
        _ body: (PostgresFixture, WritPostgresService) async throws -> T
    ) async throws -> T {
        let fixture = try PostgresFixture()
        do {
            let service = try await fixture.service(pollInterval: pollInterval)
            try await service.migrate()
            let value = try await body(fixture, service)
            await fixture.close()
            return value
        } catch {
            await fixture.close()
            throw error
        }
    }

    /// A new running service on the fixture's schema (another process's pool).
    func service(
        pollInterval: Duration = .milliseconds(200),
        configuration: WritPostgresConfiguration? = nil
    ) async throws -> WritPostgresService {
        let service = try WritPostgresService(
            configuration: configuration ?? self.configuration,
            pollInterval: pollInterval,
            initialBackoff: .milliseconds(50),
            maximumBackoff: .milliseconds(400)
        )
        services.withLock { $0.append(service) }
        tasks.withLock { $0.append(Task { try? await service.run() }) }
        return service
    }

    /// Runs raw SQL (test support: the attacker, or setting up a foreign schema), giving up after the
    /// configuration's connect timeout when no connection comes (postgres-nio's pool would wait a minute).
    func sql(_ query: PostgresQuery) async throws {
        _ = try await rawQuery(query)
    }

    /// Runs raw SQL and collects its rows, bounded like ``sql(_:)``.
    func rawQuery(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let raw = self.raw
        let limit = configuration.connectTimeout
        return try await withThrowingTaskGroup(of: [PostgresRow]?.self) { group in
            group.addTask { try await raw.query(query).collect() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let rows = try await group.next() ?? nil else {
                throw PostgresStoreError(.unreachable, "the test's raw connection: none within \(limit)")
            }
            return rows
        }
    }

    /// Stops the services (so none still holds a lock on the schema), drops the schema, then stops the raw client.
    func close() async {
        let all = tasks.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        let services = all.dropFirst()  // the first is the raw client's
        for task in services.reversed() { task.cancel() }
        for task in services { await task.value }
        _ = try? await rawQuery("DROP SCHEMA IF EXISTS \(unescaped: "\"\(schema)\"") CASCADE")
        all.first?.cancel()
        await all.first?.value
    }

    /// Runs `body` until it stops failing with ``PostgresStoreError`` `unreachable`, for at most `patience`: a first
    /// pooled connection under a loaded full-suite run can take longer than a test's short connect timeout.
    static func retryingUnreachable<T>(
        for patience: Duration = .seconds(30),
        _ body: () async throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                return try await body()
            } catch let error as PostgresStoreError where error.code == .unreachable && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

/// Waits until `condition` holds, checking every 20 ms, for at most `timeout`.
func eventually(
    timeout: Duration = .seconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

@Suite("PostgreSQL environment")
struct PostgresEnvironmentTests {
    @Test("the PostgreSQL tests say whether they run, and fail when required but unconfigured")
    func environment() {
        if PostgresTestEnvironment.url == nil {
            if PostgresTestEnvironment.required {
                Issue.record("WRIT_REQUIRE_POSTGRES=1 but WRIT_POSTGRES_URL is not set")
            } else {
                print("note: \(PostgresTestEnvironment.skipText)")
            }
        }
    }
}
#endif
