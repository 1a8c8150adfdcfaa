#if CLI
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import Writ
import WritAudit
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritRevocation
import WritSQLite

/// `writ serve <role>`: runs a Writ server process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a Writ server (the authority).",
        subcommands: [ServeAuthorityCommand.self]
    )
}

/// `writ serve authority --config FILE`: the credential authority over HTTP, until SIGTERM or SIGINT.
struct ServeAuthorityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authority",
        abstract: "Run the credential authority over HTTP (stops gracefully on SIGTERM or SIGINT).",
        discussion: """
            Reads a JSON configuration. Relative paths in it are relative to the configuration file's directory.
            Key files and the SQLite store are created on first start when absent (their paths are printed).
            Once listening, prints `listening on http://HOST:PORT` on standard output.

            Example configuration:
            \(AuthorityServeConfig.example)
            """
    )

    @Option(name: .long, help: "The JSON configuration file.")
    var config: String?

    @Flag(name: .long, help: "Print an example configuration and exit.")
    var printExampleConfig = false

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String = "info"

    func run() async throws {
        if printExampleConfig {
            print(AuthorityServeConfig.example)
            return
        }
        guard let config else { throw CLIError.input("--config: missing (see --print-example-config)") }
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw CLIError.input("--log-level: '\(logLevel)' is not a log level")
        }
        var logger = Logger(label: "writ.authority", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level

        let settings = try AuthorityServeConfig.load(config)
        let locator = try StoreLocator.parse(settings.store, option: "store")
        let databasePath: String
        switch locator {
        case .sqlite(let path): databasePath = path
        case .postgres:
            throw CLIError.input("store: PostgreSQL stores are not available in `writ serve` yet (\(locator))")
        case .file:
            throw CLIError.input("store: `writ serve` needs sqlite:PATH (\(locator))")
        }
        let classes = try settings.classes()
        let issuerKey = try loadOrCreatePrivateKey(settings.keys.issuer, what: "issuer")
        let revocationKey = try loadOrCreatePrivateKey(settings.keys.revocation, what: "revocation")
        let auditKey = try loadOrCreatePrivateKey(settings.keys.audit, what: "audit")
        let saltKey = try loadOrCreatePrivateKey(settings.keys.auditSalt, what: "audit salt")
        var operatorKeys = Set<Ed25519.PublicKey>()
        for path in settings.operatorKeys {
            do { operatorKeys.insert(try KeyFiles.readPublic(path)) } catch let error as CLIError {
                throw CLIError.input("operatorKeys: \(error.message)")
            }
        }
        var serviceKeys: [String: Ed25519.PublicKey] = [:]
        for (name, path) in settings.serviceKeys ?? [:] {
            do { serviceKeys[name] = try KeyFiles.readPublic(path) } catch let error as CLIError {
                throw CLIError.input("serviceKeys.\(name): \(error.message)")
            }
        }
        let origin: WritOrigin
        let originText = settings.origin ?? "http://\(settings.listen.host):\(settings.listen.port)"
        do { origin = try WritOrigin(originText) } catch {
            throw CLIError.input("origin: '\(originText)' is not an origin (\(error))")
        }

        let existed = FileManager.default.fileExists(atPath: databasePath)
        let database = try StoreLocator.openSQLite(databasePath, create: true, option: "store")
        if !existed { writeLine("created store sqlite:\(databasePath)") }
        let publisher = RevocationPublisher(
            store: SQLiteRevocationStore(database: database),
            signer: revocationKey,
            clock: SystemClock(),
            watermarks: SQLiteWatermarkStore(database: database)
        )
        for (name, key) in serviceKeys { publisher.register(verifier: name, key: key) }
        let auditLog: AuditLog
        do {
            auditLog = try await AuditLog.open(
                store: SQLiteAuditStore(database: database),
                service: "authority",
                signingKey: auditKey,
                salt: try AuditSalt(saltKey.seed)
            )
        } catch {
            throw CLIError.input("store: the authority's audit log: \(error)")
        }
        // Join tokens live in memory: a restart forgets unredeemed ones (operators issue new ones).
        let attestor = JoinTokenAttestor(clock: SystemClock())
        let authority = CredentialAuthority(
            .init(
                issuerKey: issuerKey,
                agentClasses: classes,
                entitlements: settings.entitlementTable(),
                revocations: publisher,
                audit: auditLog,
                store: SQLiteAuthorityStore(database: database),
                attestor: attestor
            )
        )
        let routes = WritAuthorityRoutes(
            authority: authority,
            publisher: publisher,
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: origin,
                    audience: settings.audience ?? "writ-authority",
                    issuers: TrustBundle(trusting: issuerKey.publicKey),
                    operatorKeys: operatorKeys,
                    serviceKeys: serviceKeys,
                    sharedNonces: SQLiteNonceStore(database: database)
                ),
                auditLog: auditLog,
                joinTokens: attestor,
                logger: logger
            )
        )
        let router = Router(context: WritBasicRequestContext.self)
        routes.add(to: router)
        let host = settings.listen.host
        let listenPort = settings.listen.port
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: settings.listen.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listenPort
                writeLine("listening on http://\(host):\(port)")
            },
            logger: logger
        )
        try await runServices([app, PublisherService(publisher: publisher, logger: logger)], logger: logger) {
            "cannot serve on \(host):\(listenPort)"
        }
        writeLine("stopped")
    }
}

/// The publisher's head loop as a service (cancelled on graceful shutdown).
struct PublisherService: Service {
    let publisher: RevocationPublisher
    let logger: Logger

    func run() async throws {
        let logger = logger
        await cancelWhenGracefulShutdown {
            await publisher.run(onError: { logger.warning("revocation head: \($0)") })
        }
    }
}

/// Runs `services` in a service group until SIGTERM or SIGINT; a failure becomes an exit-2 error described by
/// `context`.
func runServices(
    _ services: [any Service],
    logger: Logger,
    context: () -> String
) async throws {
    let group = ServiceGroup(
        configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
    do {
        try await group.run()
    } catch {
        throw CLIError.input("\(context()): \(error)")
    }
}
#endif
