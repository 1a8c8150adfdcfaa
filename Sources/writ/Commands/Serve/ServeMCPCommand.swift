#if CLI
import ArgumentParser

#if MCP
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MCP
import ServiceLifecycle
import Writ
import WritHTTP
import WritHummingbird
import WritMCP
import WritRevocation
#endif

/// The `writ serve` roles this build has beyond the three core ones: `mcp` with the MCP trait.
var serveMCPSubcommands: [any ParsableCommand.Type] {
    #if MCP
    [ServeMCPCommand.self]
    #else
    []
    #endif
}

#if MCP
/// `writ serve mcp --config FILE`: an MCP tool server behind Writ, or Writ's gateway in front of another MCP server.
struct ServeMCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Run an MCP tool server (Streamable HTTP) behind Writ, or a Writ gateway to another MCP server.",
        discussion: """
            Verifies Writ tokens on every JSON-RPC message (Docs/MCPBinding.md) with the same setup as
            `writ serve service`: it fetches the authority's trust bundle and catches up its signed revocation feed
            before it listens (printing `ready` and `listening on http://HOST:PORT`), refuses every message with
            503 once the feed is older than `maxStalenessSeconds`, reports watermarks and forwards anomalies to the
            authority, and keeps its own audit log (same keys and store settings; `operatorKeys` opens
            `GET /v1/audit` to those operators, `detectors` chooses the anomaly detectors). Each entry of `tools`
            is a tool (`name`; `resource`, a template over its arguments such as `tickets/{id}`; `action`, default
            `tools/call:<name>`) answered with its fixed `response` JSON or, without one, a JSON echo of the grant
            and arguments. With `upstream.url`, the process is a gateway instead: every authorised message is
            forwarded to that MCP endpoint (without the Writ credential), and `tools` only declares how tool
            calls map to Writ resources. `tools/list` shows only the tools the presented step could call.

            Example configuration:
            \(MCPServeConfig.example)
            """
    )

    @Option(name: .long, help: "The JSON configuration file.")
    var config: String?

    @Flag(name: .long, help: "Print an example configuration and exit.")
    var printExampleConfig = false

    @Flag(name: .long, help: "Print the audit log's entries (one JSON object a line) from the store and exit.")
    var printAudit = false

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String = "info"

    func run() async throws {
        if printExampleConfig {
            print(MCPServeConfig.example)
            return
        }
        guard let config else { throw CLIError.input("--config: missing (see --print-example-config)") }
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw CLIError.input("--log-level: '\(logLevel)' is not a log level")
        }
        var logger = Logger(label: "writ.mcp", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level
        let settings = try MCPServeConfig.load(config)
        let server = try VerifierServer(settings: settings.verifier, role: "mcp", logger: logger)
        if printAudit {
            try await server.printAudit()
        } else {
            try await server.runMCP(settings)
        }
    }
}

/// The configuration of `writ serve mcp`: a verifier's (as `writ serve service`'s, without `routes`) plus the
/// MCP endpoint's `path`, its `tools`, or the `upstream` MCP server it fronts.
struct MCPServeConfig: Sendable {
    /// One tool.
    struct Tool: Decodable, Sendable {
        /// The tool's name (`tools/call`'s `params.name`).
        var name: String
        /// Its description in `tools/list`.
        var description: String?
        /// The Writ action (default `tools/call:<name>`).
        var action: String?
        /// The resource template over the arguments (`tickets/{id}`; default `tools/<name>`).
        var resource: String?
        /// A fixed JSON answer (default: an echo of the grant and the arguments).
        var response: JSONValue?
    }

    /// The MCP server a gateway fronts.
    struct Upstream: Decodable, Sendable {
        /// The upstream MCP endpoint (`http://127.0.0.1:9000/mcp`).
        var url: String
        /// The longest one upstream exchange may take, in seconds (default 60).
        var timeoutSeconds: Int?
    }

    /// The MCP-only settings, decoded beside the verifier's.
    private struct Own: Decodable {
        var path: String?
        var tools: [Tool]?
        var upstream: Upstream?
        var authorizationServers: [String]?
    }

    /// The verifier's settings (its one route is the endpoint's `POST`).
    var verifier: VerifierServeConfig
    /// The endpoint's path (default `/mcp`).
    var path: String
    /// The tools.
    var tools: [Tool]
    /// The upstream MCP server (gateway mode).
    var upstream: Upstream?
    /// The authorities listed in the RFC 9728 metadata (default: `authority`).
    var authorizationServers: [String]

    static let verifierKeys: Set<String> = [
        "listen", "origin", "name", "authority", "authorityAudience", "policy", "maxStalenessSeconds",
        "readinessTimeoutSeconds", "store", "keys", "agentClasses", "maximumBodyBytes", "operatorKeys", "detectors",
        "authorityKeys",
    ]

    /// The configuration in `path`, with relative paths resolved against the configuration's directory.
    static func load(_ file: String) throws -> MCPServeConfig {
        let data: Data
        do { data = try readFile(file) } catch { throw CLIError.input("--config: \(describe(error))") }
        func bad(_ message: String) -> CLIError { CLIError.input("--config '\(file)': \(message)") }
        try refuseUnknownKeys(
            in: data,
            known: [
                "": verifierKeys.union(["path", "tools", "upstream", "authorizationServers"]),
                "listen": ["host", "port"],
                "keys": ["audit", "auditSalt", "report"],
                "upstream": ["url", "timeoutSeconds"],
                "tools[]": ["name", "description", "action", "resource", "response"],
                "authorityKeys": ["issuers", "revocation"],
            ],
            role: "mcp",
            path: file
        )
        try VerifierServeConfig.refuseUnknownNestedKeys(in: data, role: "mcp", path: file)
        let own: Own
        var object: [String: Any]
        do {
            own = try JSONDecoder().decode(Own.self, from: data)
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw bad("not a JSON object")
            }
            object = parsed
        } catch let error as CLIError {
            throw error
        } catch {
            throw bad(describe(error))
        }
        let path = own.path ?? "/mcp"
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains("*"), !path.contains(":") else {
            throw bad("path: '\(path)' is not an absolute path without '?', '*' or ':'")
        }
        // The verifier's settings, with the endpoint as its one route, decoded and checked as the service's are.
        for key in object.keys where !verifierKeys.contains(key) { object[key] = nil }
        object["routes"] = [["method": "POST", "path": path, "action": "mcp", "resource": "mcp"]]
        var verifier: VerifierServeConfig
        do {
            verifier = try JSONDecoder().decode(
                VerifierServeConfig.self,
                from: try JSONSerialization.data(withJSONObject: object)
            )
        } catch {
            throw bad(describe(error))
        }
        guard (0...65535).contains(verifier.listen.port) else {
            throw bad("listen.port: \(verifier.listen.port) is not a TCP port")
        }
        guard !verifier.name.isEmpty else { throw bad("name: empty") }
        guard !verifier.agentClasses.isEmpty else { throw bad("agentClasses: at least one class is needed") }
        if let seconds = verifier.maxStalenessSeconds, seconds < 1 || seconds > 3600 {
            throw bad("maxStalenessSeconds: \(seconds) is not between 1 and 3600")
        }
        if let seconds = verifier.readinessTimeoutSeconds, seconds < 1 {
            throw bad("readinessTimeoutSeconds: \(seconds) is not positive")
        }
        if let bytes = verifier.maximumBodyBytes, bytes < 0 || bytes > 64 << 20 {
            throw bad("maximumBodyBytes: \(bytes) is not between 0 and 64 MiB")
        }
        let tools = own.tools ?? []
        if let upstream = own.upstream {
            guard let url = URL(string: upstream.url), url.scheme == "http" || url.scheme == "https", url.host != nil
            else {
                throw bad("upstream.url: '\(upstream.url)' is not an http(s) URL")
            }
            if let seconds = upstream.timeoutSeconds, seconds < 1 || seconds > 600 {
                throw bad("upstream.timeoutSeconds: \(seconds) is not between 1 and 600")
            }
            if let index = tools.firstIndex(where: { $0.response != nil }) {
                throw bad("tools[\(index)].response: a gateway's tools are answered upstream")
            }
        } else if tools.isEmpty {
            throw bad("tools: at least one tool is needed (or an upstream MCP server)")
        }
        var names = Set<String>()
        for (index, tool) in tools.enumerated() {
            guard !tool.name.isEmpty, tool.name.utf8.count <= 128 else {
                throw bad("tools[\(index)].name: a tool name is 1…128 bytes")
            }
            guard names.insert(tool.name).inserted else { throw bad("tools[\(index)].name: '\(tool.name)' twice") }
        }
        verifier.resolvePaths(relativeTo: file)
        try verifier.checkKeySettings()
        let config = MCPServeConfig(
            verifier: verifier,
            path: path,
            tools: tools,
            upstream: own.upstream,
            authorizationServers: own.authorizationServers ?? [verifier.authority]
        )
        do { _ = try config.toolMap() } catch { throw bad("tools: \(error.message)") }
        return config
    }

    /// How messages map to Writ requests (the client uses the same map).
    func toolMap() throws(WritMCPError) -> WritMCPToolMap {
        var templates: [String: String] = [:]
        var actions: [String: String] = [:]
        for tool in tools {
            if let resource = tool.resource { templates[tool.name] = resource }
            if let action = tool.action { actions[tool.name] = action }
        }
        return try WritMCPToolMap(tools: templates, actions: actions)
    }

    static let example = """
        {
          "listen": { "host": "127.0.0.1", "port": 8083 },
          "origin": "http://127.0.0.1:8083",
          "name": "tickets",
          "authority": "http://127.0.0.1:8080",
          "authorityAudience": "writ-authority",
          "policy": "tickets.cedar",
          "maxStalenessSeconds": 5,
          "readinessTimeoutSeconds": 120,
          "store": "sqlite:writ-tickets/tickets.sqlite",
          "keys": {
            "audit": "writ-tickets/keys/audit.key",
            "auditSalt": "writ-tickets/keys/audit-salt.key",
            "report": "writ-tickets/keys/report.key"
          },
          "agentClasses": [
            { "name": "planner", "defaultTTLSeconds": 300, "maximumTTLSeconds": 900, "refreshLimit": 3 }
          ],
          "maximumBodyBytes": 1048576,
          "path": "/mcp",
          "tools": [
            { "name": "read_ticket", "description": "Read a ticket", "resource": "tickets/{id}" },
            { "name": "comment", "description": "Comment on a ticket", "resource": "tickets/{id}/comments",
              "response": { "ok": true } },
            { "name": "close_ticket", "description": "Close a ticket", "resource": "tickets/{id}",
              "response": { "status": "closed" } }
          ]
        }
        """
}

extension VerifierServer {
    /// Serves MCP until SIGTERM or SIGINT.
    func runMCP(_ mcp: MCPServeConfig) async throws {
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow
        httpConfiguration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        do {
            try await serveMCP(mcp, http)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        writeLine("stopped")
    }

    private func serveMCP(_ mcp: MCPServeConfig, _ http: HTTPClient) async throws {
        let client = WritAuthorityClient(
            origin: authorityOrigin,
            audience: settings.authorityAudience ?? "writ-authority",
            httpClient: http
        )
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
                    return try await server.mcpServices(
                        mcp,
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
            "cannot serve on \(settings.listen.host):\(settings.listen.port)"
        }
    }

    /// The running services once ready: the HTTP server with the MCP endpoint (or gateway), the feed follower and
    /// the anomaly forwarder — the service's, with MCP in place of its routes.
    func mcpServices(
        _ mcp: MCPServeConfig,
        issuers: TrustBundle,
        follower: RevocationFeedFollower,
        log: AuditLog,
        client: WritAuthorityClient,
        http: HTTPClient
    ) async throws -> [any Service] {
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
        let configuration = WritMCPServerEndpoint.Configuration(
            origin: origin,
            path: mcp.path,
            tools: try mcp.toolMap(),
            maximumBodyBytes: settings.maximumBodyBytes ?? 1 << 20,
            authorizationServers: mcp.authorizationServers
        )
        let router = Router(context: WritBasicRequestContext.self)
        if let auditRoute = auditRoute(log) { router.add(middleware: auditRoute) }  // GET /v1/audit, as a service
        if let upstream = mcp.upstream, let url = URL(string: upstream.url) {
            WritMCPGateway(
                gatekeeper: gatekeeper,
                configuration: configuration,
                upstream: url,
                httpClient: http,
                timeout: .seconds(Int64(upstream.timeoutSeconds ?? 60))
            ).mount(on: router)
        } else {
            let name = settings.name
            let endpoint = WritMCPServerEndpoint(
                gatekeeper: gatekeeper,
                configuration: configuration,
                initializeServer: { Server(name: name, version: "1.0", capabilities: .init(tools: .init())) }
            )
            let tools = MCPToolAnswers(service: name, tools: mcp.tools, endpoint: endpoint)
            let server = Server(name: name, version: "1.0", capabilities: .init(tools: .init()))
            await server.withMethodHandler(ListTools.self) { _ in tools.list() }
            await server.withMethodHandler(CallTool.self) { params in tools.call(params) }
            try await server.start(transport: endpoint.transport)
            endpoint.mount(on: router)
        }
        return serving(router, follower: follower, gatekeeper: gatekeeper, client: client)
    }
}

/// The configured tools' list and answers (a granted call gets the tool's fixed JSON, or an echo of the grant).
struct MCPToolAnswers: Sendable {
    let service: String
    let tools: [MCPServeConfig.Tool]
    let endpoint: WritMCPServerEndpoint

    func list() -> ListTools.Result {
        ListTools.Result(
            tools: tools.map {
                Tool(
                    name: $0.name,
                    description: $0.description ?? $0.name,
                    inputSchema: .object(["type": .string("object")])
                )
            }
        )
    }

    func call(_ params: CallTool.Parameters) -> CallTool.Result {
        guard let tool = tools.first(where: { $0.name == params.name }) else {
            return CallTool.Result(
                content: [.text(text: "no tool '\(params.name)'", annotations: nil, _meta: nil)],
                isError: true
            )
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data?
        if let fixed = tool.response {
            data = try? encoder.encode(fixed)
        } else {
            var echo: [String: Value] = [
                "service": .string(service),
                "tool": .string(tool.name),
                "arguments": .object(params.arguments ?? [:]),
            ]
            if let grant = endpoint.currentGrant() {
                echo["agent"] = .string(grant.granted.agent)
                echo["token"] = .string(grant.granted.tokenID.description)
                echo["action"] = .string(grant.action)
                echo["resource"] = .string(grant.resource)
                if let task = grant.granted.taskID { echo["task"] = .string(task) }
            }
            data = try? encoder.encode(Value.object(echo))
        }
        let text = String(decoding: data ?? Data("{}".utf8), as: UTF8.self)
        return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)])
    }
}
#endif
#endif
