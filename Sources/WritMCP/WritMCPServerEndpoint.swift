#if MCP
import Foundation
import HTTPTypes
public import Hummingbird
public import MCP
import NIOCore
import Synchronization
public import Writ
public import WritHTTP
import WritTokens

/// What a tool handler learns about the request it serves: the gatekeeper's grant and the Writ request it was
/// granted for.
public struct WritMCPGrant: Sendable, Hashable {
    /// The gatekeeper's facts (agent, subject, token id, task, intent, policies, audit index).
    public let granted: GrantedRequest
    /// The JSON-RPC method.
    public let method: String
    /// The Writ action granted (`tools/call:<tool>` for a tool call).
    public let action: String
    /// The Writ resource granted.
    public let resource: String
}

/// An MCP endpoint behind Writ: the MCP Swift SDK's Streamable HTTP server transport (stateless), mounted on a
/// Hummingbird router, with every `POST` authorised by a ``Gatekeeper`` before the SDK sees it.
///
/// Per request: the `Authorization: Writ …` and `Writ-Proof` headers are read as the HTTP binding says, the body
/// is collected (at most ``Configuration/maximumBodyBytes``) and parsed as one JSON-RPC message
/// (``WritMCPMessage``), mapped to a Writ action and resource (``WritMCPToolMap``), and the proof is checked
/// bound to method, URL and the digest of the body as received. Only an allowed message reaches the SDK, and it
/// gets the message re-encoded from what was authorised, without the Writ headers (tokens are never passed on).
/// Tool handlers read the grant with ``currentGrant()``.
///
/// Refusals speak MCP (`Docs/MCPBinding.md`): `401` with `WWW-Authenticate` naming the RFC 9728 metadata
/// (`resource_metadata`), `403 insufficient_scope` with the `scope` (action) needed for a tool outside the grant
/// or a checkpoint's approval, and a JSON-RPC error body whose `data.writ` is the binding's refusal.
public final class WritMCPServerEndpoint: Sendable {
    /// How the endpoint is set up.
    public struct Configuration: Sendable {
        /// The service's public origin (what clients sign for).
        public var origin: WritOrigin
        /// The endpoint's path (default `/mcp`).
        public var path: String
        /// How messages map to Writ requests.
        public var tools: WritMCPToolMap
        /// The largest body accepted (default 1 MiB); larger requests get `413`.
        public var maximumBodyBytes: Int
        /// The challenge's realm (default: the gatekeeper's audience).
        public var realm: String?
        /// The authorities' URLs listed in the protected-resource metadata.
        public var authorizationServers: [String]

        /// Creates a configuration.
        public init(
            origin: WritOrigin,
            path: String = "/mcp",
            tools: WritMCPToolMap,
            maximumBodyBytes: Int = 1 << 20,
            realm: String? = nil,
            authorizationServers: [String] = []
        ) {
            self.origin = origin
            self.path = path
            self.tools = tools
            self.maximumBodyBytes = max(0, maximumBodyBytes)
            self.realm = realm
            self.authorizationServers = authorizationServers
        }

        /// The resource identifier (origin and path), as the metadata's `resource`.
        public var resource: String { origin.description + path }
        /// The RFC 9728 metadata path for ``resource``: `/.well-known/oauth-protected-resource` + ``path``.
        public var metadataPath: String { "/.well-known/oauth-protected-resource" + (path == "/" ? "" : path) }
        /// The metadata's URL, as `resource_metadata` in challenges.
        public var metadataURL: String { origin.description + metadataPath }
    }

    /// The header carrying the grant's reference to the SDK (set by the endpoint; a client's is removed).
    static let grantReferenceHeader = "Writ-MCP-Grant"

    /// The gatekeeper.
    public let gatekeeper: Gatekeeper
    /// The configuration.
    public let configuration: Configuration
    /// The SDK transport the MCP `Server` runs on: `try await server.start(transport: endpoint.transport)`.
    public let transport: StatelessHTTPServerTransport
    /// Builds the `Server` that answers one client's `initialize` (see ``init(gatekeeper:configuration:transport:initializeServer:)``).
    let initializeServer: (@Sendable () async throws -> Server)?
    /// Reads the grant of a `tools/list`'s token (already authorised by the gatekeeper) to filter the list.
    let chainVerifier: TokenVerifier

    private struct State {
        var inFlightIDs: Set<String> = []
        var grants: [String: WritMCPGrant] = [:]
    }
    private let state = Mutex(State())

    /// Creates an endpoint.
    ///
    /// - Parameters:
    ///   - gatekeeper: the service's gatekeeper (its audience is the tokens' audience).
    ///   - configuration: origin, path and mapping.
    ///   - transport: the SDK transport (default: its standard validation, which accepts browser `Origin`s of
    ///     localhost only; pass one with your own pipeline for other origins).
    ///   - initializeServer: builds a `Server` with the same info and capabilities as the one on `transport`, to
    ///     answer one client's `initialize` (then stopped). The SDK's `Server` accepts one `initialize` in its
    ///     life, so without it a second client's `initialize` is refused by the SDK ("already initialized");
    ///     every other message goes to the `Server` on `transport` (which needs no `initialize` unless its
    ///     configuration is strict).
    public init(
        gatekeeper: Gatekeeper,
        configuration: Configuration,
        transport: StatelessHTTPServerTransport = StatelessHTTPServerTransport(),
        initializeServer: (@Sendable () async throws -> Server)? = nil
    ) {
        self.gatekeeper = gatekeeper
        self.configuration = configuration
        self.transport = transport
        self.initializeServer = initializeServer
        self.chainVerifier = TokenVerifier(
            trustBundle: gatekeeper.configuration.trustBundle,
            agentClasses: gatekeeper.configuration.agentClasses,
            options: gatekeeper.configuration.verification
        )
    }

    /// Adds the endpoint's routes: `POST` ``Configuration/path`` (authorised), `GET`/`DELETE` on it (`405`,
    /// stateless), and the anonymous RFC 9728 metadata at ``Configuration/metadataPath``.
    public func mount<Context: Hummingbird.RequestContext>(on router: Router<Context>) {
        let path = RouterPath(configuration.path)
        router.post(path) { request, _ in await self.respond(to: request) }
        router.get(path) { _, _ in Self.methodNotAllowed() }
        router.delete(path) { _, _ in Self.methodNotAllowed() }
        router.get(RouterPath(configuration.metadataPath)) { _, _ in self.metadataResponse() }
    }

    /// The grant of the request the current tool handler serves (`nil` outside a handler this endpoint
    /// dispatched).
    public func currentGrant() -> WritMCPGrant? {
        guard let reference = Server.currentHandlerContext?.httpContext?.header(Self.grantReferenceHeader) else {
            return nil
        }
        return state.withLock { $0.grants[reference] }
    }

    /// The RFC 9728 protected-resource metadata document.
    public var metadata: [String: Value] {
        [
            "resource": .string(configuration.resource),
            "authorization_servers": .array(configuration.authorizationServers.map { .string($0) }),
            "bearer_methods_supported": .array([.string("header")]),
            "writ_audience": .string(gatekeeper.configuration.audience),
            "writ_proof_header": .string(WritPresentation.proofHeader),
            "writ_token_types_supported": .array([.string("writ1")]),
        ]
    }

    // MARK: Handling

    /// What ``admit(_:)`` decided: the refusal to answer, or the authorised message, its grant, the request's
    /// headers without the Writ credential, and for a `tools/list` which tools its answer may show.
    enum Admission {
        case refused(Response)
        case admitted(WritMCPMessage, WritMCPGrant, [(name: String, value: String)], WritMCPToolVisibility?)
    }

    /// Authorises one `POST` and, when allowed, hands the message to the SDK.
    public func respond(to request: Request) async -> Response {
        switch await admit(request) {
        case .refused(let response): return response
        case .admitted(let message, let grant, let forwarded, let visibility):
            return await handOver(message, grant: grant, headers: forwarded, visibility: visibility)
        }
    }

    /// Reads, parses, maps and authorises one `POST`.
    func admit(_ request: Request) async -> Admission {
        var request = request
        let realm = configuration.realm ?? gatekeeper.configuration.audience
        let presentation: WritPresentation
        let body: [UInt8]
        do {
            presentation = try WritPresentation(headers: request.writMCPHeaderPairs, query: request.writMCPQuery)
            body = try await request.writMCPCollectBody(limit: configuration.maximumBodyBytes)
        } catch {
            return .refused(refusalResponse(WritRefusal(error), realm: realm, message: nil, required: nil))
        }
        let message: WritMCPMessage
        let mapped: (action: String, resource: String)
        do {
            message = try WritMCPMessage.parse(body)
            mapped = try configuration.tools.map(message)
        } catch {
            return .refused(
                Self.jsonRPCError(
                    status: 400,
                    id: nil,
                    code: error.jsonRPCCode,
                    message: error.message,
                    data: ["writ_code": .string(error.code.rawValue)]
                )
            )
        }
        let target = request.head.path ?? ""
        let gateRequest: Gatekeeper.Request
        do {
            let binding = try WritHTTPRequestDigest.digest(
                method: request.method.rawValue,
                origin: configuration.origin,
                target: target,
                bodyDigest: WritHTTPRequestDigest.bodyDigest(body)
            )
            gateRequest = Gatekeeper.Request(
                token: presentation.credential,
                proof: presentation.proof ?? "",
                action: mapped.action,
                resource: mapped.resource,
                attributes: ["method": request.method.rawValue, "mcp.method": message.method],
                traceID: request.headers[HTTPField.Name("traceparent")!],
                binding: binding
            )
        } catch {
            return .refused(refusalResponse(WritRefusal(error), realm: realm, message: message, required: mapped))
        }
        let decision = await gatekeeper.authorize(gateRequest)
        guard case .allow(let granted) = decision else {
            let refusal = WritRefusal(decision) ?? WritRefusal(.init(.malformedRequest, "refused"))
            return .refused(refusalResponse(refusal, realm: realm, message: message, required: mapped))
        }
        let grant = WritMCPGrant(
            granted: granted,
            method: message.method,
            action: mapped.action,
            resource: mapped.resource
        )
        var forwarded: [(name: String, value: String)] = []
        for field in request.headers {
            let name = field.name.canonicalName
            if name == "authorization" || name == "writ-proof" || name == Self.grantReferenceHeader.lowercased() {
                continue
            }
            forwarded.append((name: field.name.rawName, value: field.value))
        }
        var visibility: WritMCPToolVisibility?
        if message.method == ListTools.name {
            // The gatekeeper has just verified this chain: it verifies again here (a tools/list is rare) only to
            // read the step's effective actions and resources, which the grant does not carry.
            guard let token = try? chainVerifier.verifyChain(text: presentation.credential) else {
                return .refused(
                    Self.jsonRPCError(
                        status: 500,
                        id: message.id,
                        code: -32603,
                        message: "the token's grant could not be read to filter tools/list",
                        data: [:]
                    )
                )
            }
            visibility = WritMCPToolVisibility(token: token, map: configuration.tools)
        }
        return .admitted(message, grant, forwarded, visibility)
    }

    /// Runs an admitted message through the SDK transport, its grant readable by the tool handler.
    func handOver(
        _ message: WritMCPMessage,
        grant: WritMCPGrant,
        headers forwarded: [(name: String, value: String)],
        visibility: WritMCPToolVisibility? = nil
    ) async -> Response {
        let reference = Self.newReference()
        let idKey = message.idKey
        let registered = state.withLock { state -> Bool in
            if let idKey {
                guard state.inFlightIDs.insert(idKey).inserted else { return false }
            }
            state.grants[reference] = grant
            return true
        }
        guard registered else {
            return Self.jsonRPCError(
                status: 409,
                id: message.id,
                code: -32600,
                message: "a request with this id is already in flight on this endpoint",
                data: ["writ_code": .string(WritMCPError.Code.duplicateID.rawValue)]
            )
        }
        defer {
            state.withLock { state in
                if let idKey { state.inFlightIDs.remove(idKey) }
                state.grants[reference] = nil
            }
        }
        var headers: [String: String] = [:]
        for field in forwarded {
            headers[field.name] = headers[field.name].map { "\($0), \(field.value)" } ?? field.value
        }
        headers[Self.grantReferenceHeader] = reference
        let sdkRequest = MCP.HTTPRequest(
            method: "POST",
            headers: headers,
            body: message.canonicalBody,
            path: configuration.path
        )
        if message.method == Initialize.name, let initializeServer {
            do {
                let server = try await initializeServer()
                let once = StatelessHTTPServerTransport()
                try await server.start(transport: once)
                let answer = await once.handleRequest(sdkRequest)
                await server.stop()
                return Self.response(answer)
            } catch {
                return Self.jsonRPCError(
                    status: 500,
                    id: message.id,
                    code: -32603,
                    message: "the server could not be initialized",
                    data: [:]
                )
            }
        }
        let answer = await transport.handleRequest(sdkRequest)
        if let visibility, answer.statusCode == 200 {
            let contentType = answer.headers.first { $0.key.lowercased() == "content-type" }?.value
            guard let kept = Self.filteredToolList(answer.bodyData ?? Data(), contentType: contentType, visibility)
            else {
                return Self.unfilterable(id: message.id)
            }
            var response = Self.response(answer)
            response.headers[.contentLength] = nil
            response.body = ResponseBody(byteBuffer: ByteBuffer(bytes: kept))
            return response
        }
        return Self.response(answer)
    }

    // MARK: Responses

    /// The largest `tools/list` answer filtered (larger ones are refused: the list cannot be checked).
    static let maximumToolListBytes = 4 << 20

    /// A `tools/list` answer's body with the tools the grant cannot allow removed, or `nil` when it cannot be read
    /// (the caller fails closed: an unreadable list is never passed on unfiltered).
    static func filteredToolList(_ body: Data, contentType: String?, _ visibility: WritMCPToolVisibility) -> Data? {
        guard body.count <= maximumToolListBytes else { return nil }
        let eventStream = contentType?.lowercased().hasPrefix("text/event-stream") ?? false
        return visibility.filter(body, eventStream: eventStream)
    }

    /// The answer to a `tools/list` whose list could not be filtered: `502`.
    static func unfilterable(id: Value?) -> Response {
        jsonRPCError(
            status: 502,
            id: id,
            code: -32603,
            message: "the server's tools/list answer could not be read to filter it by the grant",
            data: ["writ_code": .string(WritMCPError.Code.transport.rawValue)]
        )
    }

    private static func newReference() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = [generator.next(), generator.next()] as [UInt64]
        return words.map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    func metadataResponse() -> Response {
        Self.json(.object(metadata), status: .ok)
    }

    static func methodNotAllowed() -> Response {
        var response = jsonRPCError(
            status: 405,
            id: nil,
            code: -32600,
            message: "this endpoint is stateless: POST one JSON-RPC message",
            data: [:]
        )
        response.headers[.allow] = "POST"
        return response
    }

    /// The refusal as MCP: status, a challenge with `resource_metadata` (and `scope` for a step-up), and a
    /// JSON-RPC error whose `data.writ` is the binding's refusal body.
    func refusalResponse(
        _ refusal: WritRefusal,
        realm: String,
        message: WritMCPMessage?,
        required: (action: String, resource: String)?
    ) -> Response {
        let stepUp = refusal.status == 403 && (refusal.error == "insufficient_scope" || refusal.retry == .approval)
        var data: [String: Value] = [:]
        if let encoded = try? JSONEncoder().encode(refusal),
            let value = try? JSONDecoder().decode(Value.self, from: encoded)
        {
            data["writ"] = value
        }
        if let required {
            data["required"] = .object([
                "audience": .string(gatekeeper.configuration.audience),
                "action": .string(required.action),
                "resource": .string(required.resource),
            ])
        }
        if refusal.retry == .approval {
            data["step_up"] = .object([
                "kind": .string("approval"),
                "reason": .string(refusal.message),
                "policies": .array(refusal.policies.map { .string($0) }),
            ])
        } else if stepUp {
            data["step_up"] = .object([
                "kind": .string("grant"),
                "reason": .string(refusal.message),
            ])
        }
        let code: Int
        switch refusal.status {
        case 401: code = -32001
        case 403: code = -32003
        case 503: code = -32000
        default: code = -32600
        }
        var response = Self.jsonRPCError(
            status: refusal.status,
            id: message?.id,
            code: code,
            message: refusal.message,
            data: data
        )
        if refusal.status == 401 || refusal.status == 403 {
            var challenge = "\(WritPresentation.scheme) realm=\"\(Self.quoted(realm))\""
            challenge += ", resource_metadata=\"\(Self.quoted(configuration.metadataURL))\""
            if let error = refusal.error {
                challenge += ", error=\"\(stepUp ? "insufficient_scope" : error)\""
                challenge += ", error_description=\"\(Self.quoted(String(refusal.message.prefix(200))))\""
                challenge += ", retry=\"\(refusal.retry.rawValue)\", writ_code=\"\(Self.quoted(refusal.code))\""
                if stepUp, let required { challenge += ", scope=\"\(Self.quoted(required.action))\"" }
            }
            response.headers[.wwwAuthenticate] = challenge
        }
        if let seconds = refusal.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
        return response
    }

    static func jsonRPCError(status: Int, id: Value?, code: Int, message: String, data: [String: Value]) -> Response {
        var error: [String: Value] = ["code": .int(code), "message": .string(message)]
        if !data.isEmpty { error["data"] = .object(data) }
        return json(
            .object(["jsonrpc": .string("2.0"), "id": id ?? .null, "error": .object(error)]),
            status: HTTPTypes.HTTPResponse.Status(code: status)
        )
    }

    static func json(_ value: Value, status: HTTPTypes.HTTPResponse.Status) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body =
            (try? encoder.encode(value))
            ?? Data(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal"}}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The SDK's answer as a Hummingbird response (the stateless transport never streams).
    static func response(_ answer: MCP.HTTPResponse) -> Response {
        var headers = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = HTTPTypes.HTTPResponse.Status(code: answer.statusCode)
        if case .stream = answer {
            return jsonRPCError(status: 500, id: nil, code: -32603, message: "unexpected stream", data: [:])
        }
        let body = answer.bodyData.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? ResponseBody()
        return Response(status: status, headers: headers, body: body)
    }

    static func quoted(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"", "\\": out += "\\" + String(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension Request {
    /// The header fields as (name, value) pairs, names as received.
    var writMCPHeaderPairs: [(name: String, value: String)] {
        headers.map { (name: $0.name.rawName, value: $0.value) }
    }

    /// The query of the raw target, if any.
    var writMCPQuery: String? {
        let target = head.path ?? ""
        guard let mark = target.firstIndex(of: "?") else { return nil }
        return String(target[target.index(after: mark)...])
    }

    /// Collects the body up to `limit` bytes (refusing early on a larger `Content-Length`).
    mutating func writMCPCollectBody(limit: Int) async throws(WritHTTPError) -> [UInt8] {
        if let length = headers[.contentLength], let value = Int(length), value > limit {
            throw WritHTTPError(.bodyTooLarge, "the body is \(value) bytes; the limit is \(limit)")
        }
        do {
            let buffer = try await collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch {
            throw WritHTTPError(.bodyTooLarge, "the body is larger than \(limit) bytes")
        }
    }
}
#endif
