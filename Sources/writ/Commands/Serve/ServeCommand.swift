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
        abstract: "Run a Writ server: the authority, a Writ-protected service, or the credential broker.",
        subcommands: [ServeAuthorityCommand.self, ServeServiceCommand.self, ServeBrokerCommand.self]
            + serveMCPSubcommands  // `mcp` with the MCP trait (ServeMCPCommand.swift)
    )
}

/// `writ serve authority --config FILE`: the credential authority over HTTP, until SIGTERM or SIGINT.
struct ServeAuthorityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authority",
        abstract: "Run the credential authority over HTTP (stops gracefully on SIGTERM or SIGINT).",
        discussion: """
            Reads a JSON configuration. Relative paths in it are relative to the configuration file's directory.
            Key files and the store (`sqlite:PATH`, or `postgres://USER:PASSWORD@HOST:PORT/DATABASE?schema=NAME`,
            whose schema is created or upgraded at start) are created on first start when absent (their paths are
            printed). Join tokens are kept in the store, so a restart still accepts the outstanding ones.
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
        var baseLogger = Logger(label: "writ.authority", factory: { StreamLogHandler.standardError(label: $0) })
        baseLogger.logLevel = level
        let logger = baseLogger

        let settings = try AuthorityServeConfig.load(config)
        let locator = try StoreLocator.parse(settings.store, option: "store")
        let classes = try settings.classes()
        let issuerKey = try loadOrCreatePrivateKey(settings.keys.issuer, what: "issuer")
        let revocationKey = try loadOrCreatePrivateKey(settings.keys.revocation, what: "revocation")
        let auditKey = try loadOrCreatePrivateKey(settings.keys.audit, what: "audit")
        let saltKey = try loadOrCreatePrivateKey(settings.keys.auditSalt, what: "audit salt")
        var operatorKeySet = Set<Ed25519.PublicKey>()
        for path in settings.operatorKeys {
            do { operatorKeySet.insert(try KeyFiles.readPublic(path)) } catch let error as CLIError {
                throw CLIError.input("operatorKeys: \(error.message)")
            }
        }
        var serviceKeyTable: [String: Ed25519.PublicKey] = [:]
        for (name, path) in settings.serviceKeys ?? [:] {
            do { serviceKeyTable[name] = try KeyFiles.readPublic(path) } catch let error as CLIError {
                throw CLIError.input("serviceKeys.\(name): \(error.message)")
            }
        }
        let origin: WritOrigin
        let originText = settings.origin ?? "http://\(settings.listen.host):\(settings.listen.port)"
        do { origin = try WritOrigin(originText) } catch {
            throw CLIError.input("origin: '\(originText)' is not an origin (\(error))")
        }
        let salt: AuditSalt
        do { salt = try AuditSalt(saltKey.seed) } catch { throw CLIError.input("audit salt key: \(error)") }

        let stores = try ServeStores.open(locator, option: "store", logger: logger)
        let operatorKeys = operatorKeySet
        let serviceKeys = serviceKeyTable
        let host = settings.listen.host
        let listenPort = settings.listen.port
        let entitlements = settings.entitlementTable()
        let audience = settings.audience ?? "writ-authority"
        let setup = StagedService {
            try await stores.prepare()
            let publisher = RevocationPublisher(
                store: stores.revocations,
                signer: revocationKey,
                clock: SystemClock(),
                watermarks: stores.watermarks
            )
            for (name, key) in serviceKeys { publisher.register(verifier: name, key: key) }
            let auditLog: AuditLog
            do {
                auditLog = try await AuditLog.open(
                    store: stores.audit("audit"),
                    service: "authority",
                    signingKey: auditKey,
                    salt: salt
                )
            } catch {
                throw CLIError.input("store: the authority's audit log: \(error)")
            }
            // Join tokens live in the authority's store: a restart (or another replica) still accepts them once.
            let attestor = JoinTokenAttestor(clock: SystemClock(), store: stores.authority)
            let authority = CredentialAuthority(
                .init(
                    issuerKey: issuerKey,
                    agentClasses: classes,
                    entitlements: entitlements,
                    revocations: publisher,
                    audit: auditLog,
                    store: stores.authority,
                    attestor: attestor
                )
            )
            let routes = WritAuthorityRoutes(
                authority: authority,
                publisher: publisher,
                configuration: .init(
                    authenticator: WritCallerAuthenticator(
                        origin: origin,
                        audience: audience,
                        issuers: TrustBundle(trusting: issuerKey.publicKey),
                        operatorKeys: operatorKeys,
                        serviceKeys: serviceKeys,
                        sharedNonces: stores.nonces
                    ),
                    auditLog: auditLog,
                    joinTokens: attestor,
                    logger: logger
                )
            )
            let router = Router(context: WritBasicRequestContext.self)
            routes.add(to: router)
            let app = Application(
                router: router,
                server: WritServerLimits().http1,  // head/body timeouts, header limits (HTTPBinding §6)
                configuration: .init(address: .hostname(host, port: listenPort)),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? listenPort
                    writeLine("listening on http://\(host):\(port)")
                },
                logger: logger
            )
            return [app, PublisherService(publisher: publisher, logger: logger)]
        }
        try await runServices(stores.services + [setup], logger: logger) {
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
/// `context` (a ``CLIError`` a service throws passes through as it is).
func runServices(
    _ services: [any Service],
    logger: Logger,
    context: () -> String
) async throws {
    let group = ServiceGroup(
        configuration: .init(
            services: services.map(serviceConfiguration),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
    do {
        try await group.run()
    } catch let error as CLIError {
        throw error
    } catch {
        throw CLIError.input("\(context()): \(error)")
    }
}

/// A service's place in a group: a ``StagedService`` that returns (nothing to serve, or a one-shot job done)
/// shuts the group down gracefully; any other service ending ends the group.
func serviceConfiguration(_ service: any Service) -> ServiceGroupConfiguration.ServiceConfiguration {
    service is StagedService
        ? .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup) : .init(service: service)
}
#endif
