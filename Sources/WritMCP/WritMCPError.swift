// WritMCP: MCP tool servers and clients authorised by Writ, built only with the `MCP` package trait.
#if MCP
public import WritHTTP

/// What went wrong in the MCP binding: a message that is not one JSON-RPC 2.0 object, a tool mapping that cannot
/// name a resource, a refusal the server answered, or a transport failure (with the ``underlying`` error).
public struct WritMCPError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable text.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The body is not JSON (JSON-RPC `-32700`).
        public static let parseError = Code("parse-error")
        /// The body is JSON but not one JSON-RPC 2.0 request or notification (JSON-RPC `-32600`).
        public static let invalidMessage = Code("invalid-message")
        /// A JSON-RPC batch (an array): MCP (2025-06-18 and later) has no batches, and each call needs its own proof.
        public static let batchNotSupported = Code("batch-not-supported")
        /// A request whose JSON-RPC id is already in flight on this endpoint.
        public static let duplicateID = Code("duplicate-id")
        /// The tool's declared resource mapping cannot name a resource from these arguments.
        public static let unmappableArguments = Code("unmappable-arguments")
        /// An invalid tool mapping declaration.
        public static let invalidMapping = Code("invalid-mapping")
        /// The server refused the request (see ``WritMCPError/refusal``).
        public static let refused = Code("refused")
        /// The agent has no usable credential (see ``WritMCPError/underlying``).
        public static let credentialUnavailable = Code("credential-unavailable")
        /// The HTTP exchange failed (see ``WritMCPError/underlying``).
        public static let transport = Code("transport")

        public var description: String { rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What failed, in words (never a token, proof or secret).
    public let message: String
    /// The server's refusal, for ``Code/refused``.
    public let refusal: WritRefusal?
    /// The error underneath, for ``Code/credentialUnavailable`` and ``Code/transport``.
    public let underlying: (any Error & Sendable)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, refusal: WritRefusal? = nil, underlying: (any Error & Sendable)? = nil)
    {
        self.code = code
        self.message = message
        self.refusal = refusal
        self.underlying = underlying
    }

    public var description: String {
        var text = "WritMCPError(\(code)): \(message)"
        if let refusal { text += " [\(refusal)]" }
        return text
    }

    /// The JSON-RPC error code this failure is answered with.
    var jsonRPCCode: Int {
        switch code {
        case .parseError: -32700
        default: -32600
        }
    }
}
#endif
