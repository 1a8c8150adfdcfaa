#if MCP
import Foundation
import MCP
import Testing
import Writ
import WritAudit
import WritHTTP
import WritMCP
import WritTesting

/// The real SDK client and server over loopback, with Writ on every message.
@Suite("WritMCP end to end")
struct MCPEndToEndTests {
    static func text(_ content: [Tool.Content]) -> String {
        content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined()
    }

    @Test("an allowed tool call reaches the handler with its grant, and no credential")
    func allowedCall() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (client, _) = try await world.client(provider)
            let tools = try await client.listTools()
            #expect(tools.tools.map(\.name).contains("read_ticket"))
            let result = try await client.callTool(name: "read_ticket", arguments: ["id": 7])
            #expect(
                Self.text(result.content)
                    == "read_ticket \(world.agent) tools/call:read_ticket tickets/7 credentials=none refs=1"
            )
            let comment = try await client.callTool(name: "comment", arguments: ["id": "7", "text": "looks fine"])
            #expect(
                Self.text(comment.content).hasPrefix("comment \(world.agent) tools/call:comment tickets/7/comments")
            )
            await client.disconnect()
        }
        // Every message was authorised and audited: initialize, notifications/initialized, tools/list, 2 calls.
        let entries = try await world.serviceLog.entries(0..<world.serviceLog.size)
        #expect(entries.map(\.event.kind) == [.used, .used, .used, .used, .used])
    }

    @Test("a tool outside the step's grant is 403 insufficient_scope naming the action needed")
    func toolOutsideGrant() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (client, transport) = try await world.client(provider)
            do {
                _ = try await client.callTool(name: "close_ticket", arguments: ["id": 7])
                Issue.record("a tool outside the grant was called")
            } catch let error as WritMCPError {
                #expect(error.code == .refused)
                #expect(error.refusal?.status == 403)
                #expect(error.refusal?.error == "insufficient_scope")
                #expect(error.refusal?.retry == .reauthorize)
            }
            #expect(await transport.lastRefusal?.code == "token-rejected")
            // The same on the wire: the challenge and the typed JSON-RPC error.
            let body =
                #"{"jsonrpc":"2.0","id":"x1","method":"tools/call","params":{"name":"close_ticket","arguments":{"id":7}}}"#
            let answer = try await world.raw(
                body: Array(body.utf8),
                headers: try await world.signedHeaders(provider, body: body)
            )
            #expect(answer.status == 403)
            let challenge = try #require(answer.headers["www-authenticate"])
            #expect(challenge.hasPrefix("Writ realm=\"tickets\""))
            #expect(challenge.contains(#"error="insufficient_scope""#))
            #expect(challenge.contains(#"scope="tools/call:close_ticket""#))
            #expect(
                challenge.contains(#"resource_metadata="\#(world.origin)/.well-known/oauth-protected-resource/mcp""#)
            )
            #expect(answer.error?["code"] == .int(-32003))
            #expect(answer.writ("code") == "token-rejected")
            #expect(answer.writ("token_error") == "actionNotAllowed" || answer.writ("token_error") != nil)
            guard case .object(let required)? = answer.data("required") else {
                Issue.record("no required")
                return
            }
            #expect(required["action"] == .string("tools/call:close_ticket"))
            #expect(required["resource"] == .string("tickets/7"))
            #expect(answer.data("step_up") != nil)
            await client.disconnect()
        }
    }

    @Test("a replayed request is refused: the proof's nonce was used")
    func replayedProof() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (client, _) = try await world.client(provider)
            let body =
                #"{"jsonrpc":"2.0","id":"r1","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
            let headers = try await world.signedHeaders(provider, body: body)
            let first = try await world.raw(body: Array(body.utf8), headers: headers)
            #expect(first.status == 200, "\(first.text)")
            #expect(first.text.contains("tickets/1"))
            let again = try await world.raw(body: Array(body.utf8), headers: headers)
            #expect(again.status == 401)
            #expect(again.writ("code") == "replayed")
            #expect(again.writ("retry") == "new-proof")
            #expect(again.error?["code"] == .int(-32001))
            #expect(again.headers["www-authenticate"]?.contains("resource_metadata=") == true)
            await client.disconnect()
        }
    }

    @Test("a proof made for one tool call does not verify for another (tool, arguments, or id)")
    func proofForAnotherCall() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (client, _) = try await world.client(provider)
            let signed =
                #"{"jsonrpc":"2.0","id":"p1","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#
            let others = [
                // Another tool the grant allows.
                #"{"jsonrpc":"2.0","id":"p1","method":"tools/call","params":{"name":"comment","arguments":{"id":1,"text":"x"}}}"#,
                // The same tool on another ticket.
                #"{"jsonrpc":"2.0","id":"p1","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":2}}}"#,
                // The same call with another id (same action and resource; the body digest differs).
                #"{"jsonrpc":"2.0","id":"p2","method":"tools/call","params":{"name":"read_ticket","arguments":{"id":1}}}"#,
            ]
            for other in others {
                let answer = try await world.raw(
                    body: Array(other.utf8),
                    headers: try await world.signedHeaders(provider, body: other, signFor: signed)
                )
                #expect(answer.status == 401, "\(other): \(answer.text)")
                #expect(answer.writ("error") == "invalid_proof")
                #expect(answer.writ("retry") == "new-proof")
            }
            // The proof still works for what it was made for (the refusals above consumed nothing).
            let answer = try await world.raw(
                body: Array(signed.utf8),
                headers: try await world.signedHeaders(provider, body: signed)
            )
            #expect(answer.status == 200, "\(answer.text)")
            await client.disconnect()
        }
    }

    @Test("revoked mid-session: the next tools/call is denied")
    func revokedMidSession() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (client, _) = try await world.client(provider)
            _ = try await client.callTool(name: "read_ticket", arguments: ["id": 1])
            try await world.authority.revoke(agent: world.agent)
            try await world.syncFeed()
            do {
                _ = try await client.callTool(name: "read_ticket", arguments: ["id": 1])
                Issue.record("a revoked agent's call was allowed")
            } catch let error as WritMCPError {
                #expect(error.code == .refused)
                #expect(error.refusal?.status == 401)
                #expect(error.refusal?.code == "revoked")
                #expect(error.refusal?.retry == .reauthorize)
            }
            await client.disconnect()
        }
        let kinds = try await world.serviceLog.entries(0..<world.serviceLog.size).map(\.event.kind)
        #expect(kinds.last == .denied)
    }

    @Test("a token near or past expiry is refreshed through the provider, and the session goes on")
    func expiredTokenRefreshed() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (client, _) = try await world.client(provider)
            let first = try #require(await provider.tokenID)
            _ = try await client.callTool(name: "read_ticket", arguments: ["id": 1])
            // 35 s into a 30 s token: expired; the provider refreshes before signing.
            world.clock.advance(by: .seconds(35))
            try await world.syncFeed()
            let result = try await client.callTool(name: "read_ticket", arguments: ["id": 2])
            #expect(Self.text(result.content).contains("tickets/2"))
            #expect(await provider.refreshes == 1)
            #expect(await provider.tokenID != first)
            await client.disconnect()
        }
    }

    @Test("a re-authorisation checkpoint is a step-up naming what must be approved")
    func checkpointStepUp() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider(step: MCPWorld.closeStep)
            let (client, _) = try await world.client(provider)
            let body =
                #"{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"close_ticket","arguments":{"id":3}}}"#
            let answer = try await world.raw(
                body: Array(body.utf8),
                headers: try await world.signedHeaders(provider, body: body)
            )
            #expect(answer.status == 403)
            let challenge = answer.headers["www-authenticate"] ?? ""
            #expect(challenge.contains(#"error="insufficient_scope""#))
            #expect(challenge.contains(#"retry="approval""#))
            #expect(challenge.contains(#"writ_code="reauthorization-required""#))
            #expect(answer.writ("error") == "reauthorization_required")
            guard case .object(let stepUp)? = answer.data("step_up") else {
                Issue.record("no step_up: \(answer.text)")
                return
            }
            #expect(stepUp["kind"] == .string("approval"))
            #expect(stepUp["reason"] == .string("closing a ticket needs a human's approval"))
            #expect(stepUp["policies"]?.arrayValue?.isEmpty == false)
            // Through the SDK client: a typed refusal with retry "approval".
            do {
                _ = try await client.callTool(name: "close_ticket", arguments: ["id": 3])
                Issue.record("the checkpoint let the call through")
            } catch let error as WritMCPError {
                #expect(error.refusal?.retry == .approval)
                #expect(error.refusal?.code == "reauthorization-required")
            }
            await client.disconnect()
        }
    }
}
#endif
#if MCP
/// Several clients on one endpoint.
@Suite("WritMCP several clients")
struct MCPSeveralClientsTests {
    @Test("every client's initialize is answered (initializeServer); without it the SDK refuses the second")
    func severalClients() async throws {
        let world = try await MCPWorld()
        try await world.serving {
            let provider = try await world.provider()
            let (first, _) = try await world.client(provider)
            let (second, _) = try await world.client(provider)
            let a = try await first.callTool(name: "read_ticket", arguments: ["id": 1])
            let b = try await second.callTool(name: "read_ticket", arguments: ["id": 2])
            #expect(MCPEndToEndTests.text(a.content).contains("tickets/1"))
            #expect(MCPEndToEndTests.text(b.content).contains("tickets/2"))
            await first.disconnect()
            await second.disconnect()
        }
        let single = try await MCPWorld(answersEveryInitialize: false)
        try await single.serving {
            let provider = try await single.provider()
            let (first, _) = try await single.client(provider)
            await #expect(throws: (any Error).self) { _ = try await single.client(provider) }
            await first.disconnect()
        }
    }
}
#endif
