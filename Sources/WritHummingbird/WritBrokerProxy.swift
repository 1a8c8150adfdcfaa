#if HTTP
public import AsyncHTTPClient
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import NIOHTTP1
public import Writ
import WritCrypto
public import WritHTTP

/// The ``CredentialBroker`` as a reverse proxy in front of an HTTP API that only takes a static key.
///
/// An agent calls the proxy as any Writ-protected service (`Authorization: Writ <token>`, a bound `Writ-Proof`);
/// the broker authorises it (gatekeeper, task session, rate limit), then the proxy forwards the request upstream
/// with the sealed key injected (e.g. `Authorization: Bearer <key>`) and the agent's Writ headers removed. The
/// agent never sees the key: it is not in any response header or refusal, and answers that echo it verbatim in
/// a header are dropped. Redirects are not followed.
public struct WritBrokerProxy: Sendable {
    /// How the proxy forwards.
    public struct Configuration: Sendable {
        /// The proxy's public origin (what agents sign for).
        public var origin: WritOrigin
        /// Route rules (default mapping when none match).
        public var routes: WritRouteMap
        /// The upstream API's base URL (`https://legacy.example`, no trailing `/`).
        public var upstream: String
        /// The header carrying the key upstream.
        public var secretHeader: String
        /// Text before the key in that header (`Bearer `).
        public var secretPrefix: String
        /// The largest request body accepted.
        public var maximumBodyBytes: Int
        /// The largest upstream answer passed back.
        public var maximumResponseBytes: Int
        /// The upstream call's timeout.
        public var timeout: Duration
        /// The approver keys whose `Writ-Approval` headers may satisfy a checkpoint (`nil`: none).
        public var approvers: WritApprovers?
        /// Where ignored approvals are logged (no-op by default).
        public var logger: Logger

        /// Creates a configuration.
        public init(
            origin: WritOrigin,
            upstream: String,
            routes: WritRouteMap = WritRouteMap(),
            secretHeader: String = "Authorization",
            secretPrefix: String = "Bearer ",
            maximumBodyBytes: Int = 1 << 20,
            maximumResponseBytes: Int = 8 << 20,
            timeout: Duration = .seconds(30),
            approvers: WritApprovers? = nil,
            logger: Logger = Logger(label: "writ.broker", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.approvers = approvers
            self.logger = logger
            self.origin = origin
            self.upstream = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
            self.routes = routes
            self.secretHeader = secretHeader
            self.secretPrefix = secretPrefix
            self.maximumBodyBytes = maximumBodyBytes
            self.maximumResponseBytes = maximumResponseBytes
            self.timeout = timeout
        }
    }

    /// The broker.
    public let broker: CredentialBroker
    /// The configuration.
    public let configuration: Configuration
    private let client: HTTPClient

    /// Creates a proxy forwarding with `client` (configure it not to follow redirects).
    public init(broker: CredentialBroker, client: HTTPClient, configuration: Configuration) {
        self.broker = broker
        self.client = client
        self.configuration = configuration
    }

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length", "authorization", "writ-proof", "writ-approval",
    ]

    /// The header value `prefix` + `secret`, built in one allocation; `nil` when the secret is empty or holds a
    /// byte that is not visible ASCII (a header value cannot carry it unchanged, and CR/LF would inject headers).
    static func headerValue(prefix: String, secret: SecureBytes) -> String? {
        secret.withUnsafeBytes { key -> String? in
            guard !key.isEmpty, key.allSatisfy({ (0x21...0x7E).contains($0) }),
                prefix.utf8.allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x09 })
            else { return nil }
            let prefixBytes = Array(prefix.utf8)
            return String(unsafeUninitializedCapacity: prefixBytes.count + key.count) { buffer in
                _ = buffer.initialize(from: prefixBytes)
                _ = UnsafeMutableBufferPointer(rebasing: buffer[prefixBytes.count...]).initialize(from: key)
                return prefixBytes.count + key.count
            }
        }
    }

    /// Whether `value`'s bytes contain the secret's bytes (compared as bytes, the key never becomes text here).
    static func contains(_ value: String, secret: SecureBytes) -> Bool {
        secret.withUnsafeBytes { key -> Bool in
            guard !key.isEmpty else { return false }
            let bytes = Array(value.utf8)
            guard bytes.count >= key.count else { return false }
            for start in 0...(bytes.count - key.count) {
                var match = true
                for offset in 0..<key.count where bytes[start + offset] != key[offset] {
                    match = false
                    break
                }
                if match { return true }
            }
            return false
        }
    }

    /// Routes every path and method to the proxy.
    public func add<Context: RequestContext>(to router: Router<Context>) {
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .head] {
            router.on("**", method: method) { request, _ in await self.respond(request) }
        }
    }

    /// Authorises and forwards one request.
    public func respond(_ request: Request) async -> Response {
        var request = request
        let realm = broker.service
        var gateRequest: Gatekeeper.Request
        let body: [UInt8]
        do {
            (gateRequest, body) = try await writGateRequest(
                &request,
                origin: configuration.origin,
                routes: configuration.routes,
                maximumBodyBytes: configuration.maximumBodyBytes,
                attributes: ["method": request.method.rawValue]
            )
            gateRequest.approvals = try writApprovals(
                request,
                gateRequest,
                approvers: configuration.approvers,
                gatekeeper: broker.gatekeeper,
                logger: configuration.logger
            )
        } catch {
            return WritRefusal(error).response(realm: realm)
        }
        let upstreamHeaders = request.headers.filter { !Self.hopByHop.contains($0.name.canonicalName) }
        let target = request.writTarget
        let method = request.method.rawValue
        let configuration = self.configuration
        let client = self.client
        do {
            return try await broker.perform(gateRequest) { secret in
                var outgoing = HTTPClientRequest(url: configuration.upstream + target)
                outgoing.method = .init(rawValue: method)
                for field in upstreamHeaders { outgoing.headers.add(name: field.name.rawName, value: field.value) }
                // The key stays in `SecureBytes` (zeroised on release) up to this one header value. What remains
                // unavoidable: AsyncHTTPClient's `HTTPHeaders` holds values as Swift `String`s, so the value built
                // here (one allocation, prefix and key written straight into it, no intermediate copies) lives in
                // ordinary heap memory until the request is released, and is not zeroised; NIO then copies it into
                // the outgoing buffer. Nothing else holds the key as text: the echo check below compares bytes.
                guard let value = Self.headerValue(prefix: configuration.secretPrefix, secret: secret) else {
                    throw WritRefusal(
                        status: 503,
                        error: "temporarily_unavailable",
                        code: "secret-unusable",
                        message: "the sealed key is not a valid header value (visible ASCII only)",
                        retry: .none
                    )
                }
                outgoing.headers.replaceOrAdd(name: configuration.secretHeader, value: value)
                if !body.isEmpty { outgoing.body = .bytes(body) }
                let answer = try await client.execute(
                    outgoing,
                    timeout: .seconds(max(1, configuration.timeout.components.seconds))
                )
                let collected = try await answer.body.collect(upTo: configuration.maximumResponseBytes)
                var headers = HTTPFields()
                for (name, value) in answer.headers
                where !Self.hopByHop.contains(name.lowercased()) && !Self.contains(value, secret: secret) {
                    if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
                }
                return Response(
                    status: HTTPResponse.Status(code: Int(answer.status.code)),
                    headers: headers,
                    body: ResponseBody(byteBuffer: collected)
                )
            }
        } catch let refusal as WritRefusal {
            return refusal.response(realm: realm)
        } catch let error as BrokerError {
            if let decision = error.decision, let refusal = WritRefusal(decision) {
                return refusal.response(realm: realm)
            }
            let refusal: WritRefusal
            if error.code == .rateLimited {
                refusal = WritRefusal(
                    status: 429,
                    error: "rate_limited",
                    code: "rate-limited",
                    message: error.context,
                    retry: .later
                )
            } else if error.code == .outsideSession {
                refusal = WritRefusal(
                    status: 403,
                    error: "access_denied",
                    code: "outside-session",
                    message: error.context,
                    retry: .none
                )
            } else {
                refusal = WritRefusal(
                    status: 503,
                    error: "temporarily_unavailable",
                    code: error.code.description,
                    message: "the broker cannot call upstream",
                    retry: .later
                )
            }
            return refusal.response(realm: realm)
        } catch {
            return WritRefusal(
                status: 502,
                error: "bad_gateway",
                code: "upstream-failed",
                message: "the upstream API did not answer",
                retry: .later
            ).response(realm: realm)
        }
    }
}
#endif
