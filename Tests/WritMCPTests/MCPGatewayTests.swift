#if MCP
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MCP
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import Writ
import WritHTTP
import WritMCP
import WritTesting

/// The gateway in front of an MCP server that knows nothing of Writ (the plain SDK server on its own loopback
/// port, reached over real HTTP).
@Suite("WritMCP gateway")
struct MCPGatewayTests {
    @Test("the gateway authorises each message, forwards only what was granted, and never the credential")
    func gateway() async throws {
        let world = try await MCPWorld()
        let upstreamPort = freeLoopbackPort()
        let calls = Mutex(0)
        // The upstream: the plain SDK, no Writ, echoing what the gateway told it.
        let upstreamTransport = StatelessHTTPServerTransport()
        let upstreamServer = Server(name: "legacy", version: "1.0", capabilities: .init(tools: .init()))
        await upstreamServer.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: [Tool(name: "read_ticket", description: "r", inputSchema: .object([:]))])
        }
        await upstreamServer.withMethodHandler(CallTool.self) { params in
            calls.withLock { $0 += 1 }
            let http = Server.currentHandlerContext?.httpContext
            let leaked = http?.header("Authorization") != nil || http?.header("Writ-Proof") != nil
            let text =
                "\(params.name) agent=\(http?.header("Writ-Agent") ?? "-") action=\(http?.header("Writ-Action") ?? "-") credentials=\(leaked ? "leaked" : "none")"
            return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)])
        }
        try await upstreamServer.start(transport: upstreamTransport)
        let upstreamRouter = Router()
        upstreamRouter.post("/mcp") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.rawName] = field.value }
            let answer = await upstreamTransport.handleRequest(
                MCP.HTTPRequest(method: "POST", headers: headers, body: Data(body.readableBytesView), path: "/mcp")
            )
            var fields = HTTPFields()
            for (name, value) in answer.headers { if let n = HTTPField.Name(name) { fields[n] = value } }
            return Response(
                status: .init(code: answer.statusCode),
                headers: fields,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.bodyData ?? Data()))
            )
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let gateway = WritMCPGateway(
            gatekeeper: world.gatekeeper,
            configuration: .init(origin: world.origin, tools: MCPWorld.tools),
            upstream: URL(string: "http://127.0.0.1:\(upstreamPort)/mcp")!,
            httpClient: http
        )
        let gatewayRouter = Router()
        gateway.mount(on: gatewayRouter)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let apps: [any Service] = [
            Application(
                router: upstreamRouter,
                configuration: .init(address: .hostname("127.0.0.1", port: upstreamPort)),
                logger: logger
            ),
            Application(
                router: gatewayRouter,
                configuration: .init(address: .hostname("127.0.0.1", port: world.port)),
                logger: logger
            ),
        ]
        let group = ServiceGroup(configuration: .init(services: apps, gracefulShutdownSignals: [], logger: logger))
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                defer { tasks.cancelAll() }
                try await waitUntilListening(upstreamPort)
                try await waitUntilListening(world.port)
                let provider = try await world.provider()
                let (client, _) = try await world.client(provider)
                #expect(try await client.listTools().tools.map(\.name) == ["read_ticket"])
                let result = try await client.callTool(name: "read_ticket", arguments: ["id": 7])
                let text = MCPEndToEndTests.text(result.content)
                #expect(text == "read_ticket agent=\(world.agent) action=tools/call:read_ticket credentials=none")

                // Outside the grant: refused at the gateway, never forwarded.
                do {
                    _ = try await client.callTool(name: "close_ticket", arguments: ["id": 7])
                    Issue.record("the gateway forwarded a tool outside the grant")
                } catch let error as WritMCPError {
                    #expect(error.refusal?.status == 403)
                    #expect(error.refusal?.error == "insufficient_scope")
                }
                // A replayed request: refused at the gateway, never forwarded.
                let body =
                    #"{"jsonrpc":"2.0","id":"g1","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
                let headers = try await world.signedHeaders(provider, body: body)
                #expect(try await world.raw(body: Array(body.utf8), headers: headers).status == 200)
                let replay = try await world.raw(body: Array(body.utf8), headers: headers)
                #expect(replay.status == 401)
                #expect(replay.writ("code") == "replayed")
                // A client's own Writ-Agent header is not passed on: the gateway sets it from the grant.
                let spoofBody =
                    #"{"jsonrpc":"2.0","id":"g2","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
                var spoof = try await world.signedHeaders(provider, body: spoofBody)
                spoof.append((name: "Writ-Agent", value: "spiffe://acme.test/agent/admin"))
                let spoofed = try await world.raw(body: Array(spoofBody.utf8), headers: spoof)
                #expect(spoofed.status == 200)
                #expect(spoofed.text.contains("agent=\(world.agent) "), "\(spoofed.text)")
                #expect(calls.withLock { $0 } == 3)
                await client.disconnect()
                await group.triggerGracefulShutdown()
            }
        } catch {
            await upstreamServer.stop()
            try? await http.shutdown()
            throw error
        }
        await upstreamServer.stop()
        try await http.shutdown()
    }
}
#endif
