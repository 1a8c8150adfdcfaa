#if MCP
public import Foundation
public import MCP

/// One MCP message as Writ authorises it: a single JSON-RPC 2.0 request or notification, parsed once, and the
/// canonical bytes re-encoded from what was parsed.
///
/// The MCP server is given ``canonicalBody``, never the bytes received, so the message it runs is exactly the
/// message that was authorised (no parser differential on duplicate keys, odd whitespace or encodings). The proof
/// still covers the bytes received, through the HTTP binding's body digest.
public struct WritMCPMessage: Sendable {
    /// The largest JSON-RPC id text accepted (bytes).
    public static let maximumIDBytes = 256

    /// The JSON-RPC method.
    public let method: String
    /// The JSON-RPC id (`nil` for a notification): a string or an integer.
    public let id: Value?
    /// The tool named by a `tools/call` (`params.name`), else `nil`.
    public let toolName: String?
    /// The tool's arguments (`params.arguments`), empty when absent.
    public let arguments: [String: Value]
    /// The message re-encoded (sorted keys) from what was parsed.
    public let canonicalBody: Data

    /// The id as the SDK's transports key it (`"7"` for `7` and for `"7"`).
    var idKey: String? {
        switch id {
        case .string(let text): text
        case .int(let number): String(number)
        default: nil
        }
    }

    /// Parses one message (strict JSON: duplicate keys, invalid UTF-8, unpaired surrogates, trailing bytes and
    /// nesting deeper than 64 are parse errors).
    ///
    /// - Throws: ``WritMCPError/Code/batchNotSupported`` for an array, ``WritMCPError/Code/parseError`` for bytes
    ///   that are not JSON, ``WritMCPError/Code/invalidMessage`` for JSON that is not one JSON-RPC 2.0 request or
    ///   notification (a response, a missing or non-string method, an id that is neither a string nor an integer,
    ///   `tools/call` without a string `params.name` or with non-object `params.arguments`).
    public static func parse(_ body: some Collection<UInt8>) throws(WritMCPError) -> WritMCPMessage {
        let bytes = Array(body)
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        guard let first = bytes.first(where: { !whitespace.contains($0) }) else {
            throw WritMCPError(.parseError, "the body is empty")
        }
        if first == UInt8(ascii: "[") {
            throw WritMCPError(.batchNotSupported, "JSON-RPC batches are not accepted: send one message per request")
        }
        let object: [String: Value]
        do {
            guard case .object(let members) = try WritMCPJSON.parse(bytes) else {
                throw WritMCPError(.invalidMessage, "the body is not a JSON-RPC message object")
            }
            object = members
        } catch let failure as WritMCPJSON.Failure {
            throw WritMCPError(.parseError, "the body is not valid JSON: \(failure.message)")
        } catch let error as WritMCPError {
            throw error
        } catch {
            throw WritMCPError(.parseError, "the body is not valid JSON")
        }
        guard object["jsonrpc"] == .string("2.0") else {
            throw WritMCPError(.invalidMessage, "the message's \"jsonrpc\" is not \"2.0\"")
        }
        guard case .string(let method)? = object["method"], !method.isEmpty, method.utf8.count <= 256 else {
            throw WritMCPError(
                .invalidMessage,
                "the message has no method of at most 256 bytes (responses are not accepted by this endpoint)"
            )
        }
        let id = object["id"]
        switch id {
        case nil: break
        case .string(let text) where !text.isEmpty && text.utf8.count <= maximumIDBytes: break
        case .int: break
        default: throw WritMCPError(.invalidMessage, "the message's id must be a non-empty string or an integer")
        }
        var toolName: String?
        var arguments: [String: Value] = [:]
        if method == CallTool.name {
            guard id != nil else { throw WritMCPError(.invalidMessage, "tools/call must be a request (with an id)") }
            guard case .object(let params)? = object["params"], case .string(let name)? = params["name"],
                !name.isEmpty, name.utf8.count <= 128
            else {
                throw WritMCPError(.invalidMessage, "tools/call needs params.name, a tool name of 1…128 bytes")
            }
            switch params["arguments"] {
            case nil, .null?: break
            case .object(let values)?: arguments = values
            default: throw WritMCPError(.invalidMessage, "tools/call's params.arguments must be an object")
            }
            toolName = name
        }
        let canonical = WritMCPJSON.encode(.object(object))
        return WritMCPMessage(
            method: method,
            id: id,
            toolName: toolName,
            arguments: arguments,
            canonicalBody: canonical
        )
    }
}

/// How an MCP endpoint maps each message to a Writ action and resource (`Docs/MCPBinding.md`).
///
/// * `tools/call` of tool `T` → action `tools/call:T` (or the tool's declared action); the resource from the
///   tool's declared template, whose `:name` (or `{name}`) segments are replaced by the call's arguments
///   (`tickets/:id` with `{"id": 42}` → `tickets/42`), or `tools/T` for a tool without a declaration.
/// * The session's own methods (``sessionMethods``: `initialize`, `ping`, `tools/list`, and every
///   `notifications/…`) → action ``sessionAction`` (default `mcp`), resource = the method. A token for the
///   audience with that one action opens a session; it grants no tool.
/// * Any other method (`resources/read`, `prompts/get`, …) → action = the method, resource = the method: the
///   token must name it (fail closed).
///
/// Mapping is pure (the parsed message only), so the client computes the same Writ request it signs for.
public struct WritMCPToolMap: Sendable, Hashable {
    /// The action of the session's own methods.
    public var sessionAction: String
    /// The methods that need only the session action.
    public var sessionMethods: Set<String>
    /// Declared resource templates, by tool name.
    public private(set) var templates: [String: [Segment]]
    /// Declared actions, by tool name (a tool without one maps to `tools/call:<tool>`).
    public private(set) var actions: [String: String]

    /// One template segment.
    public enum Segment: Sendable, Hashable {
        /// Literal text.
        case literal(String)
        /// The named argument's value.
        case argument(String)
    }

    /// Creates a map.
    ///
    /// - Parameters:
    ///   - tools: resource templates by tool name, e.g. `["read_ticket": "tickets/:id"]`: segments separated by
    ///     `/`, a segment `:name` or `{name}` is replaced by argument `name` (a string or an integer).
    ///   - actions: Writ actions by tool name, for tools whose action is not `tools/call:<tool>` (e.g.
    ///     `["read_ticket": "read"]`); never the session action.
    ///   - sessionAction: the action of the session's own methods (default `mcp`).
    /// - Throws: ``WritMCPError/Code/invalidMapping`` for an empty template, an empty segment or a `*`, or an
    ///   action that is empty, longer than 256 bytes, or the session action.
    public init(
        tools: [String: String] = [:],
        actions: [String: String] = [:],
        sessionAction: String = "mcp"
    ) throws(WritMCPError) {
        guard !sessionAction.isEmpty else { throw WritMCPError(.invalidMapping, "the session action is empty") }
        for (tool, action) in actions {
            guard !tool.isEmpty, !action.isEmpty, action.utf8.count <= 256, action != sessionAction else {
                throw WritMCPError(
                    .invalidMapping,
                    "tool '\(tool)': an action is 1…256 bytes and not the session action '\(sessionAction)'"
                )
            }
        }
        self.actions = actions
        self.sessionAction = sessionAction
        self.sessionMethods = [Initialize.name, Ping.name, ListTools.name]
        var templates: [String: [Segment]] = [:]
        for (tool, template) in tools {
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            guard !tool.isEmpty, !template.isEmpty, !template.contains("*"), parts.allSatisfy({ !$0.isEmpty }) else {
                throw WritMCPError(.invalidMapping, "tool '\(tool)': a template is non-empty segments without '*'")
            }
            templates[tool] = parts.map { part in
                if part.hasPrefix(":"), part.count > 1 { return .argument(String(part.dropFirst())) }
                if part.hasPrefix("{"), part.hasSuffix("}"), part.count > 2 {
                    return .argument(String(part.dropFirst().dropLast()))
                }
                return .literal(String(part))
            }
        }
        self.templates = templates
    }

    /// The Writ action and resource of a message.
    ///
    /// - Throws: ``WritMCPError/Code/unmappableArguments`` when a templated argument is missing, not a string or
    ///   integer, empty, longer than 256 bytes, `.` or `..`, or contains `/`, `*` or a control character.
    public func map(_ message: WritMCPMessage) throws(WritMCPError) -> (action: String, resource: String) {
        if let tool = message.toolName {
            let action = action(forTool: tool)
            guard let segments = templates[tool] else { return (action, "tools/\(tool)") }
            var pieces: [String] = []
            for segment in segments {
                switch segment {
                case .literal(let text): pieces.append(text)
                case .argument(let name): pieces.append(try Self.argument(name, of: tool, in: message.arguments))
                }
            }
            return (action, pieces.joined(separator: "/"))
        }
        if sessionMethods.contains(message.method) || message.method.hasPrefix("notifications/") {
            return (sessionAction, message.method)
        }
        return (message.method, message.method)
    }

    /// The Writ action of a `tools/call` of `tool`: its declared action, else `tools/call:<tool>`.
    public func action(forTool tool: String) -> String {
        actions[tool] ?? "\(CallTool.name):\(tool)"
    }

    private static func argument(
        _ name: String,
        of tool: String,
        in arguments: [String: Value]
    ) throws(WritMCPError) -> String {
        let text: String
        switch arguments[name] {
        case .string(let value)?: text = value
        case .int(let value)?: text = String(value)
        case nil: throw WritMCPError(.unmappableArguments, "tool '\(tool)' needs argument '\(name)'")
        default:
            throw WritMCPError(.unmappableArguments, "tool '\(tool)': argument '\(name)' must be a string or integer")
        }
        guard !text.isEmpty, text.utf8.count <= 256, text != ".", text != "..",
            text.unicodeScalars.allSatisfy({ $0 != "/" && $0 != "*" && $0.value >= 0x20 && $0.value != 0x7F })
        else {
            throw WritMCPError(
                .unmappableArguments,
                "tool '\(tool)': argument '\(name)' cannot name a resource (empty, too long, '.', '..', '/', '*' or a control character)"
            )
        }
        return text
    }
}
#endif
