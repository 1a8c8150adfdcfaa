#if MCP
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MCP
import NIOCore
import Synchronization
import Testing
import Writ
import WritMCP
import WritTesting

/// `tools/list` shows only the tools the presented step's grant could allow (`Docs/MCPBinding.md` §2).
@Suite("WritMCP tools/list filtered by the grant")
struct MCPToolListTests {
    static let session: [ResourcePattern] = ["initialize", "notifications/*", "tools/list", "ping"]

    static func step(_ actions: [String], _ resources: [ResourcePattern]) -> StepGrant {
        StepGrant(
            name: "list",
            audience: "tickets",
            actions: ["mcp"] + actions,
            resources: session + resources,
            duration: .seconds(30)
        )
    }

    @Test(
        "each step lists what its grant allows",
        arguments: [
            (MCPWorld.readStep, ["comment", "read_ticket"]),
            (MCPWorld.closeStep, ["close_ticket", "read_ticket"]),
            // The action without a resource the template could name: not listed.
            (step(["tools/call:read_ticket"], ["docs/*"]), []),
            // An exact resource the template can name: listed.
            (step(["tools/call:read_ticket"], ["tickets/7"]), ["read_ticket"]),
            // A resource without the action: not listed.
            (step([], ["tickets/*"]), []),
        ]
    )
    func filtered(step: StepGrant, expected: [String]) async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider(step: step)
            let (client, _) = try await world.client(provider)
            #expect(try await client.listTools().tools.map(\.name).sorted() == expected)
            await client.disconnect()
        }
    }

    @Test("on the wire: the JSON-RPC result lists the granted tools only, with their schemas")
    func onTheWire() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let body = #"{"jsonrpc":"2.0","id":"l1","method":"tools/list"}"#
            let answer = try await world.raw(
                body: Array(body.utf8),
                headers: try await world.signedHeaders(provider, body: body)
            )
            #expect(answer.status == 200, "\(answer.text)")
            let object = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
            #expect(object["id"] as? String == "l1")
            let tools = try #require((object["result"] as? [String: Any])?["tools"] as? [[String: Any]])
            #expect(tools.compactMap { $0["name"] as? String }.sorted() == ["comment", "read_ticket"])
            #expect(tools.allSatisfy { $0["inputSchema"] != nil })
        }
    }

    @Test("through the gateway: an upstream list is filtered (JSON and SSE); one that cannot be read is 502")
    func gatewayFailsClosed() async throws {
        let world = try await MCPWorld()
        let answers = Mutex<[(contentType: String, body: String)]>([])
        let tools =
            #"{"jsonrpc":"2.0","id":"l1","result":{"tools":[{"name":"read_ticket","inputSchema":{}},{"name":"close_ticket","inputSchema":{}}]}}"#
        answers.withLock {
            $0 = [
                ("application/json", tools),
                ("text/event-stream", "event: message\ndata: \(tools)\n\n"),
                ("application/json", "not json"),
                ("application/json", #"{"jsonrpc":"2.0","id":"l1","result":{"tools":[{"title":"no name"}]}}"#),
                ("text/event-stream", "event: message\ndata: {broken\n\n"),
            ]
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let gateway = WritMCPGateway(
            gatekeeper: world.gatekeeper,
            configuration: .init(origin: world.origin, tools: MCPWorld.tools),
            upstream: try #require(URL(string: "\(world.origin)/upstream")),
            httpClient: http
        )
        do {
            world.extraRoutes = { router in
                gateway.mount(on: router)
                router.post("/upstream") { _, _ -> Response in
                    let next: (contentType: String, body: String) = answers.withLock {
                        $0.isEmpty ? (contentType: "application/json", body: "{}") : $0.removeFirst()
                    }
                    var fields = HTTPFields()
                    fields[.contentType] = next.contentType
                    return Response(
                        status: .ok,
                        headers: fields,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: next.body))
                    )
                }
            }
            try await world.serving(mountsEndpoint: false) {
                let provider = try await world.provider()
                let body = #"{"jsonrpc":"2.0","id":"l1","method":"tools/list"}"#
                func list() async throws -> MCPWorld.RawAnswer {
                    try await world.raw(
                        body: Array(body.utf8),
                        headers: try await world.signedHeaders(provider, body: body)
                    )
                }
                let json = try await list()
                #expect(json.status == 200)
                #expect(json.text.contains("read_ticket") && !json.text.contains("close_ticket"), "\(json.text)")
                let sse = try await list()
                #expect(sse.status == 200)
                #expect(sse.text.hasPrefix("event: message\ndata: {"), "\(sse.text)")
                #expect(sse.text.contains("read_ticket") && !sse.text.contains("close_ticket"), "\(sse.text)")
                for _ in 0..<3 {
                    let broken = try await list()
                    #expect(broken.status == 502, "\(broken.text)")
                    #expect(broken.data("writ_code") == .string("transport"))
                    #expect(!broken.text.contains("close_ticket"))
                }
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
#endif
