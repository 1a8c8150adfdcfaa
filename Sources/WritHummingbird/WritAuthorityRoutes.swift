#if HTTP
import Foundation
import Synchronization
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
public import Writ
import WritAudit
import WritCrypto
import WritHTTP
public import WritIdentity
public import WritRevocation
import WritTokens

/// The authority's HTTP routes (`Docs/HTTPBinding.md` §6) over a ``CredentialAuthority`` and its
/// ``RevocationPublisher``: attestation, tasks, the token exchange, delegations, anomalies, revocations, the
/// signed feed (long-poll), watermarks, the trust bundle, audit checkpoints and protected-resource metadata.
///
/// Every route except the trust bundle, the feed and the metadata authenticates its caller
/// (``WritCallerAuthenticator``) and checks it may act: an agent only on its own tasks and tokens, operators for
/// revocations and checkpoints, services for anomalies and their own watermarks. Bodies are capped, callers are
/// rate limited, and the feed's long-poll is capped at 30 s.
public final class WritAuthorityRoutes: Sendable {
    /// How the routes are set up.
    public struct Configuration: Sendable {
        /// The authenticator (origin, audience, trusted issuers, operator and service keys, nonces).
        public var authenticator: WritCallerAuthenticator
        /// Revocation keys for the trust bundle (the publisher's key is always included).
        public var revocationKeys: TrustBundle
        /// The largest request body, in bytes.
        public var maximumBodyBytes: Int
        /// Calls per second per caller key, and the burst. Applied before the caller's proof is verified, keyed on
        /// the key the credential claims (see `Docs/HTTPBinding.md` §6, "Limits").
        public var rateLimit: (perSecond: Double, burst: Double)
        /// Calls per second per remote address on the anonymous routes (trust bundle, feed, head, metadata), and
        /// the burst. Needs a context that knows the peer (`RemoteAddressRequestContext`, as
        /// ``WritBasicRequestContext``); without one, all anonymous callers share one bucket.
        public var anonymousRateLimit: (perSecond: Double, burst: Double)
        /// The most callers (keys, and separately addresses) whose buckets are held; see `Docs/HTTPBinding.md`.
        public var rateLimitedCallers: Int
        /// The authority's audit log, for `GET /v1/audit/checkpoint`.
        public var auditLog: AuditLog?
        /// The join-token attestor operators register agents with (`POST /v1/join-tokens`), if any.
        public var joinTokens: JoinTokenAttestor?
        /// Where route failures are logged (default: nowhere).
        public var logger: Logger

        /// Creates a configuration.
        public init(
            authenticator: WritCallerAuthenticator,
            revocationKeys: TrustBundle = TrustBundle(),
            maximumBodyBytes: Int = 64 * 1024,
            rateLimit: (perSecond: Double, burst: Double) = (50, 100),
            anonymousRateLimit: (perSecond: Double, burst: Double) = (100, 200),
            rateLimitedCallers: Int = 100_000,
            auditLog: AuditLog? = nil,
            joinTokens: JoinTokenAttestor? = nil,
            logger: Logger = Logger(label: "writ.authority", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.authenticator = authenticator
            self.revocationKeys = revocationKeys
            self.maximumBodyBytes = maximumBodyBytes
            self.rateLimit = rateLimit
            self.anonymousRateLimit = anonymousRateLimit
            self.rateLimitedCallers = rateLimitedCallers
            self.auditLog = auditLog
            self.joinTokens = joinTokens
            self.logger = logger
        }
    }

    /// The longest feed long-poll.
    public static let maximumWait: Duration = .seconds(30)

    /// The authority.
    public let authority: CredentialAuthority
    /// Its revocation publisher.
    public let publisher: RevocationPublisher
    /// The configuration.
    public let configuration: Configuration
    private let limiter: WritRateLimiter<KeyID>
    private let anonymousLimiter: WritRateLimiter<String>
    private let waitingPolls = Mutex(0)

    /// Creates the routes.
    public init(authority: CredentialAuthority, publisher: RevocationPublisher, configuration: Configuration) {
        self.authority = authority
        self.publisher = publisher
        self.configuration = configuration
        limiter = WritRateLimiter(
            rate: configuration.rateLimit.perSecond,
            burst: configuration.rateLimit.burst,
            capacity: configuration.rateLimitedCallers
        )
        anonymousLimiter = WritRateLimiter(
            rate: configuration.anonymousRateLimit.perSecond,
            burst: configuration.anonymousRateLimit.burst,
            capacity: configuration.rateLimitedCallers
        )
    }

    private var realm: String { configuration.authenticator.audience }

    /// Adds the routes to `router`.
    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get(RouterPath(WritResourceMetadata.path)) { _, context in
            self.anonymous(context) { self.metadata() }
        }
        router.get("/v1/trust-bundle") { _, context in self.anonymous(context) { self.trustBundle() } }
        router.get("/v1/feed") { request, context in
            if let refusal = self.anonymousRefusal(context) { return refusal }
            return await self.feed(request)
        }
        router.get("/v1/feed/head") { _, context in
            if let refusal = self.anonymousRefusal(context) { return refusal }
            return await self.head()
        }
        router.post("/v1/attest") { request, _ in await self.guarded(request, self.attest) }
        router.post("/v1/tasks") { request, _ in await self.guarded(request, self.openTask) }
        router.post("/v1/tasks/:task/complete") { request, context in
            let task = context.parameters.get("task") ?? ""
            return await self.guarded(request) { caller, body in try await self.complete(task, caller, body) }
        }
        router.post("/v1/tasks/:task/hand-off") { request, context in
            let task = context.parameters.get("task") ?? ""
            return await self.guarded(request) { caller, body in try await self.handOff(task, caller, body) }
        }
        router.post("/v1/token") { request, _ in await self.guarded(request, self.token) }
        router.post("/v1/delegations") { request, _ in await self.guarded(request, self.delegation) }
        router.post("/v1/anomalies") { request, _ in await self.guarded(request, self.anomaly) }
        router.post("/v1/watermarks") { request, _ in await self.guarded(request, self.watermark) }
        router.get("/v1/watermarks") { request, _ in
            let verifier = request.uri.queryParameters.get("verifier")
            return await self.guarded(request) { caller, _ in try await self.watermarks(of: verifier, caller) }
        }
        router.post("/v1/revocations") { request, _ in await self.guarded(request, self.revocation) }
        router.get("/v1/audit/checkpoint") { request, _ in await self.guarded(request, self.checkpoint) }
        router.post("/v1/join-tokens") { request, _ in await self.guarded(request, self.joinToken) }
    }

    // MARK: Rate limits

    /// The 429 for a caller over its bucket.
    func rateLimited(_ who: String, retryAfter: Int) -> Response {
        WritRefusal(
            status: 429,
            error: "rate_limited",
            code: "rate-limited",
            message: "too many calls by \(who)",
            retry: .later,
            retryAfter: retryAfter
        ).response(realm: realm)
    }

    /// The 429 for an anonymous caller over its address's bucket, or `nil` to go on.
    func anonymousRefusal<Context: RequestContext>(_ context: Context) -> Response? {
        let address = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress ?? "unknown"
        switch anonymousLimiter.admit(address, at: configuration.authenticator.clock.now()) {
        case .admitted: return nil
        case .limited(let seconds): return rateLimited("address \(address)", retryAfter: seconds)
        }
    }

    func anonymous<Context: RequestContext>(_ context: Context, _ answer: () -> Response) -> Response {
        anonymousRefusal(context) ?? answer()
    }

    // MARK: Authentication

    /// Applies the rate limit of the key the credential claims, authenticates the caller, runs `handler`, and
    /// answers refusals per the binding.
    ///
    /// The limit comes first — after parsing the headers and the credential (no signature checked), before the
    /// body is read or any proof verified — so that a flood of calls costs a bucket lookup each.
    func guarded(
        _ request: Request,
        _ handler: @Sendable (WritCaller, [UInt8]) async throws -> Response
    ) async -> Response {
        var request = request
        let caller: WritCaller
        let body: [UInt8]
        do {
            let presentation = try WritPresentation(headers: request.writHeaderPairs, query: request.writQuery)
            if let claimed = try? WritCredential(text: presentation.credential) {
                let key = claimed.holderKey.keyID
                if case .limited(let seconds) = limiter.admit(key, at: configuration.authenticator.clock.now()) {
                    return rateLimited("key \(key)", retryAfter: seconds)
                }
            }
            body = try await request.writCollectBody(limit: configuration.maximumBodyBytes)
            do {
                caller = try await configuration.authenticator.authenticate(
                    presentation,
                    method: request.method.rawValue,
                    target: request.writTarget,
                    body: body,
                    authority: authority
                )
            } catch let refusal {
                return refusal.response(realm: realm)
            }
        } catch {
            return WritRefusal(error).response(realm: realm)
        }
        do {
            return try await handler(caller, body)
        } catch let refusal as WritRefusal {
            return refusal.response(realm: realm)
        } catch let error as AuthorityError {
            configuration.logger.info("refused", metadata: ["caller": "\(caller)", "error": "\(error.code)"])
            return WritRefusal(error).response(realm: realm)
        } catch {
            configuration.logger.warning("failed", metadata: ["caller": "\(caller)", "error": "\(error)"])
            return WritRefusal(
                status: 503,
                error: "temporarily_unavailable",
                code: "internal",
                message: "the authority could not complete the call",
                retry: .later
            ).response(realm: realm)
        }
    }

    static func forbidden(_ message: String) -> WritRefusal {
        WritRefusal(status: 403, error: "access_denied", code: "forbidden", message: message, retry: .none)
    }

    static func badRequest(_ message: String) -> WritRefusal {
        WritRefusal(status: 400, error: "invalid_request", code: "malformed-body", message: message, retry: .none)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws(WritRefusal) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(body)) } catch {
            throw badRequest("the body is not a valid \(T.self)")
        }
    }

    static func agent(_ caller: WritCaller) throws(WritRefusal) -> IdentityDocument {
        guard case .agent(let document) = caller else { throw forbidden("this route is for agents") }
        return document
    }

    /// The caller's own task, or a refusal.
    func ownTask(_ id: String, _ caller: WritCaller) async throws -> IdentityDocument {
        let document = try Self.agent(caller)
        guard let owner = try await authority.agent(ofTask: id) else {
            throw AuthorityError(.unknownTask, "task \(id) does not exist")
        }
        guard owner == document.identity else { throw Self.forbidden("task \(id) belongs to another agent") }
        return document
    }

    // MARK: Anonymous routes

    func metadata() -> Response {
        let origin = configuration.authenticator.origin
        return WritJSON.response(
            WritResourceMetadata(resource: origin, audience: realm, authorizationServers: [origin.description])
        )
    }

    func trustBundle() -> Response {
        let revocation = configuration.revocationKeys.adding(TrustedKey(publisher.publicKey))
        return WritJSON.response(
            WritWire.TrustBundleBody(issuers: configuration.authenticator.issuers, revocation: revocation)
        )
    }

    func feed(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        guard let after = UInt64(query.get("after") ?? "0"), let limit = Int(query.get("limit") ?? "1000"),
            let wait = Int64(query.get("wait") ?? "0")
        else {
            return Self.badRequest("after, limit and wait must be numbers").response(realm: realm)
        }
        let waitFor = min(Self.maximumWait, .seconds(max(0, wait)))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: waitFor)
        let store = publisher.store
        // A held poll costs a subscription; past the cap, polls are answered at once (the client polls again).
        let holds =
            waitFor > .zero
            && waitingPolls.withLock { count in
                guard count < Self.maximumWaitingPolls else { return false }
                count += 1
                return true
            }
        defer { if holds { waitingPolls.withLock { $0 -= 1 } } }
        do {
            while true {
                // Subscribe before reading, so an append between the read and the wait still wakes the wait.
                let announcements = holds ? store.announcements() : nil
                let page = try await store.page(after: after, limit: min(max(1, limit), 10_000))
                if !page.entries.isEmpty || !holds || clock.now >= deadline || Task.isCancelled {
                    return WritJSON.response(WritWire.FeedPageBody(page))
                }
                if let announcements {
                    if await Self.nextAnnouncement(announcements, before: deadline) { continue }
                }
                // The store cannot push (or stopped): poll it.
                let next = min(deadline, clock.now.advanced(by: Self.fallbackPollInterval))
                try await Task.sleep(until: next, clock: .continuous)
            }
        } catch {
            return WritRefusal(
                status: 503,
                error: "temporarily_unavailable",
                code: "feed-unavailable",
                message: "the feed cannot be read",
                retry: .later
            ).response(realm: realm)
        }
    }

    /// Most feed long-polls held at once.
    static let maximumWaitingPolls = 4096
    /// How often a held poll re-reads a store that announces nothing.
    static let fallbackPollInterval: Duration = .milliseconds(250)

    /// Waits for the store's next announcement (`true`) or until `deadline` / the stream's end (`false`).
    static func nextAnnouncement(
        _ announcements: AsyncStream<UInt64>,
        before deadline: ContinuousClock.Instant
    ) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in announcements { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return false
            }
            let woke = await group.next() ?? false
            group.cancelAll()
            return woke
        }
    }

    func head() async -> Response {
        do {
            let page = try await publisher.store.page(after: publisher.tip?.sequence ?? 0, limit: 1)
            return WritJSON.response(["head": page.head.map { Base64URL.encode($0.bytes) }])
        } catch {
            return WritRefusal(
                status: 503,
                error: "temporarily_unavailable",
                code: "feed-unavailable",
                message: "the feed cannot be read",
                retry: .later
            ).response(realm: realm)
        }
    }

    // MARK: Signed routes

    func attest(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        let evidence = try Self.decode(AttestationEvidence.self, body)
        guard evidence.publicKey == caller.key else {
            throw Self.forbidden("the evidence must be signed by the key that signs the call")
        }
        let document = try await authority.attest(evidence)
        return WritJSON.response(WritWire.IdentityBody(document))
    }

    func openTask(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        let document = try Self.agent(caller)
        let open = try Self.decode(WritWire.OpenTaskBody.self, body)
        guard open.deadlineSeconds > 0, open.deadlineSeconds <= 366 * 86_400 else {
            throw Self.badRequest("deadline_s must be 1…31622400")
        }
        let task = try await authority.openTask(
            for: document.identity,
            objective: open.objective,
            intent: open.intent,
            deadline: .seconds(open.deadlineSeconds),
            plan: open.plan
        )
        return WritJSON.response(WritWire.TaskBody(task: task))
    }

    func complete(_ task: String, _ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        _ = try await ownTask(task, caller)
        try await authority.complete(task: task)
        return WritJSON.response(WritWire.Empty())
    }

    func handOff(_ task: String, _ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        _ = try await ownTask(task, caller)
        let open = try Self.decode(WritWire.OpenTaskBody.self, body)
        guard open.deadlineSeconds > 0, open.deadlineSeconds <= 366 * 86_400 else {
            throw Self.badRequest("deadline_s must be 1…31622400")
        }
        let newTask = try await authority.handOff(
            task: task,
            toObjective: open.objective,
            intent: open.intent,
            deadline: .seconds(open.deadlineSeconds)
        )
        return WritJSON.response(WritWire.TaskBody(task: newTask))
    }

    func token(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        let exchange = try Self.decode(WritWire.TokenExchangeBody.self, body)
        guard exchange.grantType == WritWire.tokenExchangeGrant else {
            throw WritRefusal(
                status: 400,
                error: "unsupported_grant_type",
                code: "unsupported-grant-type",
                message: "grant_type must be \(WritWire.tokenExchangeGrant)",
                retry: .none
            )
        }
        guard exchange.actorToken == nil else {
            throw Self.badRequest("actor_token is not supported: delegate offline and record it at /v1/delegations")
        }
        guard exchange.subjectTokenType == WritWire.identityDocumentType,
            exchange.requestedTokenType.map({ $0 == WritWire.capabilityTokenType }) ?? true
        else {
            throw Self.badRequest("subject_token_type must be an identity document, requested a capability token")
        }
        let document = try await ownTask(exchange.task, caller)
        guard exchange.subjectToken == document.text else {
            throw Self.forbidden("subject_token must be the caller's own identity document")
        }
        let issued: IssuedToken
        switch (exchange.step, exchange.refreshStep) {
        case (let step?, nil): issued = try await authority.issue(task: exchange.task, step: step)
        case (nil, let name?): issued = try await authority.refresh(task: exchange.task, step: name)
        default: throw Self.badRequest("give exactly one of step and refresh_step")
        }
        return WritJSON.response(WritWire.TokenResponseBody(issued))
    }

    func delegation(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        let document = try Self.agent(caller)
        let record = try Self.decode(WritWire.DelegationBody.self, body)
        guard let token = try? CapabilityToken(text: record.token), let delegate = try? AgentIdentity(record.delegate)
        else {
            throw Self.badRequest("token must be a writ1_ token and delegate a SPIFFE id")
        }
        try await authority.recordDelegation(token, from: document.identity, to: delegate)
        return WritJSON.response(WritWire.Empty())
    }

    func anomaly(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        switch caller {
        case .service, .operator: break
        default: throw Self.forbidden("anomalies are reported by configured services or operators")
        }
        let report = try Self.decode(AnomalyReport.self, body)
        try await authority.reportAnomaly(report)
        return WritJSON.response(WritWire.Empty())
    }

    func watermark(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        guard case .service(let name, let key) = caller else {
            throw Self.forbidden("watermarks are posted by configured services")
        }
        let wire = try Self.decode(WritWire.WatermarkBody.self, body)
        guard let bytes = Base64URL.decode(wire.report), let report = try? WatermarkReport(bytes: bytes) else {
            throw Self.badRequest("report must be base64url of a signed watermark report")
        }
        guard report.verifier == name, report.isSigned(by: key) else {
            throw Self.forbidden("the report must be \(name)'s, signed by its service key")
        }
        guard let store = publisher.watermarks else {
            throw WritRefusal(
                status: 404,
                error: "not_found",
                code: "no-watermark-store",
                message: "this authority keeps no watermarks",
                retry: .none
            )
        }
        try await store.record(report)
        return WritJSON.response(WritWire.Empty())
    }

    /// `GET /v1/watermarks?verifier=NAME` (operators): the verifier's latest signed report as stored, and the key
    /// the authority registered for it, so the caller checks the signature itself.
    func watermarks(of verifier: String?, _ caller: WritCaller) async throws -> Response {
        guard case .operator = caller else { throw Self.forbidden("watermark reports are read with an operator key") }
        guard let verifier, !verifier.isEmpty, verifier.utf8.count <= 1024 else {
            throw Self.badRequest("verifier must name a verifier (1…1024 bytes)")
        }
        guard let store = publisher.watermarks else {
            throw WritRefusal(
                status: 404,
                error: "not_found",
                code: "no-watermark-store",
                message: "this authority keeps no watermarks",
                retry: .none
            )
        }
        let reports = try await store.reports().filter { $0.verifier == verifier }
        return WritJSON.response(
            WritWire.WatermarkReportsBody(
                verifier: verifier,
                key: configuration.authenticator.serviceKeys[verifier],
                reports: reports
            )
        )
    }

    func revocation(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        guard case .operator = caller else { throw Self.forbidden("revocations need an operator key") }
        let wire = try Self.decode(WritWire.RevocationBody.self, body)
        let reason =
            try wire.reason.map { text throws(WritRefusal) in
                guard let reason = RevocationReason(rawValue: text) else { throw Self.badRequest("unknown reason") }
                return reason
            } ?? .manual
        switch (wire.agent, wire.block, wire.issuerKey) {
        case (let agent?, nil, nil):
            guard let identity = try? AgentIdentity(agent) else { throw Self.badRequest("agent is not a SPIFFE id") }
            try await authority.revoke(agent: identity, reason: reason)
        case (nil, let block?, nil):
            guard let id = RevocationID(hex: block) else { throw Self.badRequest("block is not a revocation id") }
            try await authority.revoke(block: id, reason: reason)
        case (nil, nil, let key?):
            guard let id = KeyID(hex: key) else { throw Self.badRequest("issuer_key is not a key id") }
            try await authority.revoke(issuerKey: id)
        default:
            throw Self.badRequest("give exactly one of agent, block, issuer_key")
        }
        return WritJSON.response(WritWire.Empty())
    }

    func joinToken(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        guard case .operator = caller else { throw Self.forbidden("join tokens need an operator key") }
        guard let attestor = configuration.joinTokens else {
            throw WritRefusal(
                status: 404,
                error: "not_found",
                code: "no-join-tokens",
                message: "this authority issues no join tokens",
                retry: .none
            )
        }
        let wire = try Self.decode(WritWire.JoinTokenRequestBody.self, body)
        guard let identity = try? AgentIdentity(wire.identity) else {
            throw Self.badRequest("identity is not a SPIFFE id")
        }
        let supervisor = try wire.supervisor.map { text throws(WritRefusal) in
            guard let id = try? AgentIdentity(text) else { throw Self.badRequest("supervisor is not a SPIFFE id") }
            return id
        }
        let join = try await attestor.issueJoinToken(
            for: identity,
            agentClass: wire.agentClass,
            supervisor: supervisor,
            ttl: .seconds(max(1, min(wire.ttlSeconds ?? 300, 3600)))
        )
        return WritJSON.response(
            WritWire.JoinTokenBody(joinToken: join.text, expiresAt: join.expiresAt.millisecondsSinceEpoch)
        )
    }

    func checkpoint(_ caller: WritCaller, _ body: [UInt8]) async throws -> Response {
        guard case .operator = caller else { throw Self.forbidden("audit checkpoints need an operator key") }
        guard let log = configuration.auditLog else {
            throw WritRefusal(
                status: 404,
                error: "not_found",
                code: "no-audit-log",
                message: "this authority publishes no checkpoints",
                retry: .none
            )
        }
        let text = try log.checkpoint().text
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
#endif
