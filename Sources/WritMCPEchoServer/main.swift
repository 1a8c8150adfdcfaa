// A plain MCP tool server (the MCP Swift SDK's stateless Streamable HTTP transport on Hummingbird), with no Writ
// at all: the upstream that WritMCP's gateway tests and benchmarks put Writ in front of, as a separate process.
//
//     WritMCPEchoServer [--host 127.0.0.1] [--port 0]
//
// Prints `listening on http://HOST:PORT` once bound; stops on SIGTERM or SIGINT. Tools: `echo`, `read_ticket`,
// `comment`, `close_ticket` and `headers`. Every answer is one JSON text naming the tool, its arguments, and what
// the server saw of the HTTP request (the names of its header fields, and the gateway's `Writ-Agent`,
// `Writ-Task` and `Writ-Action`), so a test can check what the gateway did and did not pass on.
#if MCP
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MCP
import NIOCore
import UnixSignals

/// The tools this server lists.
let toolNames = ["echo", "read_ticket", "comment", "close_ticket", "headers"]

/// A `Server` with this process's tool handlers.
func makeServer() async -> Server {
    let server = Server(name: "writ-mcp-echo", version: "1.0", capabilities: .init(tools: .init()))
    await server.withMethodHandler(ListTools.self) { _ in
        ListTools.Result(
            tools: toolNames.map { Tool(name: $0, description: $0, inputSchema: .object(["type": .string("object")])) }
        )
    }
    await server.withMethodHandler(CallTool.self) { params in
        guard toolNames.contains(params.name) else {
            return CallTool.Result(
                content: [.text(text: "no tool \(params.name)", annotations: nil, _meta: nil)],
                isError: true
            )
        }
        let http = Server.currentHandlerContext?.httpContext
        let headers = (http?.headers ?? [:]).keys.map { $0.lowercased() }.sorted()
        var answer: [String: Value] = [
            "tool": .string(params.name),
            "arguments": .object(params.arguments ?? [:]),
            "headers": .array(headers.map { .string($0) }),
        ]
        let gatewayHeaders = [("writ_agent", "Writ-Agent"), ("writ_task", "Writ-Task"), ("writ_action", "Writ-Action")]
        for (key, header) in gatewayHeaders {
            if let value = http?.header(header) { answer[key] = .string(value) }
        }
        switch params.name {
        case "read_ticket": answer["status"] = .string("open")
        case "comment": answer["saved"] = .bool(true)
        case "close_ticket": answer["status"] = .string("closed")
        default: break
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: (try? encoder.encode(Value.object(answer))) ?? Data("{}".utf8), as: UTF8.self)
        return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)])
    }
    return server
}

/// Whether a body is an `initialize` request (the SDK's `Server` answers one `initialize` in its life, so each is
/// answered by a fresh one).
func isInitialize(_ body: Data) -> Bool {
    guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return false }
    return object["method"] as? String == Initialize.name
}

func answer(_ response: MCP.HTTPResponse) -> Response {
    var fields = HTTPFields()
    for (name, value) in response.headers { if let field = HTTPField.Name(name) { fields[field] = value } }
    return Response(
        status: .init(code: response.statusCode),
        headers: fields,
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.bodyData ?? Data()))
    )
}

/// `--host` and `--port` (exits 2 on anything else).
func parseArguments() -> (host: String, port: Int) {
    var host = "127.0.0.1"
    var port = 0
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--host": host = arguments.popFirst() ?? host
        case "--port":
            guard let text = arguments.popFirst(), let value = Int(text), (0...65535).contains(value) else {
                FileHandle.standardError.write(Data("--port: a TCP port is needed\n".utf8))
                exit(2)
            }
            port = value
        default:
            FileHandle.standardError.write(Data("usage: WritMCPEchoServer [--host HOST] [--port PORT]\n".utf8))
            exit(2)
        }
    }
    return (host, port)
}

let (host, port) = parseArguments()

let transport = StatelessHTTPServerTransport()
let server = await makeServer()
try await server.start(transport: transport)
let router = Router()
router.post("/mcp") { request, _ -> Response in
    var request = request
    let body = Data(try await request.collectBody(upTo: 4 << 20).readableBytesView)
    var headers: [String: String] = [:]
    for field in request.headers {
        headers[field.name.rawName] = headers[field.name.rawName].map { "\($0), \(field.value)" } ?? field.value
    }
    let sdkRequest = MCP.HTTPRequest(method: "POST", headers: headers, body: body, path: "/mcp")
    if isInitialize(body) {
        let once = StatelessHTTPServerTransport()
        let fresh = await makeServer()
        try await fresh.start(transport: once)
        let response = await once.handleRequest(sdkRequest)
        await fresh.stop()
        return answer(response)
    }
    return answer(await transport.handleRequest(sdkRequest))
}
let app = Application(
    router: router,
    configuration: .init(address: .hostname(host, port: port)),
    onServerRunning: { [host, port] channel in
        let bound = channel.localAddress?.port ?? port
        FileHandle.standardOutput.write(Data("listening on http://\(host):\(bound)\n".utf8))
    },
    logger: Logger(label: "writ-mcp-echo", factory: { _ in SwiftLogNoOpLogHandler() })
)
try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
await server.stop()
#else
print("WritMCPEchoServer needs the MCP package trait")
#endif
