#if MCP
import Foundation
import Hummingbird
import Logging
import MCP
import ServiceLifecycle
import Synchronization
import Writ
import WritAudit
import WritCrypto
import WritHTTP
import WritIdentity
import WritMCP
import WritPolicy
import WritRevocation
import WritTesting
import WritTokens

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An authority and one MCP tool server (`tickets`) behind Writ, on one manual clock, served on loopback.
final class MCPWorld: Sendable {
    static let policies = """
        @id("tickets")
        permit (principal, action, resource);

        @checkpoint("closing a ticket needs a human's approval")
        forbid (principal, action == Action::"tools/call:close_ticket", resource)
        unless { context.approvals.contains("close") };
        """

    /// The server's (and the client's) mapping.
    static let tools = try! WritMCPToolMap(tools: [
        "read_ticket": "tickets/:id",
        "comment": "tickets/:id/comments",
        "close_ticket": "tickets/:id",
    ])

    /// A step that may read and comment on tickets (not close them).
    static let readStep = StepGrant(
        name: "triage",
        audience: "tickets",
        actions: ["mcp", "tools/call:read_ticket", "tools/call:comment"],
        resources: ["tickets/*", "initialize", "notifications/*", "tools/list", "ping"],
        duration: .seconds(30)
    )

    /// A step that may also close tickets (subject to the checkpoint).
    static let closeStep = StepGrant(
        name: "close",
        audience: "tickets",
        actions: ["mcp", "tools/call:read_ticket", "tools/call:close_ticket"],
        resources: ["tickets/*", "initialize", "notifications/*", "tools/list", "ping"],
        duration: .seconds(30)
    )

    /// Answers one client's `initialize` (the endpoint's `initializeServer`).
    @Sendable static func initializeServer() async throws -> Server {
        Server(name: "tickets", version: "1.0", capabilities: .init(tools: .init()))
    }

    let clock = ManualClock()
    let issuerKey = Ed25519.PrivateKey()
    let revocationKey = Ed25519.PrivateKey()
    let serviceKey = Ed25519.PrivateKey()
    let revocationStore = InMemoryRevocationStore()
    let watermarks = InMemoryWatermarkStore()
    let publisher: RevocationPublisher
    let attestor: JoinTokenAttestor
    let authority: CredentialAuthority
    let classes: [AgentClass]
    let agent = try! AgentIdentity("spiffe://acme.test/agent/triager/1")
    let agentKey = Ed25519.PrivateKey()

    // The service.
    let snapshot = RevocationSnapshot(maxStaleness: .seconds(5))
    let follower: RevocationFeedFollower
    let serviceAudit = InMemoryAuditStore()
    let serviceLog: AuditLog
    let gatekeeper: Gatekeeper
    let port = freeLoopbackPort()
    let origin: WritOrigin
    let endpoint: WritMCPServerEndpoint
    let server: Server
    /// More routes for the test's app (set before ``serving(_:)``).
    var extraRoutes: @Sendable (Router<BasicRequestContext>) -> Void {
        get { routes.withLock { $0 } }
        set { routes.withLock { $0 = newValue } }
    }
    private let routes = Mutex<@Sendable (Router<BasicRequestContext>) -> Void>({ _ in })

    init(maximumBodyBytes: Int = 4096, answersEveryInitialize: Bool = true) async throws {
        publisher = RevocationPublisher(
            store: revocationStore,
            signer: revocationKey,
            clock: clock,
            watermarks: watermarks
        )
        publisher.register(verifier: "tickets", key: serviceKey.publicKey)
        classes = [
            try AgentClass(name: "triager", defaultTTL: .seconds(30), maximumTTL: .seconds(60), refreshLimit: 3)
        ]
        attestor = JoinTokenAttestor(clock: clock)
        authority = CredentialAuthority(
            .init(
                issuerKey: issuerKey,
                agentClasses: classes,
                entitlements: EntitlementTable([
                    "triager": [
                        Entitlement(
                            audience: "tickets",
                            actions: [
                                "mcp", "tools/call:read_ticket", "tools/call:comment", "tools/call:close_ticket",
                                "tools/call:echo", "tools/call:headers",
                            ],
                            resources: ["*"]
                        )
                    ]
                ]),
                revocations: publisher,
                audit: try await AuditLog.open(
                    store: InMemoryAuditStore(),
                    service: "authority",
                    signingKey: Ed25519.PrivateKey(),
                    salt: AuditSalt(),
                    clock: clock
                ),
                clock: clock,
                attestor: attestor
            )
        )
        follower = try RevocationFeedFollower(
            verifier: "tickets",
            store: revocationStore,
            trustedKeys: [revocationKey.publicKey],
            snapshot: snapshot,
            clock: clock,
            reportSigner: serviceKey,
            watermarks: watermarks
        )
        try await publisher.publishHead()
        _ = try await follower.syncOnce()
        serviceLog = try await AuditLog.open(
            store: serviceAudit,
            service: "tickets",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt(),
            clock: clock
        )
        gatekeeper = Gatekeeper(
            .init(
                audience: "tickets",
                trustBundle: TrustBundle(trusting: issuerKey.publicKey),
                agentClasses: classes,
                policies: try PolicySet(text: Self.policies),
                revocation: snapshot,
                audit: serviceLog,
                detectors: [],
                clock: clock
            )
        )
        origin = try WritOrigin("http://127.0.0.1:\(port)")
        endpoint = WritMCPServerEndpoint(
            gatekeeper: gatekeeper,
            configuration: .init(
                origin: origin,
                tools: Self.tools,
                maximumBodyBytes: maximumBodyBytes,
                authorizationServers: ["https://authority.test"]
            ),
            initializeServer: answersEveryInitialize ? Self.initializeServer : nil
        )
        server = Server(name: "tickets", version: "1.0", capabilities: .init(tools: .init()))
        let endpoint = self.endpoint
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(
                tools: ["read_ticket", "comment", "close_ticket"].map {
                    Tool(name: $0, description: $0, inputSchema: .object(["type": .string("object")]))
                }
            )
        }
        await server.withMethodHandler(CallTool.self) { params in
            // What the tool sees: the grant, and no Writ credential in the HTTP request.
            let grant = endpoint.currentGrant()
            let http = Server.currentHandlerContext?.httpContext
            let credentials =
                http?.header("Authorization") != nil || http?.header("Writ-Proof") != nil ? "leaked" : "none"
            // How many grant references the SDK was handed (exactly one, the endpoint's own, unless a client's leaked).
            let references = (http?.headers ?? [:]).filter { $0.key.lowercased() == "writ-mcp-grant" }.map(\.value)
            let refs = references.count == 1 && !references[0].contains(",") ? "1" : "\(references)"
            let text = [
                params.name, grant?.granted.agent ?? "no-grant", grant?.action ?? "-", grant?.resource ?? "-",
                "credentials=\(credentials)", "refs=\(refs)",
            ].joined(separator: " ")
            return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)])
        }
        try await server.start(transport: endpoint.transport)
    }

    /// The endpoint's URL.
    var url: URL { URL(string: "\(origin)/mcp")! }

    /// Attests the agent, opens a task and begins `step` in a provider on the world's clock.
    func provider(step: StepGrant = MCPWorld.readStep) async throws -> CredentialProvider {
        let join = try await attestor.issueJoinToken(for: agent, agentClass: "triager")
        _ = try await authority.attest(join.evidence(signingKey: agentKey))
        let task = try await authority.openTask(
            for: agent,
            objective: "triage",
            intent: "triage",
            deadline: .seconds(600)
        )
        let provider = CredentialProvider(
            identity: agent,
            key: agentKey,
            source: authority,
            clock: clock,
            refreshPolicy: .init(fraction: 0.75, jitter: 0, attempts: 1)
        )
        try await provider.begin(task: task, step: step)
        return provider
    }

    /// An MCP client connected through Writ.
    func client(_ provider: CredentialProvider) async throws -> (Client, WritMCPClientTransport) {
        let transport = try WritMCPClientTransport(
            endpoint: url,
            audience: "tickets",
            provider: provider,
            tools: Self.tools
        )
        let client = Client(name: "agent", version: "1.0")
        _ = try await client.connect(transport: transport)
        return (client, transport)
    }

    /// Publishes the feed's head and lets the service catch up (after the clock moved or something was revoked).
    func syncFeed() async throws {
        try await publisher.publishHead()
        _ = try await follower.syncOnce()
    }

    /// Runs the tool server on loopback for the duration of `body`: the endpoint's routes (unless
    /// `mountsEndpoint` is `false`, e.g. for a gateway in ``extraRoutes``) and ``extraRoutes``.
    func serving(mountsEndpoint: Bool = true, _ body: @Sendable () async throws -> Void) async throws {
        let router = Router()
        if mountsEndpoint { endpoint.mount(on: router) }
        extraRoutes(router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [app],
                gracefulShutdownSignals: [],
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serviceGroup.run() }
            do {
                try await waitUntilListening(port)
                try await body()
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                await server.stop()
                throw error
            }
            await serviceGroup.triggerGracefulShutdown()
            await server.stop()
            try await group.waitForAll()
        }
    }

    /// Writ headers for a raw `POST /mcp` carrying `body`, signed by the provider for `signFor` (default: the
    /// same body).
    func signedHeaders(
        _ provider: CredentialProvider,
        body: String,
        signFor: String? = nil
    ) async throws -> [(name: String, value: String)] {
        let signed = Array((signFor ?? body).utf8)
        let message = try WritMCPMessage.parse(signed)
        let mapped = try Self.tools.map(message)
        let binding = try WritHTTPRequestDigest.digest(
            method: "POST",
            origin: origin,
            target: "/mcp",
            bodyDigest: WritHTTPRequestDigest.bodyDigest(signed)
        )
        let credential = try await provider.credential(
            audience: "tickets",
            action: mapped.action,
            resource: mapped.resource,
            binding: binding
        )
        return WritPresentation(credential: credential.token, proof: credential.proof).headerFields
    }

    /// One raw HTTP exchange with the server.
    func raw(
        _ method: String = "POST",
        path: String = "/mcp",
        body: [UInt8] = [],
        headers: [(name: String, value: String)] = []
    ) async throws -> RawAnswer {
        var request = URLRequest(url: URL(string: "\(origin)\(path)")!)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json, text/event-stream", forHTTPHeaderField: "Accept")
        for header in headers { request.setValue(header.value, forHTTPHeaderField: header.name) }
        if !body.isEmpty { request.httpBody = Data(body) }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            fields[String(describing: name).lowercased()] = String(describing: value)
        }
        return RawAnswer(status: http.statusCode, headers: fields, body: data)
    }

    struct RawAnswer {
        let status: Int
        let headers: [String: String]
        let body: Data

        /// The JSON-RPC error object of the body.
        var error: [String: Value]? {
            guard case .object(let error)? = (try? JSONDecoder().decode([String: Value].self, from: body))?["error"]
            else { return nil }
            return error
        }
        /// `error.data.writ.<field>` (the binding's refusal) as text.
        func writ(_ field: String) -> String? {
            guard case .object(let data)? = error?["data"], case .object(let writ)? = data["writ"] else { return nil }
            return writ[field]?.stringValue
        }
        /// `error.data.<field>`.
        func data(_ field: String) -> Value? {
            guard case .object(let data)? = error?["data"] else { return nil }
            return data[field]
        }
        var text: String { String(decoding: body, as: UTF8.self) }
    }
}
#endif
