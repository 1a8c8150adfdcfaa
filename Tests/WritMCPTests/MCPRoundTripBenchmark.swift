#if MCP
import AsyncHTTPClient
import Foundation
import Hummingbird
import HTTPTypes
import MCP
import NIOCore
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritMCP

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `tools/call` round trips over loopback, plain SDK vs with Writ, measured in one run and interleaved. Prints its
/// numbers; asserts none (no timing assertions in tests). Run with `WRIT_MCP_BENCH=1`.
@Suite("WritMCP round-trip benchmark")
struct MCPRoundTripBenchmark {
    @Test(
        "tools/call round trips: plain SDK, with Writ, and the raw Ed25519 verify",
        .enabled(if: ProcessInfo.processInfo.environment["WRIT_MCP_BENCH"] != nil)
    )
    func roundTrips() async throws {
        let world = try await MCPWorld()
        // Plain SDK servers on the same Hummingbird app, with no Writ in front: /plain for the plain client,
        // /upstream behind the gateway (a stateless SDK server accepts one `initialize` in its life).
        var plainServers: [Server] = []
        var plainRoutes: [(String, StatelessHTTPServerTransport)] = []
        for path in ["/plain", "/upstream"] {
            let transport = StatelessHTTPServerTransport()
            let server = Server(name: "plain", version: "1.0", capabilities: .init(tools: .init()))
            await server.withMethodHandler(CallTool.self) { params in
                CallTool.Result(content: [.text(text: params.name, annotations: nil, _meta: nil)])
            }
            try await server.start(transport: transport)
            plainServers.append(server)
            plainRoutes.append((path, transport))
        }
        // The gateway at /gw, in front of /upstream (same loopback port).
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let gateway = WritMCPGateway(
            gatekeeper: world.gatekeeper,
            configuration: .init(origin: world.origin, path: "/gw", tools: MCPWorld.tools),
            upstream: URL(string: "\(world.origin)/upstream")!,
            httpClient: http
        )
        let routes = plainRoutes
        let servers = plainServers
        world.extraRoutes = { router in
            gateway.mount(on: router)
            for (path, transport) in routes {
                router.post(RouterPath(path)) { request, _ -> Response in
                    var request = request
                    let body = try await request.collectBody(upTo: 1 << 20)
                    var headers: [String: String] = [:]
                    for field in request.headers { headers[field.name.rawName] = field.value }
                    let answer = await transport.handleRequest(
                        MCP.HTTPRequest(
                            method: "POST",
                            headers: headers,
                            body: Data(body.readableBytesView),
                            path: path
                        )
                    )
                    var fields = HTTPFields()
                    for (name, value) in answer.headers { if let n = HTTPField.Name(name) { fields[n] = value } }
                    return Response(
                        status: .init(code: answer.statusCode),
                        headers: fields,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.bodyData ?? Data()))
                    )
                }
            }
        }
        do {
            try await world.serving {
                let provider = try await world.provider()
                let (writClient, _) = try await world.client(provider)
                let plainClient = Client(name: "plain", version: "1.0")
                _ = try await plainClient.connect(
                    transport: HTTPClientTransport(endpoint: URL(string: "\(world.origin)/plain")!, streaming: false)
                )
                let gatewayClient = Client(name: "via-gateway", version: "1.0")
                _ = try await gatewayClient.connect(
                    transport: WritMCPClientTransport(
                        endpoint: URL(string: "\(world.origin)/gw")!,
                        audience: "tickets",
                        provider: provider,
                        tools: MCPWorld.tools
                    )
                )
                let clock = ContinuousClock()
                var plain: [Duration] = []
                var viaGateway: [Duration] = []
                var writ: [Duration] = []
                var verify: [Duration] = []
                var signing: [Duration] = []
                var serverSide: [Duration] = []
                var clientSide: [Duration] = []
                var parsing: [Duration] = []
                let callBody = Array(
                    #"{"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
                        .utf8
                )
                let key = Ed25519.PrivateKey()
                let message = [UInt8](repeating: 7, count: 200)
                let signature = key.signature(for: message)
                // Warm up both paths.
                for _ in 0..<20 {
                    _ = try await plainClient.callTool(name: "echo", arguments: ["id": 1])
                    _ = try await writClient.callTool(name: "read_ticket", arguments: ["id": 1])
                }
                for _ in 0..<20 {
                    for _ in 0..<25 {
                        let start = clock.now
                        _ = try await plainClient.callTool(name: "echo", arguments: ["id": 1])
                        plain.append(clock.now - start)
                    }
                    for _ in 0..<25 {
                        let start = clock.now
                        _ = try await writClient.callTool(name: "read_ticket", arguments: ["id": 1])
                        writ.append(clock.now - start)
                    }
                    for _ in 0..<25 {
                        let start = clock.now
                        _ = try await gatewayClient.callTool(name: "read_ticket", arguments: ["id": 1])
                        viaGateway.append(clock.now - start)
                    }
                    let start = clock.now
                    for _ in 0..<200 { #expect(key.publicKey.isValidSignature(signature, for: message)) }
                    verify.append((clock.now - start) / 200)
                    let signStart = clock.now
                    for _ in 0..<200 { #expect(key.signature(for: message).count == 64) }
                    signing.append((clock.now - signStart) / 200)
                    // Writ's own work per call, in process: the agent's (map, digest, token + proof from the provider)
                    // and the service's (parse, map, digest, gatekeeper: token, proof, revocation, replay, policy, audit).
                    let parseStart = clock.now
                    for _ in 0..<25 { _ = try MCPWorld.tools.map(WritMCPMessage.parse(callBody)) }
                    parsing.append((clock.now - parseStart) / 25)
                    for _ in 0..<25 {
                        let agentStart = clock.now
                        let message = try WritMCPMessage.parse(callBody)
                        let mapped = try MCPWorld.tools.map(message)
                        let binding = try WritHTTPRequestDigest.digest(
                            method: "POST",
                            origin: world.origin,
                            target: "/mcp",
                            bodyDigest: WritHTTPRequestDigest.bodyDigest(callBody)
                        )
                        let credential = try await provider.credential(
                            audience: "tickets",
                            action: mapped.action,
                            resource: mapped.resource,
                            binding: binding
                        )
                        clientSide.append(clock.now - agentStart)
                        let serviceStart = clock.now
                        let parsed = try WritMCPMessage.parse(callBody)
                        let serviceMapped = try MCPWorld.tools.map(parsed)
                        let serviceBinding = try WritHTTPRequestDigest.digest(
                            method: "POST",
                            origin: world.origin,
                            target: "/mcp",
                            bodyDigest: WritHTTPRequestDigest.bodyDigest(callBody)
                        )
                        let decision = await world.gatekeeper.authorize(
                            .init(
                                token: credential.token,
                                proof: credential.proof,
                                action: serviceMapped.action,
                                resource: serviceMapped.resource,
                                binding: serviceBinding
                            )
                        )
                        serverSide.append(clock.now - serviceStart)
                        #expect(decision.isAllowed)
                    }
                }
                func micros(_ d: Duration) -> Double {
                    Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
                }
                func stats(_ values: [Duration]) -> (p50: Double, p99: Double, mean: Double) {
                    let sorted = values.map(micros).sorted()
                    return (
                        sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)],
                        sorted.reduce(0, +) / Double(sorted.count)
                    )
                }
                let p = stats(plain)
                let w = stats(writ)
                let g = stats(viaGateway)
                let v = stats(verify)
                let sg = stats(signing)
                // What Writ must do per sequential call before parsing a byte, in raw libsodium: the agent signs a
                // fresh proof, the service verifies it, and the service's audit log signs the checkpoint of the
                // call's entry before the call is allowed (a sequential caller's batch is one entry).
                let floorPerCall = 2 * sg.p50 + v.p50
                let server = stats(serverSide)
                let agent = stats(clientSide)
                let parse = stats(parsing)
                print(
                    """
                    WritMCP tools/call round trips over loopback (\(plain.count) each, interleaved in 20 chunks):
                      plain SDK:  p50 \(Int(p.p50)) µs, p99 \(Int(p.p99)) µs, \(Int(1e6 / p.mean)) calls/s (sequential)
                      with Writ:  p50 \(Int(w.p50)) µs, p99 \(Int(w.p99)) µs, \(Int(1e6 / w.mean)) calls/s (sequential)
                      via gateway: p50 \(Int(g.p50)) µs, p99 \(Int(g.p99)) µs, \(Int(1e6 / g.mean)) calls/s (sequential)
                      in process: service side p50 \(String(format: "%.1f", server.p50)) µs = \(String(format: "%.2f", server.p50 / v.p50))× raw verify; agent side p50 \(String(format: "%.1f", agent.p50)) µs; of each, parse + map + re-encode p50 \(String(format: "%.1f", parse.p50)) µs
                      Writ adds:  p50 \(Int(w.p50 - p.p50)) µs per call = \(String(format: "%.2f", (w.p50 - p.p50) / v.p50))× one raw Ed25519 verify (\(String(format: "%.1f", v.p50)) µs)
                      floor by construction: proof sign + proof verify + checkpoint sign = \(String(format: "%.1f", floorPerCall)) µs = \(String(format: "%.2f", floorPerCall / v.p50))× one raw verify (raw sign \(String(format: "%.1f", sg.p50)) µs); service side alone verify + sign = \(String(format: "%.2f", (v.p50 + sg.p50) / v.p50))×
                    """
                )
                await writClient.disconnect()
                await plainClient.disconnect()
                await gatewayClient.disconnect()
                for server in servers { await server.stop() }
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
#endif
