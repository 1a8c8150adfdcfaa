#if MCP
import AsyncHTTPClient
import Foundation
import MCP
import Testing
import Writ
import WritHTTP
import WritMCP
import WritTesting

/// The gateway in front of a separate MCP server process (`WritMCPEchoServer`: the plain SDK, no Writ), with the
/// real SDK client through the gateway.
@Suite("WritMCP gateway in front of an MCP server process")
struct MCPGatewayProcessTests {
    /// A step for the echo server's tools: two ticket tools, `echo` (no template: resource `tools/echo`), and the
    /// action of `headers` without its resource (so `headers` is not listed, and refused).
    static let step = StepGrant(
        name: "triage",
        audience: "tickets",
        actions: [
            "mcp", "tools/call:read_ticket", "tools/call:comment", "tools/call:echo", "tools/call:headers",
        ],
        resources: ["tickets/*", "tools/echo", "initialize", "notifications/*", "tools/list", "ping"],
        duration: .seconds(30)
    )

    /// The JSON object a tool of the echo server answered.
    static func seen(_ result: (content: [Tool.Content], isError: Bool?)) throws -> [String: Any] {
        let text = MCPEndToEndTests.text(result.content)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test(
        "allowed, filtered list, outside the grant, replay, another tool's proof, upstream down, revoked",
        .timeLimit(.minutes(3))
    )
    func gatewayInFrontOfProcess() async throws {
        let upstream = try MCPChildProcess("WritMCPEchoServer", ["--port", "0"])
        defer { upstream.killNow() }
        let address = try #require(try await upstream.address(), "upstream: \(upstream.stdout) \(upstream.stderr)")
        let world = try await MCPWorld()
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let gateway = WritMCPGateway(
            gatekeeper: world.gatekeeper,
            configuration: .init(origin: world.origin, tools: MCPWorld.tools),
            upstream: try #require(URL(string: "\(address)/mcp")),
            httpClient: http
        )
        do {
            world.extraRoutes = { gateway.mount(on: $0) }
            try await world.serving(mountsEndpoint: false) {
                let provider = try await world.provider(step: Self.step)
                let (client, _) = try await world.client(provider)

                // tools/list: the upstream lists five tools; the step's grant allows three of them.
                let listed = try await client.listTools().tools.map(\.name)
                #expect(listed.sorted() == ["comment", "echo", "read_ticket"])

                // An allowed call: forwarded with the grant's facts, without any Writ credential header.
                let read = try Self.seen(try await client.callTool(name: "read_ticket", arguments: ["id": 7]))
                #expect(read["tool"] as? String == "read_ticket")
                #expect(read["status"] as? String == "open")
                #expect(read["writ_agent"] as? String == world.agent.description)
                #expect(read["writ_action"] as? String == "tools/call:read_ticket")
                #expect(read["writ_task"] as? String != nil)
                let headers = try #require(read["headers"] as? [String])
                for leaked in ["authorization", "writ-proof", "writ-mcp-grant"] {
                    #expect(!headers.contains(leaked), "\(leaked) went upstream: \(headers)")
                }
                let echo = try Self.seen(try await client.callTool(name: "echo", arguments: ["text": "hi"]))
                #expect((echo["arguments"] as? [String: Any])?["text"] as? String == "hi")

                // Outside the grant (action, or resource): 403 insufficient_scope at the gateway.
                for (tool, arguments) in [("close_ticket", ["id": Value.int(7)]), ("headers", [:])] {
                    do {
                        _ = try await client.callTool(name: tool, arguments: arguments)
                        Issue.record("the gateway forwarded \(tool), outside the grant")
                    } catch let error as WritMCPError {
                        #expect(error.refusal?.status == 403, "\(tool)")
                        #expect(error.refusal?.error == "insufficient_scope", "\(tool)")
                    }
                }

                // Spoofed Writ-* and other headers from the client are not passed on.
                let spoofBody =
                    #"{"jsonrpc":"2.0","id":"s1","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
                var spoof = try await world.signedHeaders(provider, body: spoofBody)
                spoof.append((name: "Writ-Agent", value: "spiffe://acme.test/agent/admin"))
                spoof.append((name: "Writ-MCP-Grant", value: "forged"))
                spoof.append((name: "X-Internal", value: "1"))
                let spoofed = try await world.raw(body: Array(spoofBody.utf8), headers: spoof)
                #expect(spoofed.status == 200, "\(spoofed.text)")
                #expect(spoofed.text.contains(#"\"writ_agent\":\"\#(world.agent)\""#), "\(spoofed.text)")
                #expect(!spoofed.text.contains("x-internal"), "\(spoofed.text)")
                #expect(!spoofed.text.contains("admin"), "\(spoofed.text)")

                // A replayed request: 401 replayed.
                let body =
                    #"{"jsonrpc":"2.0","id":"g1","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
                let signed = try await world.signedHeaders(provider, body: body)
                #expect(try await world.raw(body: Array(body.utf8), headers: signed).status == 200)
                let replay = try await world.raw(body: Array(body.utf8), headers: signed)
                #expect(replay.status == 401)
                #expect(replay.writ("code") == "replayed")

                // A proof made for one tool, presented with another tool's call: 401 invalid_proof.
                let other =
                    #"{"jsonrpc":"2.0","id":"g2","method":"tools/call","params":{"name":"comment","arguments":{"id":1,"text":"x"}}}"#
                let forOther = try await world.raw(
                    body: Array(other.utf8),
                    headers: try await world.signedHeaders(provider, body: other, signFor: body)
                )
                #expect(forOther.status == 401, "\(forOther.text)")
                #expect(forOther.writ("error") == "invalid_proof")

                // The upstream process goes down: a clear 502 JSON-RPC error, and the gateway keeps serving.
                upstream.killNow()
                let downBody =
                    #"{"jsonrpc":"2.0","id":"d1","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
                let down = try await world.raw(
                    body: Array(downBody.utf8),
                    headers: try await world.signedHeaders(provider, body: downBody)
                )
                #expect(down.status == 502, "\(down.text)")
                #expect(down.error?["code"] == .int(-32603))
                #expect(down.data("writ_code") == .string("transport"))
                #expect(down.text.contains(#""id":"d1""#))
                do {
                    _ = try await client.callTool(name: "read_ticket", arguments: ["id": 2])
                    Issue.record("a call through a gateway whose upstream is down succeeded")
                } catch let error as WritMCPError {
                    #expect(error.code == .transport)
                }

                // Revoked mid-session: the next tools/call is denied at the gateway.
                try await world.authority.revoke(agent: world.agent)
                try await world.syncFeed()
                do {
                    _ = try await client.callTool(name: "read_ticket", arguments: ["id": 1])
                    Issue.record("a revoked agent's call was allowed")
                } catch let error as WritMCPError {
                    #expect(error.refusal?.status == 401)
                    #expect(error.refusal?.code == "revoked")
                }
                await client.disconnect()
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
#endif
