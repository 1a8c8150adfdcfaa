#if MCP
import Foundation
import MCP
import WritTokens

/// Which tools a `tools/list` answer may show: those the presented token's grant (its step) could allow.
///
/// A tool `T` is shown when the token's effective actions contain its action (`tools/call:T`, or the declared one) and one of its resource patterns
/// could match a resource the tool names: `tools/T` for a tool without a template, the literal text for a template
/// without arguments, and for a templated tool any pattern compatible with the template's literal text before its
/// first argument (`tickets/*` and `tickets/7` for `tickets/:id`; not `repo/*`). Policies, caveats and argument
/// values are not evaluated, so a listed tool can still be refused; a tool that is not listed is always refused.
struct WritMCPToolVisibility: Sendable {
    let actions: Set<String>
    let resources: [ResourcePattern]
    let map: WritMCPToolMap

    init(token: VerifiedToken, map: WritMCPToolMap) {
        actions = Set(token.actions)
        resources = token.resources
        self.map = map
    }

    /// Whether the grant could allow calling `tool`.
    func shows(_ tool: String) -> Bool {
        guard actions.contains(map.action(forTool: tool)) else { return false }
        guard let segments = map.templates[tool] else {
            return resources.contains { $0.matches("tools/\(tool)") }
        }
        var literal = ""
        var fixed = true
        for (index, segment) in segments.enumerated() {
            if index > 0 { literal += "/" }
            guard case .literal(let text) = segment else {
                fixed = false
                break
            }
            literal += text
        }
        if fixed { return resources.contains { $0.matches(literal) } }
        return resources.contains { pattern in
            if pattern.isPrefix {
                let stem = String(pattern.text.dropLast())
                return literal.hasPrefix(stem) || stem.hasPrefix(literal)
            }
            return pattern.text.hasPrefix(literal)
        }
    }

    /// The answer with `result.tools` filtered, or `nil` when it cannot be read (the caller fails closed).
    ///
    /// - Parameters:
    ///   - body: a JSON-RPC response (`application/json`), or an SSE stream whose `data:` lines are JSON-RPC
    ///     messages (`text/event-stream`).
    ///   - eventStream: whether `body` is an SSE stream.
    func filter(_ body: Data, eventStream: Bool) -> Data? {
        guard eventStream else { return filterMessage(Array(body)) }
        var out: [String] = []
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            let text = line.hasSuffix("\r") ? line.dropLast() : line
            guard text.hasPrefix("data:") else {
                out.append(String(line))
                continue
            }
            var payload = text.dropFirst("data:".count)
            if payload.first == " " { payload = payload.dropFirst() }
            guard let filtered = filterMessage(Array(payload.utf8)) else { return nil }
            out.append("data: " + String(decoding: filtered, as: UTF8.self))
        }
        return Data(out.joined(separator: "\n").utf8)
    }

    /// One JSON-RPC message with `result.tools` filtered (an error response passes as it is).
    func filterMessage(_ bytes: [UInt8]) -> Data? {
        guard case .object(var message)? = try? WritMCPJSON.parse(bytes) else { return nil }
        if message["error"] != nil, message["result"] == nil { return Data(bytes) }
        guard case .object(var result)? = message["result"], case .array(let tools)? = result["tools"] else {
            return nil
        }
        var kept: [Value] = []
        for tool in tools {
            guard case .object(let fields) = tool, case .string(let name)? = fields["name"] else { return nil }
            if shows(name) { kept.append(tool) }
        }
        result["tools"] = .array(kept)
        message["result"] = .object(result)
        return WritMCPJSON.encode(.object(message))
    }
}
#endif
