#if CLI
import Foundation
import Logging
import ServiceLifecycle
import Writ
import WritAudit
import WritPostgres
import WritRevocation
import WritSQLite
import WritTokens

/// The durable stores of one `writ serve` process, on SQLite (`sqlite:PATH`) or PostgreSQL (`postgres://…`).
///
/// A PostgreSQL store needs its ``WritPostgresService`` running before any store is used: ``services`` holds it
/// (put it first in the service group, so it stops last) and ``prepare()`` migrates the schema once it runs.
struct ServeStores: Sendable {
    /// The authority's versioned records and join tokens.
    let authority: any AuthorityStore
    /// The revocation feed.
    let revocations: any RevocationStore
    /// Verifiers' watermark reports.
    let watermarks: any WatermarkStore
    /// Proof nonces.
    let nonces: any NonceStore
    /// Opens the audit store of the log named `log`.
    let audit: @Sendable (_ log: String) -> any AuditStore
    /// Services the stores need running (the PostgreSQL pool).
    let services: [any Service]
    /// Runs once those services run: creates or upgrades a PostgreSQL schema.
    let prepare: @Sendable () async throws -> Void
    /// The locator, without secrets.
    let locator: StoreLocator

    /// Opens (creating when absent) the stores `locator` names, printing what it created.
    static func open(_ locator: StoreLocator, option: String, logger: Logger) throws -> ServeStores {
        switch locator {
        case .sqlite(let path):
            let existed = FileManager.default.fileExists(atPath: path)
            let database = try StoreLocator.openSQLite(path, create: true, option: option)
            if !existed { writeLine("created store sqlite:\(path)") }
            return ServeStores(
                authority: SQLiteAuthorityStore(database: database),
                revocations: SQLiteRevocationStore(database: database),
                watermarks: SQLiteWatermarkStore(database: database),
                nonces: SQLiteNonceStore(database: database),
                audit: { log in SQLiteAuditStore(database: database, log: log) },
                services: [],
                prepare: {},
                locator: locator
            )
        case .postgres(let url):
            #if Postgres
            let service: WritPostgresService
            do {
                service = try WritPostgresService(
                    configuration: try WritPostgresConfiguration(url: url),
                    logger: logger
                )
            } catch {
                throw CLIError.input("\(option): \(error) (\(locator))")
            }
            return ServeStores(
                authority: PostgresAuthorityStore(service: service),
                revocations: PostgresRevocationStore(service: service),
                watermarks: PostgresWatermarkStore(service: service),
                nonces: PostgresNonceStore(service: service),
                audit: { log in PostgresAuditStore(service: service, log: log) },
                services: [service],
                prepare: {
                    do { try await service.migrate() } catch {
                        throw CLIError.input("\(option): PostgreSQL \(locator): \(error)")
                    }
                    writeLine("using store \(locator) (schema \(service.configuration.schema))")
                },
                locator: locator
            )
            #else
            throw locator.notAvailable(option, in: "serve")
            #endif
        case .file:
            throw CLIError.input("\(option): `writ serve` needs sqlite:PATH or postgres://… (\(locator))")
        }
    }
}

/// A service that builds the services it runs once it runs (after the store's pool is up, for instance), then
/// runs them together: they inherit its graceful shutdown.
struct StagedService: Service {
    let setup: @Sendable () async throws -> [any Service]

    func run() async throws {
        let services = try await setup()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services { group.addTask { try await service.run() } }
            // Not `waitForAll()`: it waits for every child before rethrowing, so one failed service (a port in
            // use) would wait for the others to stop by themselves.
            do {
                while try await group.next() != nil {}
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
#endif
