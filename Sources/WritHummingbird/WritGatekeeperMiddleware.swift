#if HTTP
import HTTPTypes
public import Hummingbird
public import Logging
public import Writ
public import WritHTTP
import WritCrypto
import WritTokens

/// Hummingbird middleware that authorises every request with a ``Gatekeeper`` per `Docs/HTTPBinding.md`: it reads
/// `Authorization: Writ <token>` and `Writ-Proof`, maps method and path to action and resource, digests the body
/// (up to ``Configuration/maximumBodyBytes``), binds the proof to method, URL and body, and asks the gatekeeper.
/// An allowed request reaches the route with ``WritRequestContext/writGrant`` set (its body already collected); a
/// refused one is answered per the binding (401/403/400/413/503 with `WWW-Authenticate` and a JSON body).
///
/// The gatekeeper writes the audit entry and raises anomalies; ``WritAnomalyForwarder`` sends those to the
/// authority.
public struct WritGatekeeperMiddleware<Context: WritRequestContext>: RouterMiddleware {
    /// How the middleware maps requests.
    public struct Configuration: Sendable {
        /// The service's public origin (what clients sign for).
        public var origin: WritOrigin
        /// Route rules (default mapping when none match).
        public var routes: WritRouteMap
        /// The largest body digested; larger requests get `413`.
        public var maximumBodyBytes: Int
        /// The challenge's realm (default: the gatekeeper's audience).
        public var realm: String?
        /// Request attributes filled from the request (default: `method`).
        public var attributes: @Sendable (Request) -> [String: String]
        /// Calls per second per holder key and the burst (`nil`: no limit). Applied before the proof or token is
        /// verified, keyed on the key the token claims, so a flood costs a bucket lookup, not a verify; over it,
        /// `429` with `Retry-After`. At most ``rateLimitedCallers`` buckets are held.
        public var rateLimit: (perSecond: Double, burst: Double)?
        /// The most holder keys whose buckets are held.
        public var rateLimitedCallers: Int
        /// The approver keys whose `Writ-Approval` headers may satisfy a checkpoint (`nil`: none; every decodable
        /// approval is then ignored, an undecodable one still refused). See ``WritApprovers``.
        public var approvers: WritApprovers?
        /// Where ignored approvals are logged (no-op by default).
        public var logger: Logger

        /// Creates a configuration.
        public init(
            origin: WritOrigin,
            routes: WritRouteMap = WritRouteMap(),
            maximumBodyBytes: Int = 1 << 20,
            realm: String? = nil,
            attributes: @escaping @Sendable (Request) -> [String: String] = { ["method": $0.method.rawValue] },
            rateLimit: (perSecond: Double, burst: Double)? = nil,
            rateLimitedCallers: Int = 100_000,
            approvers: WritApprovers? = nil,
            logger: Logger = Logger(label: "writ.gatekeeper", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.approvers = approvers
            self.logger = logger
            self.rateLimit = rateLimit
            self.rateLimitedCallers = rateLimitedCallers
            self.origin = origin
            self.routes = routes
            self.maximumBodyBytes = max(0, maximumBodyBytes)
            self.realm = realm
            self.attributes = attributes
        }
    }

    /// The gatekeeper.
    public let gatekeeper: Gatekeeper
    /// The configuration.
    public let configuration: Configuration

    private let limiter: WritRateLimiter<KeyID>?

    /// Creates the middleware.
    public init(gatekeeper: Gatekeeper, configuration: Configuration) {
        self.gatekeeper = gatekeeper
        self.configuration = configuration
        limiter = configuration.rateLimit.map {
            WritRateLimiter(rate: $0.perSecond, burst: $0.burst, capacity: configuration.rateLimitedCallers)
        }
    }

    /// Authorises the request, then calls `next` or answers the refusal.
    @concurrent
    public func handle(
        _ request: Request,
        context: Context,
        next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        var request = request
        var context = context
        let realm = configuration.realm ?? gatekeeper.configuration.audience
        if let limiter, let claimed = Self.claimedHolder(request),
            case .limited(let seconds) = limiter.admit(claimed, at: gatekeeper.configuration.clock.now())
        {
            return WritRefusal(
                status: 429,
                error: "rate_limited",
                code: "rate-limited",
                message: "too many calls by key \(claimed)",
                retry: .later,
                retryAfter: seconds
            ).response(realm: realm)
        }
        var gateRequest: Gatekeeper.Request
        do {
            gateRequest = try await self.gateRequest(&request)
            gateRequest.approvals = try writApprovals(
                request,
                gateRequest,
                approvers: configuration.approvers,
                gatekeeper: gatekeeper,
                logger: configuration.logger
            )
        } catch {
            return WritRefusal(error).response(realm: realm)
        }
        let decision = await gatekeeper.authorize(gateRequest)
        guard case .allow(let granted) = decision else {
            return (WritRefusal(decision) ?? WritRefusal(.init(.malformedRequest, "refused"))).response(realm: realm)
        }
        context.writGrant = granted
        return try await next(request, context)
    }

    /// The holder key the request's token claims (unverified), if the headers parse.
    static func claimedHolder(_ request: Request) -> KeyID? {
        guard let presentation = try? WritPresentation(headers: request.writHeaderPairs, query: request.writQuery),
            let credential = try? WritCredential(text: presentation.credential)
        else { return nil }
        return credential.holderKey.keyID
    }

    /// Builds the gatekeeper's request from the HTTP request (collecting its body).
    func gateRequest(_ request: inout Request) async throws(WritHTTPError) -> Gatekeeper.Request {
        try await writGateRequest(
            &request,
            origin: configuration.origin,
            routes: configuration.routes,
            maximumBodyBytes: configuration.maximumBodyBytes,
            attributes: configuration.attributes(request)
        ).0
    }
}

/// The gatekeeper's request for an HTTP request per the binding, and the body it collected.
func writGateRequest(
    _ request: inout Request,
    origin: WritOrigin,
    routes: WritRouteMap,
    maximumBodyBytes: Int,
    attributes: [String: String]
) async throws(WritHTTPError) -> (Gatekeeper.Request, [UInt8]) {
    let target = request.writTarget
    let presentation = try WritPresentation(headers: request.writHeaderPairs, query: request.writQuery)
    let method = request.method.rawValue
    let mapped = try routes.map(method: method, target: target)
    let body = try await request.writCollectBody(limit: maximumBodyBytes)
    let binding = try WritHTTPRequestDigest.digest(
        method: method,
        origin: origin,
        target: target,
        bodyDigest: WritHTTPRequestDigest.bodyDigest(body)
    )
    let gateRequest = Gatekeeper.Request(
        token: presentation.credential,
        proof: presentation.proof ?? "",
        action: mapped.action,
        resource: mapped.resource,
        attributes: attributes,
        traceID: request.headers[traceparent],
        binding: binding
    )
    return (gateRequest, body)
}

/// The approvals a request's `Writ-Approval` headers grant it (`Docs/HTTPBinding.md` §10): only those signed by a
/// configured approver and bound to this audience, the mapped action and resource, the presented token and the
/// current time. Ignored ones are logged at `notice`; a header that does not decode refuses the request (400).
func writApprovals(
    _ request: Request,
    _ gateRequest: Gatekeeper.Request,
    approvers: WritApprovers?,
    gatekeeper: Gatekeeper,
    logger: Logger
) throws(WritHTTPError) -> Set<String> {
    let values = request.headers[values: approvalHeader]
    guard !values.isEmpty else { return [] }
    guard let approvers else {
        // Decoded anyway, so garbage is refused the same way whether or not approvers are configured.
        _ = try WritApprovers([]).check(
            values,
            audience: "",
            action: "",
            resource: "",
            tokenDigest: TokenDigest.of([]),
            now: gatekeeper.configuration.clock.now()
        )
        logger.notice("Writ-Approval ignored: this service trusts no approver")
        return []
    }
    guard let credential = try? WritCredential(text: gateRequest.token) else { return [] }
    let check = try approvers.check(
        values,
        audience: gatekeeper.configuration.audience,
        action: gateRequest.action,
        resource: gateRequest.resource,
        tokenDigest: credential.digest,
        now: gatekeeper.configuration.clock.now(),
        clockSkew: gatekeeper.configuration.verification.clockSkew
    )
    for reason in check.ignored { logger.notice("Writ-Approval ignored: \(reason)") }
    for (name, by) in check.approvers.sorted(by: { $0.key < $1.key }) {
        logger.info("Writ-Approval '\(name)' accepted from \(by.joined(separator: ", "))")
    }
    return check.granted
}

private let traceparent = HTTPField.Name("traceparent")!
private let approvalHeader = HTTPField.Name(WritApproval.headerName)!
#endif
