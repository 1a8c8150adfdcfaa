#if CLI
import Foundation
import MCP
import Writ
import WritHTTP
import WritMCP
import WritTokens

/// An agent's MCP session with the tickets tool server (`tickets-mcp`, a `writ serve mcp` child), through the MCP
/// Swift SDK's client over `WritMCPClientTransport`: every message carries the provider's current token and a
/// fresh proof bound to it, so a denial comes back as the server's Writ refusal.
struct DemoToolSession: Sendable {
    /// The tool server's audience.
    static let audience = "tickets-mcp"

    let client: Client
    let transport: WritMCPClientTransport

    /// The tool server's mapping, from the tools the demo configures it with (the client signs for the same Writ
    /// request the server computes).
    static func toolMap() throws -> WritMCPToolMap {
        try WritMCPToolMap(
            tools: Dictionary(uniqueKeysWithValues: DemoProcessSetup.tools.map { ($0.name, $0.resource) }),
            actions: Dictionary(uniqueKeysWithValues: DemoProcessSetup.tools.map { ($0.name, $0.action) })
        )
    }

    /// A step on the tool server: the session's own methods plus `actions` on `resources`.
    static func step(
        _ name: String,
        actions: [String],
        resources: [ResourcePattern],
        duration: Duration
    ) -> StepGrant {
        StepGrant(
            name: name,
            audience: audience,
            actions: ["mcp"] + actions,
            resources: resources + DemoProcessSetup.sessionResources,
            duration: duration
        )
    }

    /// Opens a session (MCP `initialize`) with the server at `url` for `provider`, whose step for the tool server
    /// has begun.
    static func open(_ url: String, provider: CredentialProvider, agent: String) async throws -> DemoToolSession {
        guard let endpoint = URL(string: url + "/mcp") else {
            throw DemoChild.Failure(description: "tickets-mcp: '\(url)/mcp' is not a URL")
        }
        let transport = try WritMCPClientTransport(
            endpoint: endpoint,
            audience: audience,
            provider: provider,
            tools: try toolMap()
        )
        let client = Client(name: agent, version: "1.0")
        _ = try await client.connect(transport: transport)
        return DemoToolSession(client: client, transport: transport)
    }

    /// The tools `tools/list` shows this session's step, sorted.
    func toolNames() async throws -> [String] {
        try await client.listTools().tools.map(\.name).sorted()
    }

    /// Calls `tool` with `arguments`: 200 and the tool's text, or the refusal's status and code.
    func call(_ tool: String, _ arguments: [String: Value]) async -> DemoAnswer {
        do {
            let result = try await client.callTool(name: tool, arguments: arguments)
            let text = result.content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined()
            return DemoAnswer(status: result.isError == true ? 500 : 200, refusal: nil, body: text)
        } catch let error as WritMCPError {
            return DemoAnswer(status: error.refusal?.status ?? 0, refusal: error.refusal, body: "\(error)")
        } catch {
            return DemoAnswer(status: 0, refusal: nil, body: "\(error)")
        }
    }

    /// Ends the session.
    func close() async { await client.disconnect() }
}
#endif
