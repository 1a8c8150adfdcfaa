public import WritPolicy
public import WritTokens

/// What a ``Gatekeeper`` decided for one request.
public enum GateDecision: Sendable, Hashable, CustomStringConvertible {
    /// The request may proceed; the facts say on whose behalf.
    case allow(GrantedRequest)
    /// The request is refused.
    case deny(GateDenial)
    /// A re-authorisation checkpoint applies: obtain approval, then retry with the approval in the context.
    case reauthorize(reason: String, policy: PolicyID)

    /// Whether the request may proceed.
    public var isAllowed: Bool {
        if case .allow = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .allow(let granted): "allow (\(granted.agent))"
        case .deny(let denial): "deny: \(denial)"
        case .reauthorize(let reason, let policy): "re-authorise first: \(reason) [\(policy)]"
        }
    }
}

/// The facts about an allowed request, for the service's own logic and logs.
public struct GrantedRequest: Sendable, Hashable {
    /// The agent acting (the last delegate, or the token's subject).
    public let agent: String
    /// The token's subject (the root agent).
    public let subject: String
    /// The token id.
    public let tokenID: TokenID
    /// The task.
    public let taskID: String?
    /// The declared intent.
    public let intent: String?
    /// Policies that allowed it.
    public let policies: [PolicyID]
    /// The audit entry index of this decision, when it was recorded.
    public let auditIndex: UInt64?
}

/// Why a request was denied: a stable code, the policies that decided it (for policy denials) and a message.
public struct GateDenial: Sendable, Hashable, CustomStringConvertible {
    /// What failed.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible, Codable {
        private enum Value: String, Hashable, Sendable {
            case malformedRequest = "malformed-request"
            case malformedToken = "malformed-token"
            case malformedProof = "malformed-proof"
            case tokenRejected = "token-rejected"
            case revoked
            case revocationUnavailable = "revocation-unavailable"
            case replayed
            case nonceStoreUnavailable = "nonce-store-unavailable"
            case policy
            case auditUnavailable = "audit-unavailable"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The action or resource is empty or longer than the token format allows.
        public static let malformedRequest = Code(.malformedRequest)
        /// The token text could not be decoded.
        public static let malformedToken = Code(.malformedToken)
        /// The proof text could not be decoded.
        public static let malformedProof = Code(.malformedProof)
        /// The token failed verification (see ``GateDenial/tokenError``).
        public static let tokenRejected = Code(.tokenRejected)
        /// The token or its task, agent or issuer key is revoked.
        public static let revoked = Code(.revoked)
        /// The verifier's revocation data is too old; fail closed.
        public static let revocationUnavailable = Code(.revocationUnavailable)
        /// The proof's nonce was seen before (here, or at another replica sharing the nonce store).
        public static let replayed = Code(.replayed)
        /// The shared nonce store could not answer, so a replay cannot be ruled out; fail closed.
        public static let nonceStoreUnavailable = Code(.nonceStoreUnavailable)
        /// The policies denied it.
        public static let policy = Code(.policy)
        /// The decision could not be written to the audit log and the service requires it.
        public static let auditUnavailable = Code(.auditUnavailable)

        /// The code's stable text (`malformed-request`, …).
        public var description: String { value.rawValue }

        /// Decodes the code from its ``description`` text; unknown text is a `DecodingError`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let value = Value(rawValue: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown code '\(text)'")
            }
            self.value = value
        }

        /// Encodes the code as its ``description`` text.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(value.rawValue)
        }
    }

    /// What failed.
    public let code: Code
    /// The token verifier's error, when the token was rejected.
    public let tokenError: TokenError.Code?
    /// Policies that determined a policy denial.
    public let policies: [PolicyID]
    /// A one-line explanation (never contains the token or any secret).
    public let message: String

    public var description: String { "\(code): \(message)" }
}
