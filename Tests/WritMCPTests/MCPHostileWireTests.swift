#if MCP
import Foundation
import MCP
import Testing
import Writ
import WritHTTP
import WritMCP

/// What the endpoint does with input no well-behaved client sends: clear errors, never a crash, never an allow.
@Suite("WritMCP hostile wire")
struct MCPHostileWireTests {
    @Test("bad JSON, a batch, a response, a malformed call, an unmappable argument: 400 with a JSON-RPC error")
    func badBodies() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (client, _) = try await world.client(provider)
            let cases: [(body: String, code: Int, writ: String)] = [
                (#"{"jsonrpc":"2.0","id":1,"method":"#, -32700, "parse-error"),
                ("not json at all", -32700, "parse-error"),
                (#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#, -32600, "batch-not-supported"),
                (#"  [ ]"#, -32600, "batch-not-supported"),
                (#""just a string""#, -32600, "invalid-message"),
                (#"{"jsonrpc":"2.0","id":1,"result":{}}"#, -32600, "invalid-message"),
                (#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#, -32600, "invalid-message"),
                (#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"#, -32600, "invalid-message"),
                (#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#, -32600, "invalid-message"),
                (
                    #"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"read_ticket"}}"#, -32600,
                    "invalid-message"
                ),
                (
                    #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_ticket","arguments":[1]}}"#,
                    -32600, "invalid-message"
                ),
                (
                    #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_ticket","arguments":{}}}"#,
                    -32600, "unmappable-arguments"
                ),
                (
                    #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_ticket","arguments":{"id":"../../admin"}}}"#,
                    -32600, "unmappable-arguments"
                ),
                (
                    #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_ticket","arguments":{"id":"*"}}}"#,
                    -32600, "unmappable-arguments"
                ),
                (
                    #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1.5}}}"#,
                    -32600, "unmappable-arguments"
                ),
            ]
            for item in cases {
                // A valid token and a proof (made for another message: a client cannot map what it cannot parse):
                // the message is refused before the gatekeeper is asked.
                let headers = try await world.signedHeaders(
                    provider,
                    body: item.body,
                    signFor: #"{"jsonrpc":"2.0","id":"h","method":"ping"}"#
                )
                let answer = try await world.raw(body: Array(item.body.utf8), headers: headers)
                #expect(answer.status == 400, "\(item.body): \(answer.status) \(answer.text)")
                #expect(answer.error?["code"] == .int(item.code), "\(item.body): \(answer.text)")
                #expect(answer.data("writ_code") == .string(item.writ), "\(item.body): \(answer.text)")
            }
            // The session still works.
            _ = try await client.callTool(name: "read_ticket", arguments: ["id": 1])
            await client.disconnect()
        }
    }

    @Test("a body over the limit is 413 whether or not Content-Length says so; no credential is 401 with metadata")
    func oversizedAndAnonymous() async throws {
        let world = try await MCPWorld(maximumBodyBytes: 512)
        try await world.serving {
            let provider = try await world.provider()
            let big =
                #"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":""# + String(repeating: "a", count: 600)
                + #""}}"#
            let headers = try await world.signedHeaders(provider, body: big)
            let answer = try await world.raw(body: Array(big.utf8), headers: headers)
            #expect(answer.status == 413)
            #expect(answer.writ("code") == "body-too-large")

            let anonymous = try await world.raw(body: Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#.utf8))
            #expect(anonymous.status == 401)
            let challenge = anonymous.headers["www-authenticate"] ?? ""
            #expect(challenge.hasPrefix("Writ realm=\"tickets\""))
            #expect(
                challenge.contains(#"resource_metadata="\#(world.origin)/.well-known/oauth-protected-resource/mcp""#)
            )
            #expect(anonymous.writ("code") == "credentials-missing")

            // Another scheme, a token in the query: 400 invalid_request, never tried.
            let bearer = try await world.raw(
                body: Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#.utf8),
                headers: [(name: "Authorization", value: "Bearer writ1_x")]
            )
            #expect(bearer.status == 400)

            // GET and DELETE: 405 (stateless endpoint), nothing reaches the SDK.
            let get = try await world.raw("GET")
            #expect(get.status == 405)
            #expect(get.headers["allow"] == "POST")
        }
    }

    @Test("a body with duplicate keys, bad UTF-8, a lone surrogate or trailing bytes is refused before authorisation")
    func ambiguousBodies() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            // Parsers disagree on these (first or last duplicate wins, replacement characters): refused, so the
            // message the SDK runs is always the one the gatekeeper saw.
            let bodies: [[UInt8]] = [
                Array(
                    #"{"jsonrpc":"2.0","id":"d1","method":"tools/call","params":{"name":"comment","name":"read_ticket","arguments":{"id":4}}}"#
                        .utf8
                ),
                Array(
                    #"{"jsonrpc":"2.0","id":"d2","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":4,"id":5}}}"#
                        .utf8
                ),
                Array(#"{"jsonrpc":"2.0","id":"d3","method":"ping","method":"tools/list"}"#.utf8),
                Array(#"{"jsonrpc":"2.0","id":"d4","method":"ping","params":{"x":"\ud800"}}"#.utf8),
                Array(#"{"jsonrpc":"2.0","id":"d5","method":"ping"} {}"#.utf8),
                Array(#"{"jsonrpc":"2.0","id":"d6","method":"ping","params":{"x":""#.utf8) + [0xC3, 0x28]
                    + Array(#""}}"#.utf8),
                Array(#"{"jsonrpc":"2.0","id":01,"method":"ping"}"#.utf8),
                Array(#"{"jsonrpc":"2.0","id":"d8","method":"ping","params":{"a":"#.utf8)
                    + Array(String(repeating: "[", count: 100).utf8) + Array(String(repeating: "]", count: 100).utf8)
                    + Array("}}".utf8),
                Array(#"{"jsonrpc":"2.0","id":"d7","method":"ping","params":"#.utf8)
                    + Array(String(repeating: #"{"a":"#, count: 80).utf8) + Array("1".utf8)
                    + Array(String(repeating: "}", count: 81).utf8),
            ]
            for body in bodies {
                let headers = try await world.signedHeaders(
                    provider,
                    body: #"{"jsonrpc":"2.0","id":"h","method":"ping"}"#
                )
                let answer = try await world.raw(body: body, headers: headers)
                #expect(answer.status == 400, "\(String(decoding: body, as: UTF8.self)): \(answer.text)")
                #expect(answer.data("writ_code") == .string("parse-error"), "\(answer.text)")
            }
            // Escapes a strict parser must accept still work, and reach the tool as sent.
            let (client, _) = try await world.client(provider)
            let result = try await client.callTool(
                name: "comment",
                arguments: ["id": "é\u{1F600}\"\\", "text": "x"]
            )
            #expect(MCPEndToEndTests.text(result.content).contains("tickets/é\u{1F600}\"\\/comments"))
            // A key order, whitespace and escapes of the client's choosing: what runs is what was authorised.
            let body =
                #"{ "params" : {"arguments":{"id":"\u0041\u00e9"}, "name":"read_ticket"}, "method":"tools/call", "id":"e1", "jsonrpc":"2.0" }"#
            let answer = try await world.raw(
                body: Array(body.utf8),
                headers: try await world.signedHeaders(provider, body: body)
            )
            #expect(answer.status == 200, "\(answer.text)")
            #expect(
                answer.text.contains("read_ticket \(world.agent) tools/call:read_ticket tickets/Aé "),
                "\(answer.text)"
            )
            await client.disconnect()
        }
    }

    @Test("a client's own grant-reference header is dropped: the handler sees its own request's grant")
    func spoofedGrantReference() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (client, _) = try await world.client(provider)
            let body =
                #"{"jsonrpc":"2.0","id":"s1","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":3}}}"#
            for name in ["Writ-MCP-Grant", "writ-mcp-grant"] {
                var headers = try await world.signedHeaders(provider, body: body)
                headers.append((name: name, value: "00000000000000000000000000000000"))
                let answer = try await world.raw(body: Array(body.utf8), headers: headers)
                #expect(answer.status == 200, "\(answer.text)")
                #expect(
                    answer.text.contains("read_ticket \(world.agent) tools/call:read_ticket tickets/3 "),
                    "\(answer.text)"
                )
            }
            await client.disconnect()
        }
    }

    @Test("the RFC 9728 metadata is anonymous and names the resource and the authority")
    func metadata() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let answer = try await world.raw("GET", path: "/.well-known/oauth-protected-resource/mcp")
            #expect(answer.status == 200)
            let document = try JSONDecoder().decode([String: Value].self, from: answer.body)
            #expect(document["resource"] == .string("\(world.origin)/mcp"))
            #expect(document["authorization_servers"] == .array([.string("https://authority.test")]))
            #expect(document["bearer_methods_supported"] == .array([.string("header")]))
            #expect(document["writ_audience"] == .string("tickets"))
        }
    }
}

/// The mapping and the challenge parser, without a server.
@Suite("WritMCP mapping")
struct MCPMappingTests {
    @Test("tools/call maps to tools/call:<tool> and the declared resource; session methods to the session action")
    func mapping() throws {
        let map = MCPWorld.tools
        func mapped(_ body: String) throws -> (action: String, resource: String) {
            try map.map(WritMCPMessage.parse(Array(body.utf8)))
        }
        let call = try mapped(
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"comment","arguments":{"id":9}}}"#
        )
        #expect(call.action == "tools/call:comment")
        #expect(call.resource == "tickets/9/comments")
        let undeclared = try mapped(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"other"}}"#)
        #expect(undeclared.action == "tools/call:other")
        #expect(undeclared.resource == "tools/other")
        #expect(try mapped(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#) == ("mcp", "initialize"))
        #expect(
            try mapped(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#) == (
                "mcp", "notifications/initialized"
            )
        )
        #expect(try mapped(#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#) == ("mcp", "tools/list"))
        // Anything else must be named by the token itself.
        #expect(
            try mapped(#"{"jsonrpc":"2.0","id":1,"method":"resources/read"}"#) == ("resources/read", "resources/read")
        )
        #expect(throws: WritMCPError.self) { try WritMCPToolMap(tools: ["t": "a/*"]) }
        #expect(throws: WritMCPError.self) { try WritMCPToolMap(tools: ["t": "a//b"]) }
    }

    @Test("the challenge parser reads what the endpoint writes")
    func challenge() {
        let text =
            #"Writ realm="tickets", resource_metadata="http://h/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", error_description="a \"quoted\" word", retry="reauthorize", writ_code="token-rejected", scope="tools/call:x""#
        let p = WritMCPChallenge.parameters(text)
        #expect(p["realm"] == "tickets")
        #expect(p["error_description"] == #"a "quoted" word"#)
        #expect(p["scope"] == "tools/call:x")
        let refusal = WritMCPChallenge.refusal(status: 403, challenge: text)
        #expect(refusal.retry == .reauthorize)
        #expect(refusal.code == "token-rejected")
        #expect(WritMCPChallenge.parameters("Bearer realm=\"x\"").isEmpty)
        #expect(WritMCPChallenge.refusal(status: 401, challenge: "Writ realm=\"x\", retry=\"whatever\"").retry == .none)
    }
}
#endif
