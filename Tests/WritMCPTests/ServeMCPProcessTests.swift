#if MCP && CLI  // runs the `writ` executable, which has `serve mcp` only with both traits
import AsyncHTTPClient
import Foundation
import MCP
import NIOCore
import NIOHTTP1
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritIdentity
import WritMCP
import WritTesting
import WritTokens

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `writ serve mcp` as processes: an authority, an MCP tool server (`tools`) and an MCP gateway (`upstream`, in
/// front of a `WritMCPEchoServer` process), with the SDK client in the test process through
/// `WritMCPClientTransport`, its tokens from the authority over HTTP.
@Suite("writ serve mcp: tool server and gateway as processes", .serialized)
struct ServeMCPProcessTests {
    static func write(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func writeKeyPair(to path: String) throws {
        let key = Ed25519.PrivateKey()
        try write(key.seed.withUnsafeBytes { "writsk1_" + Base64URL.encode($0) } + "\n", to: path)
        chmod(path, 0o600)
        try write("writpk1_" + Base64URL.encode(key.publicKey.rawRepresentation) + "\n", to: path + ".pub")
    }

    static let actions = #"["mcp", "tools/call:read_ticket", "tools/call:comment", "tools/call:close_ticket"]"#

    static func authorityConfig(port: Int) -> String {
        """
        {
          "listen": { "host": "127.0.0.1", "port": \(port) },
          "store": "sqlite:state/authority.sqlite",
          "keys": {
            "issuer": "keys/issuer.key", "revocation": "keys/revocation.key",
            "audit": "keys/audit.key", "auditSalt": "keys/audit-salt.key"
          },
          "operatorKeys": ["operator.pub"],
          "serviceKeys": { "tickets": "tickets/report.key.pub", "legacy": "legacy/report.key.pub" },
          "agentClasses": [{ "name": "planner", "defaultTTLSeconds": 60, "maximumTTLSeconds": 300, "refreshLimit": 5 }],
          "entitlements": { "planner": [
            { "audience": "tickets", "actions": \(actions), "resources": ["*"] },
            { "audience": "legacy", "actions": \(actions), "resources": ["*"] }
          ] }
        }
        """
    }

    static func mcpConfig(name: String, port: Int, authorityPort: Int, extra: String) -> String {
        """
        {
          "listen": { "host": "127.0.0.1", "port": \(port) },
          "name": "\(name)",
          "authority": "http://127.0.0.1:\(authorityPort)",
          "policy": "policy.cedar",
          "maxStalenessSeconds": 3,
          "store": "sqlite:\(name)/\(name).sqlite",
          "keys": { "audit": "\(name)/audit.key", "auditSalt": "\(name)/salt.key", "report": "\(name)/report.key" },
          "agentClasses": [{ "name": "planner", "defaultTTLSeconds": 60, "maximumTTLSeconds": 300, "refreshLimit": 5 }],
          "operatorKeys": ["operator.pub"],
          \(extra)
        }
        """
    }

    static let tools = """
        "tools": [
          { "name": "read_ticket", "description": "Read a ticket", "resource": "tickets/{id}" },
          { "name": "comment", "resource": "tickets/{id}/comments", "response": { "ok": true } },
          { "name": "close_ticket", "resource": "tickets/{id}", "response": { "status": "closed" } }
        ]
        """

    static let policy = """
        @id("tickets")
        permit (principal, action, resource);
        """

    /// The map the servers declared (the client signs for the same Writ requests).
    static let map = try! WritMCPToolMap(tools: [
        "read_ticket": "tickets/{id}", "comment": "tickets/{id}/comments", "close_ticket": "tickets/{id}",
    ])

    /// A step that may read and comment, not close.
    static func step(_ audience: String) -> StepGrant {
        StepGrant(
            name: "triage-\(audience)",
            audience: audience,
            actions: ["mcp", "tools/call:read_ticket", "tools/call:comment"],
            resources: ["tickets/*", "initialize", "notifications/*", "tools/list", "ping"],
            duration: .seconds(120)
        )
    }

    /// The JSON object of a tool's text answer.
    static func json(_ result: (content: [Tool.Content], isError: Bool?)) -> [String: Any] {
        let text = MCPEndToEndTests.text(result.content)
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? ["text": text]
    }

    /// One signed `tools/call` over raw HTTP (to read a refusal's status and body, which the SDK client drops for
    /// a 5xx).
    static func rawCall(
        _ http: HTTPClient,
        _ provider: CredentialProvider,
        origin: WritOrigin,
        audience: String,
        id: Int
    ) async throws -> (status: Int, body: String) {
        let body = Array(
            #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
                .utf8
        )
        let binding = try WritHTTPRequestDigest.digest(
            method: "POST",
            origin: origin,
            target: "/mcp",
            bodyDigest: WritHTTPRequestDigest.bodyDigest(body)
        )
        let credential = try await provider.credential(
            audience: audience,
            action: "tools/call:read_ticket",
            resource: "tickets/1",
            binding: binding
        )
        var request = HTTPClientRequest(url: origin.description + "/mcp")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        for field in WritPresentation(credential: credential.token, proof: credential.proof).headerFields {
            request.headers.add(name: field.name, value: field.value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: data))
    }

    /// Repeats `attempt` until `done` holds, for at most `seconds`; the last answer.
    static func poll<T>(
        within seconds: Int = 20,
        _ attempt: () async throws -> T,
        until done: (T) -> Bool
    ) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var last = try await attempt()
        while !done(last), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            last = try await attempt()
        }
        return last
    }

    @Test(
        "allowed, filtered list, outside the grant, gateway mode, stale feed 503, revoked → denied",
        .timeLimit(.minutes(5))
    )
    func serveMCP() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("writ-mcp-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let operatorKey = Ed25519.PrivateKey()
        try Self.write(
            "writpk1_" + Base64URL.encode(operatorKey.publicKey.rawRepresentation) + "\n",
            to: dir + "/operator.pub"
        )
        for name in ["tickets", "legacy"] { try Self.writeKeyPair(to: dir + "/\(name)/report.key") }
        try Self.write(Self.policy, to: dir + "/policy.cedar")

        var children: [MCPChildProcess] = []
        defer { for child in children { child.killNow() } }
        let echo = try MCPChildProcess("WritMCPEchoServer", ["--port", "0"])
        children.append(echo)
        let echoAddress = try #require(try await echo.address(), "echo: \(echo.stderr)")

        let authorityPort = freeLoopbackPort()
        let ticketsPort = freeLoopbackPort()
        let legacyPort = freeLoopbackPort()
        try Self.write(Self.authorityConfig(port: authorityPort), to: dir + "/authority.json")
        try Self.write(
            Self.mcpConfig(name: "tickets", port: ticketsPort, authorityPort: authorityPort, extra: Self.tools),
            to: dir + "/tickets.json"
        )
        try Self.write(
            Self.mcpConfig(
                name: "legacy",
                port: legacyPort,
                authorityPort: authorityPort,
                extra: """
                    "upstream": { "url": "\(echoAddress)/mcp", "timeoutSeconds": 10 },
                    "tools": [{ "name": "read_ticket", "resource": "tickets/{id}" },
                              { "name": "comment", "resource": "tickets/{id}/comments" },
                              { "name": "close_ticket", "resource": "tickets/{id}" }]
                    """
            ),
            to: dir + "/legacy.json"
        )
        let quiet = ["--log-level", "warning"]
        let authorityArguments = ["serve", "authority", "--config", dir + "/authority.json"] + quiet
        var authority = try MCPChildProcess("writ", authorityArguments)
        children.append(authority)
        _ = try #require(try await authority.address(), "authority: \(authority.stdout) \(authority.stderr)")
        let tickets = try MCPChildProcess("writ", ["serve", "mcp", "--config", dir + "/tickets.json"] + quiet)
        children.append(tickets)
        let legacy = try MCPChildProcess("writ", ["serve", "mcp", "--config", dir + "/legacy.json"] + quiet)
        children.append(legacy)
        _ = try #require(try await tickets.address(), "tickets: \(tickets.stdout) \(tickets.stderr)")
        _ = try #require(try await legacy.address(), "legacy: \(legacy.stdout) \(legacy.stderr)")
        #expect(tickets.stdout.contains("ready"))

        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let authorityOrigin = try WritOrigin("http://127.0.0.1:\(authorityPort)")
            let ticketsOrigin = try WritOrigin("http://127.0.0.1:\(ticketsPort)")
            let client = WritAuthorityClient(origin: authorityOrigin, httpClient: http)
            let agent = try AgentIdentity("spiffe://acme.test/agent/planner/1")
            let agentKey = Ed25519.PrivateKey()
            let join = try await client.issueJoinToken(
                .init(identity: agent.description, agentClass: "planner"),
                operatorKey: operatorKey
            )
            let document = try await client.attest(join.evidence(signingKey: agentKey), key: agentKey)
            let task = try await client.openTask(
                .init(objective: "triage tickets", intent: "triage", deadlineSeconds: 600),
                as: document,
                key: agentKey
            )
            func session(_ audience: String, port: Int) async throws -> (CredentialProvider, Client) {
                let provider = CredentialProvider(
                    identity: agent,
                    key: agentKey,
                    source: HTTPTokenSource(client: client, identity: document, key: agentKey)
                )
                try await provider.begin(task: task, step: Self.step(audience))
                let transport = try WritMCPClientTransport(
                    endpoint: try #require(URL(string: "http://127.0.0.1:\(port)/mcp")),
                    audience: audience,
                    provider: provider,
                    tools: Self.map
                )
                let mcp = Client(name: "planner", version: "1.0")
                _ = try await mcp.connect(transport: transport)
                return (provider, mcp)
            }
            let (ticketsProvider, ticketsClient) = try await session("tickets", port: ticketsPort)
            let (_, legacyClient) = try await session("legacy", port: legacyPort)

            // The tool server: a filtered list, an echo of the grant, a fixed answer, a tool outside the grant.
            #expect(try await ticketsClient.listTools().tools.map(\.name).sorted() == ["comment", "read_ticket"])
            let read = Self.json(try await ticketsClient.callTool(name: "read_ticket", arguments: ["id": 7]))
            #expect(read["agent"] as? String == agent.description, "\(read)")
            #expect(read["resource"] as? String == "tickets/7", "\(read)")
            #expect(read["action"] as? String == "tools/call:read_ticket", "\(read)")
            #expect(read["task"] as? String == task, "\(read)")
            let comment = Self.json(
                try await ticketsClient.callTool(name: "comment", arguments: ["id": 7, "text": "on it"])
            )
            #expect(comment["ok"] as? Bool == true, "\(comment)")
            do {
                _ = try await ticketsClient.callTool(name: "close_ticket", arguments: ["id": 7])
                Issue.record("a tool outside the grant was called")
            } catch let error as WritMCPError {
                #expect(error.refusal?.status == 403)
                #expect(error.refusal?.error == "insufficient_scope")
            }

            // The gateway: the echo server's answer, with the grant's facts and without the Writ credential.
            #expect(try await legacyClient.listTools().tools.map(\.name).sorted() == ["comment", "read_ticket"])
            let proxied = Self.json(try await legacyClient.callTool(name: "read_ticket", arguments: ["id": 9]))
            #expect(proxied["writ_agent"] as? String == agent.description, "\(proxied)")
            #expect(proxied["status"] as? String == "open", "\(proxied)")
            let headers = proxied["headers"] as? [String] ?? []
            #expect(!headers.contains("authorization") && !headers.contains("writ-proof"), "\(headers)")

            // The authority goes down: once the feed is older than 3 s, the tool server fails closed with 503.
            var id = 100
            func raw() async throws -> (status: Int, body: String) {
                id += 1
                return try await Self.rawCall(
                    http,
                    ticketsProvider,
                    origin: ticketsOrigin,
                    audience: "tickets",
                    id: id
                )
            }
            #expect(try await authority.stop(SIGTERM) == 0, "authority: \(authority.stderr)")
            let stale = try await Self.poll(raw) { $0.status != 200 }
            #expect(stale.status == 503, "\(stale.body)")
            #expect(stale.body.contains("revocation-unavailable"), "\(stale.body)")
            #expect(stale.body.contains(#""code":-32000"#), "\(stale.body)")

            // Back on the same store: served again; then the operator revokes the agent and both deny.
            authority = try MCPChildProcess("writ", authorityArguments)
            children.append(authority)
            _ = try #require(try await authority.address(), "authority: \(authority.stdout) \(authority.stderr)")
            // Polled with a fresh token each time: the refusals while the service catches up are denials, and
            // five for one token within a minute trip the denial-burst detector (which quarantines the token).
            func fresh() async throws -> (status: Int, body: String) {
                let provider = CredentialProvider(
                    identity: agent,
                    key: agentKey,
                    source: HTTPTokenSource(client: client, identity: document, key: agentKey)
                )
                do { try await provider.begin(task: task, step: Self.step("tickets")) } catch {
                    return (0, "the authority is not back yet: \(error)")
                }
                id += 1
                return try await Self.rawCall(http, provider, origin: ticketsOrigin, audience: "tickets", id: id)
            }
            let back = try await Self.poll(within: 30, fresh) { $0.status == 200 }
            #expect(back.status == 200, "\(back.body)")
            try await client.revoke(.init(agent: agent.description), operatorKey: operatorKey)
            let denied = try await Self.poll(raw) { $0.status != 200 }
            #expect(denied.status == 401, "\(denied.body)")
            #expect(denied.body.contains(#""code":"revoked""#), "\(denied.body)")
            for (name, mcp) in [("tickets", ticketsClient), ("legacy", legacyClient)] {
                var refusal: WritRefusal?
                let deadline = ContinuousClock.now + .seconds(20)
                while refusal == nil, ContinuousClock.now < deadline {
                    do {
                        _ = try await mcp.callTool(name: "read_ticket", arguments: ["id": 1])
                        try await Task.sleep(for: .milliseconds(200))
                    } catch let error as WritMCPError {
                        refusal = error.refusal
                    }
                }
                #expect(refusal?.status == 401, "\(name)")
                #expect(refusal?.code == "revoked", "\(name)")
            }
            // The tool server's own audit log, read by the operator with GET /v1/audit as from any service: every
            // call above is in it; without the operator's key the route refuses.
            let audit = WritServiceAuditClient(origin: ticketsOrigin, service: "tickets", httpClient: http)
            let page = try await audit.page(after: 0, limit: 1000, operatorKey: operatorKey)
            #expect(page.entries.count >= 5, "\(page.entries.count) entries")
            await #expect(throws: WritHTTPError.self) {
                _ = try await audit.page(after: 0, limit: 10, operatorKey: agentKey)
            }
            await ticketsClient.disconnect()
            await legacyClient.disconnect()
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        for server in [tickets, legacy] {
            #expect(try await server.stop(SIGTERM) == 0, "\(server.stderr)")
            #expect(server.stdout.contains("stopped"))
        }
    }

    @Test("--print-example-config is a configuration that loads; unknown keys and a tool-less server exit 2")
    func exampleAndMistakes() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("writ-mcp-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let example = try MCPChildProcess("writ", ["serve", "mcp", "--print-example-config"])
        defer { example.killNow() }
        #expect(try await example.waitForExit() == 0)
        let printed = example.stdout
        let object = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any]
        #expect((object?["tools"] as? [Any])?.count == 3)

        let base = Self.mcpConfig(name: "tickets", port: 0, authorityPort: 1, extra: Self.tools)
        // What a server reads before it checks its detectors' ranges (so the range case fails for that reason).
        try Self.write(Self.policy, to: dir + "/policy.cedar")
        try Self.writeKeyPair(to: dir + "/operator")
        let mistakes = [
            ("misspelt", base.replacingOccurrences(of: "\"maxStalenessSeconds\"", with: "\"maxStalnessSeconds\"")),
            ("tool-key", base.replacingOccurrences(of: "\"description\"", with: "\"descripton\"")),
            ("no-tools", Self.mcpConfig(name: "tickets", port: 0, authorityPort: 1, extra: #""tools": []"#)),
            (
                "bad-template",
                Self.mcpConfig(
                    name: "tickets",
                    port: 0,
                    authorityPort: 1,
                    extra: #""tools": [{ "name": "t", "resource": "a/*" }]"#
                )
            ),
            (
                "routes",
                Self.mcpConfig(
                    name: "tickets",
                    port: 0,
                    authorityPort: 1,
                    extra: Self.tools + #", "routes": []"#
                )
            ),
            (
                "detector-key",
                Self.mcpConfig(
                    name: "tickets",
                    port: 1,
                    authorityPort: 1,
                    extra: Self.tools + #", "detectors": { "denialBurst": { "treshold": 3 } }"#
                )
            ),
            (
                "detector-range",
                Self.mcpConfig(
                    name: "tickets",
                    port: 1,
                    authorityPort: 1,
                    extra: Self.tools + #", "detectors": { "denialBurst": { "threshold": 0 } }"#
                )
            ),
        ]
        for (name, text) in mistakes {
            try Self.write(text, to: dir + "/\(name).json")
            let child = try MCPChildProcess("writ", ["serve", "mcp", "--config", dir + "/\(name).json"])
            defer { child.killNow() }
            let status = try await child.waitForExit()
            #expect(status == 2, "\(name): \(child.stdout) \(child.stderr)")
            if name.hasPrefix("detector") {
                #expect(child.stderr.contains("detectors.denialBurst"), "\(name): \(child.stderr)")
            }
        }
    }
}
#endif
