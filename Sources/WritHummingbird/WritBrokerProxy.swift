#if HTTP
public import AsyncHTTPClient
import HTTPTypes
public import Hummingbird
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

        /// Creates a configuration.
        public init(
            origin: WritOrigin,
            upstream: String,
            routes: WritRouteMap = WritRouteMap(),
            secretHeader: String = "Authorization",
            secretPrefix: String = "Bearer ",
            maximumBodyBytes: Int = 1 << 20,
            maximumResponseBytes: Int = 8 << 20,
            timeout: Duration = .seconds(30)
        ) {
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
        "transfer-encoding", "upgrade", "host", "content-length", "authorization", "writ-proof",
    ]

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
        let gateRequest: Gatekeeper.Request
        let body: [UInt8]
        do {
            (gateRequest, body) = try await writGateRequest(
                &request,
                origin: configuration.origin,
                routes: configuration.routes,
                maximumBodyBytes: configuration.maximumBodyBytes,
                attributes: ["method": request.method.rawValue]
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
                let key = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                outgoing.headers.replaceOrAdd(name: configuration.secretHeader, value: configuration.secretPrefix + key)
                if !body.isEmpty { outgoing.body = .bytes(body) }
                let answer = try await client.execute(
                    outgoing,
                    timeout: .seconds(max(1, configuration.timeout.components.seconds))
                )
                let collected = try await answer.body.collect(upTo: configuration.maximumResponseBytes)
                var headers = HTTPFields()
                for (name, value) in answer.headers
                where !Self.hopByHop.contains(name.lowercased()) && (key.isEmpty || !value.contains(key)) {
                    if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
                }
                return Response(
                    status: HTTPResponse.Status(code: Int(answer.status.code)),
                    headers: headers,
                    body: ResponseBody(byteBuffer: collected)
                )
            }
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
