#if CLI
import ArgumentParser
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals
import Writ
import WritAudit
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// `writ serve service --config FILE`: a Writ-protected HTTP service (echo or fixed JSON answers per route).
struct ServeServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Run a Writ-protected HTTP service that follows an authority's revocation feed.",
        discussion: """
            Reads a JSON configuration. Relative paths in it are relative to the configuration file's directory.
            At start it fetches the authority's trust bundle and catches up its signed revocation feed; only then
            does it listen (it prints `ready` and `listening on http://HOST:PORT`). Until then nothing listens:
            it retries every half second, for `readinessTimeoutSeconds` when given (then exits 2). While serving,
            it refuses every request with 503 (stale revocation data) once the feed is older than
            `maxStalenessSeconds`. Its audit, audit-salt and report keys and its store are created on first start
            (paths printed); the report key's public half is written to `<report>.pub` for the authority's
            `serviceKeys`. A request matching no route gets 404 before any check; a granted one gets the route's
            `response` (or a JSON echo of the grant).

            Example configuration:
            \(VerifierServeConfig.serviceExample)
            """
    )

    @OptionGroup var options: VerifierOptions

    func run() async throws { try await options.run(role: "service") }
}

/// `writ serve broker --config FILE`: the credential broker as a reverse proxy in front of a static-key API.
struct ServeBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the credential broker: a Writ-verifying reverse proxy that injects a static key upstream.",
        discussion: """
            Verifies Writ tokens as `writ serve service` does (same readiness and staleness rules, same keys and
            store), then forwards each granted request to `upstream.url` with the key from `upstream.secretFile`
            in `upstream.header` (it is sealed in memory; agents never see it, and upstream never sees their Writ
            headers). Every task gets a session limited to `session.operations`, `session.rateLimit` calls per
            `session.windowSeconds`.

            Example configuration:
            \(VerifierServeConfig.brokerExample)
            """
    )

    @OptionGroup var options: VerifierOptions

    func run() async throws { try await options.run(role: "broker") }
}

/// The options `writ serve service` and `writ serve broker` share.
struct VerifierOptions: ParsableArguments {
    @Option(name: .long, help: "The JSON configuration file.")
    var config: String?

    @Flag(name: .long, help: "Print an example configuration and exit.")
    var printExampleConfig = false

    @Flag(name: .long, help: "Print the audit log's entries (one JSON object a line) from the store and exit.")
    var printAudit = false

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String = "info"

    func run(role: String) async throws {
        if printExampleConfig {
            print(VerifierServeConfig.example(role))
            return
        }
        guard let config else { throw CLIError.input("--config: missing (see --print-example-config)") }
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw CLIError.input("--log-level: '\(logLevel)' is not a log level")
        }
        var logger = Logger(label: "writ.\(role)", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level
        let settings = try VerifierServeConfig.load(config, role: role)
        let server = try VerifierServer(settings: settings, role: role, logger: logger)
        if printAudit {
            try await server.printAudit()
        } else {
            try await server.run()
        }
    }
}

/// One `writ serve service` or `writ serve broker` process.
struct VerifierServer: Sendable {
    let settings: VerifierServeConfig
    let role: String
    let logger: Logger
    let stores: ServeStores
    let auditKey: Ed25519.PrivateKey
    let salt: AuditSalt
    let reportKey: Ed25519.PrivateKey
    let policies: PolicySet
    let classes: [AgentClass]
    let routes: WritRouteMap
    let origin: WritOrigin
    let authorityOrigin: WritOrigin
    let staleness: Duration
    /// Who may read the audit log at `GET /v1/audit` (empty: the route is off).
    let operatorKeys: Set<Ed25519.PublicKey>
    /// The trusted approvers (`approvers`), and the anomaly detectors (`detectors`).
    let approvers: WritApprovers?
    let detectors: [any AnomalyDetector]
    /// The authority's keys `authorityKeys` pins (`nil`: the trust bundle is trusted as served).
    let authorityPins: AuthorityKeyPins?

    init(settings: VerifierServeConfig, role: String, logger: Logger) throws {
        self.settings = settings
        self.role = role
        self.logger = logger
        let originText = settings.origin ?? "http://\(settings.listen.host):\(settings.listen.port)"
        do { origin = try WritOrigin(originText) } catch {
            throw CLIError.input("origin: '\(originText)' is not an origin (\(error))")
        }
        do { authorityOrigin = try WritOrigin(settings.authority) } catch {
            throw CLIError.input("authority: '\(settings.authority)' is not an origin (\(error))")
        }
        let policyText: String
        do { policyText = try readText(settings.policy) } catch {
            throw CLIError.input("policy: \(describe(error))")
        }
        do { policies = try PolicySet(text: policyText) } catch {
            throw CLIError.input("policy '\(settings.policy)': \(error)")
        }
        classes = try settings.classes()
        routes = try settings.routeMap()
        staleness = .seconds(settings.maxStalenessSeconds ?? 5)
        operatorKeys = try settings.operatorKeySet()
        approvers = try settings.approverSet()
        detectors = try settings.anomalyDetectors()
        authorityPins = try settings.authorityKeyPins()
        let locator = try StoreLocator.parse(settings.store ?? "", option: "store")
        auditKey = try loadOrCreatePrivateKey(settings.keys.audit, what: "audit")
        let saltKey = try loadOrCreatePrivateKey(settings.keys.auditSalt, what: "audit salt")
        do { salt = try AuditSalt(saltKey.seed) } catch { throw CLIError.input("audit salt key: \(error)") }
        reportKey = try loadOrCreatePrivateKey(settings.keys.report, what: "report")
        let publicPath = settings.keys.report + ".pub"
        if FileManager.default.fileExists(atPath: publicPath) {
            try checkPublicKeyFile(publicPath, matches: reportKey, what: "report")
        } else {
            try OutputFile.create(
                publicPath,
                contents: KeyFiles.publicText(reportKey.publicKey) + "\n",
                mode: 0o644,
                option: "report key"
            )
            writeLine("created report public key \(publicPath) (list it in the authority's serviceKeys)")
        }
        stores = try ServeStores.open(locator, option: "store", logger: logger)
    }

    /// Opens the verifier's audit log (the stores' services must run): its tail is checked against the signed
    /// checkpoint (`.tail`), or every entry (`.everyEntry`, for `--print-audit`).
    func openAudit(checking: AuditOpenCheck = .tail) async throws -> AuditLog {
        do {
            return try await AuditLog.open(
                store: stores.audit("audit"),
                service: settings.name,
                signingKey: auditKey,
                salt: salt,
                checking: checking
            )
        } catch {
            throw CLIError.input("store: the \(role)'s audit log: \(error)")
        }
    }

    /// `--print-audit`: the audit entries as JSON lines.
    func printAudit() async throws {
        let stores = self.stores
        let group = ServiceGroup(
            configuration: .init(
                services: (stores.services + [
                    StagedService {
                        try await stores.prepare()
                        let log = try await openAudit(checking: .everyEntry)
                        let encoder = JSONEncoder()
                        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                        for entry in try await log.entries(0..<log.size) {
                            let event = entry.event
                            var line: [String: String] = [
                                "index": String(entry.index), "kind": "\(event.kind)",
                            ]
                            line["agent"] = event.agent
                            line["task"] = event.task
                            line["action"] = event.action
                            line["resource"] = event.resource
                            line["decision"] = event.decision.map { "\($0)" }
                            line["reason"] = event.reason
                            writeLine(String(decoding: try encoder.encode(line), as: UTF8.self))
                        }
                        return []
                    }
                ]).map(serviceConfiguration),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do { try await group.run() } catch let error as CLIError { throw error } catch {
            throw CLIError.input("--print-audit: \(error)")
        }
    }

    /// Serves until SIGTERM or SIGINT.
    func run() async throws {
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow
        httpConfiguration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        do {
            try await serve(http)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        writeLine("stopped")
    }

    private func serve(_ http: HTTPClient) async throws {
        let client = WritAuthorityClient(
            origin: authorityOrigin,
            audience: settings.authorityAudience ?? "writ-authority",
            httpClient: http
        )
        let host = settings.listen.host
        let listenPort = settings.listen.port
        let stores = self.stores
        let server = self
        try await runServices(
            stores.services + [
                StagedService {
                    try await stores.prepare()
                    let log = try await server.openAudit()
                    let ready: (TrustBundle, RevocationFeedFollower)
                    do {
                        ready = try await cancelWhenGracefulShutdown { try await server.catchUp(client) }
                    } catch is CancellationError {
                        writeLine("stopped before ready")
                        return []
                    }
                    return try server.services(
                        issuers: ready.0,
                        follower: ready.1,
                        log: log,
                        client: client,
                        http: http
                    )
                }
            ],
            logger: logger
        ) {
            "cannot serve on \(host):\(listenPort)"
        }
    }

    /// How long each feed request waits at the authority for new entries: one second (the authority answers at
    /// once when an entry is appended, so a revocation reaches this service in one round trip, and the page it
    /// answers after the wait carries a head at most its publishing interval old). Zero (plain polling) when the
    /// staleness bound is too short to spend a second waiting.
    var longPoll: Duration { staleness >= .seconds(4) ? .seconds(1) : .zero }

    /// The pause between feed requests: none while long-polling (the request itself waits), else a quarter of
    /// the staleness bound (at most 500 ms).
    var pollGap: Duration { longPoll > .zero ? .zero : min(.milliseconds(500), staleness / 4) }

    /// Waits until the authority's trust bundle is fetched and its feed is caught up and fresh.
    func catchUp(_ client: WritAuthorityClient) async throws -> (TrustBundle, RevocationFeedFollower) {
        let started = ContinuousClock.now
        let timeout = settings.readinessTimeoutSeconds.map { Duration.seconds($0) }
        let snapshot = RevocationSnapshot(maxStaleness: staleness)
        var follower: RevocationFeedFollower?
        var issuers: TrustBundle?
        var lastProblem = ""
        logger.info("catching up \(settings.authority)'s revocation feed before serving")
        while true {
            try Task.checkCancellation()
            do {
                if follower == nil {
                    let bundle = try await client.trustBundle()
                    guard bundle.issuers.count > 0 else {
                        throw CLIError.input("authority: its trust bundle names no issuer key")
                    }
                    if let authorityPins {
                        try authorityPins.check(bundle, authority: settings.authority)
                    } else {
                        logger.warning(
                            "authorityKeys is not set: trusting the keys \(settings.authority) serves now (set it to pin them)"
                        )
                    }
                    follower = try RevocationFeedFollower(
                        verifier: settings.name,
                        store: HTTPRevocationFeed(client: client, wait: longPoll),
                        trustedKeys: bundle.revocation.keys.map(\.publicKey),
                        snapshot: snapshot,
                        clock: SystemClock(),
                        reportSigner: reportKey,
                        watermarks: HTTPWatermarkReporter(client: client, key: reportKey),
                        configuration: .init(pollInterval: pollGap)
                    )
                    issuers = bundle.issuers
                }
                if let follower, let issuers {
                    let result = try await follower.syncOnce()
                    if result.caughtUp, !snapshot.isStale(at: SystemClock().now()) {
                        logger.info("caught up at feed sequence \(result.watermark)")
                        return (issuers, follower)
                    }
                    lastProblem = "the feed is not caught up yet (at \(result.watermark))"
                }
            } catch let error as CLIError {
                throw error
            } catch {
                try Task.checkCancellation()
                let problem = "\(error)"
                if problem != lastProblem { logger.warning("not ready: \(settings.authority): \(problem)") }
                lastProblem = problem
            }
            if let timeout, ContinuousClock.now - started > timeout {
                throw CLIError.input(
                    "authority \(settings.authority): not ready within \(timeout.components.seconds) s (\(lastProblem))"
                )
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// The running services once ready: the HTTP server, the feed follower, the anomaly forwarder.
    func services(
        issuers: TrustBundle,
        follower: RevocationFeedFollower,
        log: AuditLog,
        client: WritAuthorityClient,
        http: HTTPClient
    ) throws -> [any Service] {
        let gatekeeper = Gatekeeper(
            .init(
                audience: settings.name,
                trustBundle: issuers,
                agentClasses: classes,
                policies: policies,
                revocation: follower.snapshot,
                sharedNonces: stores.nonces,
                audit: log,
                detectors: detectors
            )
        )
        let router = Router(context: WritBasicRequestContext.self)
        if let auditRoute = auditRoute(log) { router.add(middleware: auditRoute) }  // before the route filter
        router.add(middleware: RouteFilter(routes: settings.routes))
        if role == "broker" {
            let upstream = settings.upstream!  // checked by `VerifierServeConfig.load`
            let secret = try readSecret(upstream.secretFile)
            let broker = try CredentialBroker(gatekeeper: gatekeeper, secret: secret, sealingKey: SecretBox.makeKey())
            let operations = Set(settings.session?.operations ?? settings.routes.map(\.action))
            let scope = CredentialBroker.SessionScope(
                operations: operations,
                rateLimit: settings.session?.rateLimit ?? 60,
                window: .seconds(settings.session?.windowSeconds ?? 60)
            )
            router.add(middleware: SessionOpener(broker: broker, scope: scope))
            let proxy = WritBrokerProxy(
                broker: broker,
                client: http,
                configuration: .init(
                    origin: origin,
                    upstream: upstream.url,
                    routes: routes,
                    secretHeader: upstream.header ?? "Authorization",
                    secretPrefix: upstream.prefix ?? "Bearer ",
                    maximumBodyBytes: settings.maximumBodyBytes ?? 1 << 20,
                    timeout: .seconds(upstream.timeoutSeconds ?? 30),
                    approvers: approvers,
                    logger: logger
                )
            )
            proxy.add(to: router)
        } else {
            router.add(
                middleware: WritGatekeeperMiddleware(
                    gatekeeper: gatekeeper,
                    configuration: .init(
                        origin: origin,
                        routes: routes,
                        maximumBodyBytes: settings.maximumBodyBytes ?? 1 << 20,
                        approvers: approvers,
                        logger: logger
                    )
                )
            )
            let answer = RouteAnswer(service: settings.name, routes: settings.routes, map: routes)
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
                router.on("**", method: method) { request, context in try await answer.respond(request, context) }
            }
        }
        return serving(router, follower: follower, gatekeeper: gatekeeper, client: client)
    }

    /// What a ready verifier runs (service, broker, MCP server alike): the HTTP server on `router` with Writ's
    /// limits, printing `ready` and the address once listening; the feed follower; the anomaly forwarder.
    func serving(
        _ router: Router<WritBasicRequestContext>,
        follower: RevocationFeedFollower,
        gatekeeper: Gatekeeper,
        client: WritAuthorityClient
    ) -> [any Service] {
        let host = settings.listen.host
        let listenPort = settings.listen.port
        let app = Application(
            router: router,
            server: WritServerLimits().http1,  // head/body timeouts, header limits (HTTPBinding §6)
            configuration: .init(address: .hostname(host, port: listenPort)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listenPort
                writeLine("ready")
                writeLine("listening on http://\(host):\(port)")
            },
            logger: logger
        )
        return [
            app,
            FollowerService(follower: follower, gap: pollGap, logger: logger),
            WritAnomalyForwarder(gatekeeper: gatekeeper, client: client, key: reportKey, logger: logger),
        ]
    }

    /// The broker's static key: the first line of `path`, which should be readable by its owner only.
    func readSecret(_ path: String) throws -> SecureBytes {
        let text: String
        do { text = try readText(path) } catch { throw CLIError.input("upstream.secretFile: \(describe(error))") }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let key = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw CLIError.input("upstream.secretFile '\(path)': empty") }
        if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
            mode & 0o077 != 0
        {
            logger.warning("upstream.secretFile '\(path)' is readable by others (mode \(String(mode, radix: 8)))")
        }
        return SecureBytes(Array(key.utf8))
    }
}

/// The feed follower's loop as a service, logging when syncing starts and stops failing.
struct FollowerService: Service {
    let follower: RevocationFeedFollower
    /// The pause after a successful sync (zero when the feed requests long-poll).
    let gap: Duration
    let logger: Logger

    let failing = FailureFlag()

    /// Syncs until shutdown: after a success waits ``gap``; after a failure backs off from 100 ms doubling to 1 s,
    /// so an unreachable authority is not asked in a tight loop (and is found again within a second).
    func run() async throws {
        let logger = logger
        let failing = failing
        let follower = follower
        let gap = gap
        await cancelWhenGracefulShutdown {
            var backoff = Duration.zero
            while !Task.isCancelled {
                do {
                    try await follower.syncOnce()
                    backoff = gap
                } catch {
                    if failing.firstFailure() {
                        logger.warning("revocation feed: \(error) (requests fail closed once it is stale)")
                    }
                    backoff = min(max(backoff * 2, .milliseconds(100)), .seconds(1))
                }
                if backoff > .zero { try? await Task.sleep(for: backoff) }
            }
        }
    }
}

/// Whether a loop has failed before (so that only its first failure is logged).
final class FailureFlag: Sendable {
    private let failed = Mutex(false)

    /// `true` the first time only.
    func firstFailure() -> Bool {
        failed.withLock { failed in
            defer { failed = true }
            return !failed
        }
    }
}

/// Answers 404 before any check for a request that matches no configured route.
struct RouteFilter<Context: RequestContext>: RouterMiddleware {
    let routes: [VerifierServeConfig.Route]

    @concurrent
    func handle(
        _ request: Request,
        context: Context,
        next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard routes.contains(where: { routeMatches($0, method: request.method.rawValue, path: path) }) else {
            return WritRefusal(
                status: 404,
                error: "not_found",
                code: "no-route",
                message: "no route for \(request.method.rawValue) \(path)",
                retry: .none
            ).response(realm: "writ")
        }
        return try await next(request, context)
    }
}

/// Opens a broker session for the task a presented token names (bounded: the oldest sessions are closed first).
///
/// The token is not verified here (the broker verifies it next); a forged token only ever opens a session that
/// the broker's gatekeeper then refuses to use.
struct SessionOpener<Context: RequestContext>: RouterMiddleware {
    let broker: CredentialBroker
    let scope: CredentialBroker.SessionScope
    let opened = OpenedSessions()

    @concurrent
    func handle(
        _ request: Request,
        context: Context,
        next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        let pairs = request.headers.map { (name: $0.name.rawName, value: $0.value) }
        if let presentation = try? WritPresentation(headers: pairs),
            case .token(let token)? = try? WritCredential(text: presentation.credential),
            let task = token.root.claims.taskID
        {
            await opened.open(task, broker: broker, scope: scope)
        }
        return try await next(request, context)
    }
}

/// The tasks with an open broker session, oldest first.
actor OpenedSessions {
    static let capacity = 10_000
    private var order: [String] = []
    private var tasks: Set<String> = []

    func open(_ task: String, broker: CredentialBroker, scope: CredentialBroker.SessionScope) async {
        guard !tasks.contains(task) else { return }
        tasks.insert(task)
        order.append(task)
        await broker.openSession(task: task, scope: scope)
        if order.count > Self.capacity {
            let oldest = order.removeFirst()
            tasks.remove(oldest)
            await broker.closeSession(task: oldest)
        }
    }
}

/// A granted request's answer: the route's fixed JSON, or an echo of the grant.
struct RouteAnswer: Sendable {
    let service: String
    let routes: [VerifierServeConfig.Route]
    let map: WritRouteMap

    func respond(_ request: Request, _ context: WritBasicRequestContext) async throws -> Response {
        let method = request.method.rawValue
        let path = request.uri.path
        let route = routes.first { routeMatches($0, method: method, path: path) }
        var request = request
        let body = try await request.collectBody(upTo: 64 << 20)
        let status = HTTPResponse.Status(code: route?.status ?? 200)
        let json: JSONValue
        if let fixed = route?.response {
            json = fixed
        } else {
            let mapped = try map.map(method: method, target: request.uri.description)
            var echo: [String: JSONValue] = [
                "service": .string(service),
                "method": .string(method),
                "path": .string(path),
                "action": .string(mapped.action),
                "resource": .string(mapped.resource),
                "body_bytes": .number(Double(body.readableBytes)),
            ]
            if let grant = context.writGrant {
                echo["agent"] = .string(grant.agent)
                echo["token"] = .string(grant.tokenID.description)
                if let task = grant.taskID { echo["task"] = .string(task) }
            }
            json = .object(echo)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: status,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(json)))
        )
    }
}

extension VerifierServer {
    /// `GET /v1/audit` for the configured operators (`Docs/HTTPBinding.md` §9), or `nil` when none are configured.
    func auditRoute(_ log: AuditLog) -> WritAuditRoute<WritBasicRequestContext>? {
        guard !operatorKeys.isEmpty else { return nil }
        return WritAuditRoute(
            log: log,
            configuration: .init(
                origin: origin,
                audience: settings.name,
                operatorKeys: operatorKeys,
                sharedNonces: stores.nonces
            )
        )
    }
}
#endif
