#if HTTP
/// Why an HTTP request could not be mapped to a Writ request, or a call to an authority failed.
///
/// Compare codes with `==`; new codes may be added. ``description`` names what failed, never a secret.
public struct WritHTTPError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case credentialsMissing = "credentials-missing"
            case malformedHeader = "malformed-header"
            case malformedRequest = "malformed-request"
            case bodyTooLarge = "body-too-large"
            case invalidOrigin = "invalid-origin"
            case invalidRoute = "invalid-route"
            case transport
            case refused
            case malformedResponse = "malformed-response"
            case readOnly = "read-only"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// No `Authorization` header.
        public static let credentialsMissing = Code(.credentialsMissing)
        /// A Writ header is duplicated, oversized, empty, in the wrong scheme, or a credential is in the wrong place.
        public static let malformedHeader = Code(.malformedHeader)
        /// The method or request target cannot be mapped (not a path, too long, control bytes).
        public static let malformedRequest = Code(.malformedRequest)
        /// The request body is larger than the limit.
        public static let bodyTooLarge = Code(.bodyTooLarge)
        /// A configured public origin is not `http(s)://host[:port]`.
        public static let invalidOrigin = Code(.invalidOrigin)
        /// A route rule's pattern or template is invalid.
        public static let invalidRoute = Code(.invalidRoute)
        /// The HTTP call failed (connection, timeout); ``WritHTTPError/underlying`` says how.
        public static let transport = Code(.transport)
        /// The server refused the call; ``WritHTTPError/refusal`` has its answer.
        public static let refused = Code(.refused)
        /// The server's answer could not be decoded.
        public static let malformedResponse = Code(.malformedResponse)
        /// The operation writes, and this client only reads.
        public static let readOnly = Code(.readOnly)

        /// The code's stable text (`malformed-header`, …).
        public var description: String { value.rawValue }
    }

    /// What failed.
    public let code: Code
    /// What was wrong, in words (no secrets).
    public let message: String
    /// The server's refusal, for ``Code/refused``.
    public let refusal: WritRefusal?
    /// The status of the server's answer, when there was one.
    public let status: Int?
    /// The transport's error, when there was one.
    public let underlying: (any Error)?

    /// Creates an error.
    public init(
        _ code: Code,
        _ message: String,
        status: Int? = nil,
        refusal: WritRefusal? = nil,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.refusal = refusal
        self.underlying = underlying
    }

    public var description: String {
        "\(code): \(message)\(status.map { " (HTTP \($0))" } ?? "")\(underlying.map { " — \($0)" } ?? "")"
    }
}
#endif
