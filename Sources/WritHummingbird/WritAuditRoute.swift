#if HTTP
import HTTPTypes
public import Hummingbird
public import WritAudit
public import WritCrypto
public import WritHTTP
public import WritTokens

/// A service's audit read route, `GET /v1/audit?after=N&limit=M` (`Docs/HTTPBinding.md` §9), as a middleware
/// placed in front of the service's own routes and its Writ middleware.
///
/// Only operators read it: the call must carry a `writkey1_` credential of a configured operator key and a fresh,
/// unreplayed proof by that key for this method, URL and (empty) body — §1–§2 with the service's audience. A bad or
/// missing proof is `401`; a valid proof by any other key, or a token or identity document, is `403`. The answer is
/// entries `N ..< N + M` (at most ``WritWire/AuditPageBody/maximumLimit``, never past the latest checkpoint), each
/// with its inclusion proof against that signed checkpoint, so the reader needs only the log's public key
/// (``WritWire/AuditPageBody/verified(service:logKey:after:limit:)``). Every other request passes through.
///
/// It does not use ``WritCallerAuthenticator``: that one consults a ``Writ/CredentialAuthority`` for agents'
/// identity documents, which a service does not have; this route takes operator keys only.
public struct WritAuditRoute<Context: RequestContext>: RouterMiddleware {
    /// How the route is set up.
    public struct Configuration: Sendable {
        /// The service's public origin (what proofs are bound to).
        public var origin: WritOrigin
        /// The service's audience (its name).
        public var audience: String
        /// The operator keys that may read the log.
        public var operatorKeys: Set<Ed25519.PublicKey>
        /// Proof freshness and clock skew.
        public var verification: VerificationOptions
        /// Proof nonces seen (this process).
        public var replayCache: any ReplayCache
        /// Proof nonces shared with the service's replicas (`nil`: this process only).
        public var sharedNonces: (any NonceStore)?
        /// The clock.
        public var clock: any WallClock
        /// The route's path.
        public var path: String

        /// Creates a configuration.
        public init(
            origin: WritOrigin,
            audience: String,
            operatorKeys: Set<Ed25519.PublicKey>,
            verification: VerificationOptions = VerificationOptions(),
            replayCache: any ReplayCache = InMemoryReplayCache(),
            sharedNonces: (any NonceStore)? = nil,
            clock: any WallClock = SystemClock(),
            path: String = "/v1/audit"
        ) {
            self.origin = origin
            self.audience = audience
            self.operatorKeys = operatorKeys
            self.verification = verification
            self.replayCache = replayCache
            self.sharedNonces = sharedNonces
            self.clock = clock
            self.path = path
        }
    }

    /// The log served.
    public let log: AuditLog
    /// The configuration.
    public let configuration: Configuration

    /// Creates the route over `log`.
    public init(log: AuditLog, configuration: Configuration) {
        self.log = log
        self.configuration = configuration
    }

    @concurrent
    public func handle(
        _ request: Request,
        context: Context,
        next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.uri.path == configuration.path else { return try await next(request, context) }
        let realm = configuration.audience
        guard request.method == .get else {
            return WritRefusal(
                status: 405,
                error: "invalid_request",
                code: "method-not-allowed",
                message: "the audit log is read with GET",
                retry: .none
            ).response(realm: realm)
        }
        do {
            try await authenticate(request)
        } catch {
            return error.response(realm: realm)
        }
        let query = request.uri.queryParameters
        guard let after = UInt64(query.get("after") ?? "0"),
            let limit = Int(query.get("limit") ?? String(WritWire.AuditPageBody.maximumLimit)), limit >= 0
        else {
            return WritRefusal(
                status: 400,
                error: "invalid_request",
                code: "malformed-query",
                message: "after and limit must be non-negative numbers",
                retry: .none
            ).response(realm: realm)
        }
        do {
            return WritJSON.response(try await page(after: after, limit: limit))
        } catch {
            return WritRefusal(
                status: 503,
                error: "temporarily_unavailable",
                code: "audit-unavailable",
                message: "the audit log cannot be read",
                retry: .later
            ).response(realm: realm)
        }
    }

    /// The answer to `GET /v1/audit?after=N&limit=M`: entries `after ..< after + limit` (capped at
    /// ``WritWire/AuditPageBody/maximumLimit`` and at the latest checkpoint's size), each with its inclusion proof
    /// against that checkpoint.
    ///
    /// - Throws: the log's error when its entries or proofs cannot be read.
    public func page(after: UInt64, limit: Int) async throws -> WritWire.AuditPageBody {
        let checkpoint = try log.checkpoint()
        let size = checkpoint.checkpoint.size
        let cap = UInt64(min(limit, WritWire.AuditPageBody.maximumLimit))
        let end = after >= size ? after : after + min(cap, size - after)
        var items: [WritWire.AuditPageBody.Entry] = []
        if end > after {
            let entries = try await log.entries(after..<end)
            for entry in entries {
                let proof: [[UInt8]]
                do {
                    proof = try log.inclusionProof(index: entry.index, size: size)
                } catch {
                    // The log was reopened from its frontier: load the tree's history once, then prove.
                    try await log.loadFullTree()
                    proof = try log.inclusionProof(index: entry.index, size: size)
                }
                items.append(.init(index: entry.index, entry: try entry.encoded(), proof: proof))
            }
        }
        return WritWire.AuditPageBody(service: log.service, checkpoint: checkpoint, entries: items)
    }

    /// Checks the caller is an operator (§1–§2 with the service's audience).
    func authenticate(_ request: Request) async throws(WritRefusal) {
        var request = request
        let presentation: WritPresentation
        let body: [UInt8]
        do {
            presentation = try WritPresentation(headers: request.writHeaderPairs, query: request.writQuery)
            body = try await request.writCollectBody(limit: 0)
        } catch {
            throw WritRefusal(error)
        }
        let credential: WritCredential
        do { credential = try WritCredential(text: presentation.credential) } catch {
            throw WritRefusal(
                status: 401,
                error: "invalid_token",
                code: "malformed-token",
                message: error.message,
                retry: .none
            )
        }
        guard let proofText = presentation.proof, let proof = try? ProofOfPossession(text: proofText) else {
            throw WritRefusal(
                status: 401,
                error: "invalid_proof",
                code: "malformed-proof",
                message: "the Writ-Proof header is missing or does not decode",
                retry: .newProof
            )
        }
        let target = request.writTarget
        let tokenRequest: TokenRequest
        do {
            let mapped = try WritRouteMap().map(method: "GET", target: target)
            tokenRequest = TokenRequest(
                audience: configuration.audience,
                action: mapped.action,
                resource: mapped.resource,
                binding: try WritHTTPRequestDigest.digest(
                    method: "GET",
                    origin: configuration.origin,
                    target: target,
                    bodyDigest: WritHTTPRequestDigest.bodyDigest(body)
                )
            )
        } catch {
            throw WritRefusal(error)
        }
        guard proof.isValid(tokenDigest: credential.digest, request: tokenRequest, holder: credential.holderKey) else {
            throw WritRefusal(
                status: 401,
                error: "invalid_proof",
                code: "proof-invalid",
                message: "the proof is not signed by the credential's key for this method, URL and body",
                retry: .newProof
            )
        }
        let now = configuration.clock.now()
        let skew = configuration.verification.clockSkew
        let freshness = configuration.verification.proofFreshness
        guard proof.timestamp <= now.advanced(by: skew),
            proof.timestamp.advanced(by: freshness).advanced(by: skew) >= now
        else {
            throw WritRefusal(
                status: 401,
                error: "invalid_proof",
                code: "proof-stale",
                message: "the proof is dated \(proof.timestamp), outside the freshness window",
                retry: .newProof
            )
        }
        guard case .key(let key) = credential, configuration.operatorKeys.contains(key) else {
            throw WritRefusal(
                status: 403,
                error: "access_denied",
                code: "forbidden",
                message: "the audit log is read with an operator key",
                retry: .none
            )
        }
        let expiry = max(proof.timestamp.advanced(by: freshness).advanced(by: skew).advanced(by: .milliseconds(1)), now)
        switch configuration.replayCache.insertIfAbsent(proof.nonce, expiresAt: expiry, now: now) {
        case .inserted: break
        case .replayed:
            throw WritRefusal(
                status: 401,
                error: "invalid_proof",
                code: "replayed",
                message: "the proof's nonce was already used",
                retry: .newProof
            )
        case .full:
            throw WritRefusal(
                status: 503,
                error: "temporarily_unavailable",
                code: "replay-cache-full",
                message: "the replay cache is full",
                retry: .later
            )
        }
        if let shared = configuration.sharedNonces {
            let fresh: Bool
            do { fresh = try await shared.insertIfAbsent(proof.nonce, expiresAt: expiry) } catch {
                throw WritRefusal(
                    status: 503,
                    error: "temporarily_unavailable",
                    code: "nonce-store-unavailable",
                    message: "the shared nonce store cannot answer",
                    retry: .later
                )
            }
            guard fresh else {
                throw WritRefusal(
                    status: 401,
                    error: "invalid_proof",
                    code: "replayed",
                    message: "the proof's nonce was already used at another replica",
                    retry: .newProof
                )
            }
        }
    }
}
#endif
