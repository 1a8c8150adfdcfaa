import WritPolicy
import WritTokens

// The wire forms of a gatekeeper's decision, for a service that reports decisions to another process (a
// sidecar, an MCP server, a log shipper). Field names are snake_case and pinned by tests; optional fields are
// omitted when absent.

/// `{"outcome": "allow", "granted": {…}}`, `{"outcome": "deny", "denial": {…}}` or
/// `{"outcome": "reauthorize", "reason": "…", "policy": "policy3"}`.
extension GateDecision: Codable {
    enum CodingKeys: String, CodingKey {
        case outcome
        case granted
        case denial
        case reason
        case policy
    }

    private enum Outcome: String, Codable {
        case allow, deny, reauthorize
    }

    /// Decodes the stable field names; an unknown `outcome` is a `DecodingError`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(Outcome.self, forKey: .outcome) {
        case .allow: self = .allow(try c.decode(GrantedRequest.self, forKey: .granted))
        case .deny: self = .deny(try c.decode(GateDenial.self, forKey: .denial))
        case .reauthorize:
            self = .reauthorize(
                reason: try c.decode(String.self, forKey: .reason),
                policy: PolicyID(try c.decode(String.self, forKey: .policy))
            )
        }
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .allow(let granted):
            try c.encode(Outcome.allow, forKey: .outcome)
            try c.encode(granted, forKey: .granted)
        case .deny(let denial):
            try c.encode(Outcome.deny, forKey: .outcome)
            try c.encode(denial, forKey: .denial)
        case .reauthorize(let reason, let policy):
            try c.encode(Outcome.reauthorize, forKey: .outcome)
            try c.encode(reason, forKey: .reason)
            try c.encode(policy.rawValue, forKey: .policy)
        }
    }
}

/// `{"agent", "subject", "token_id", "task", "intent", "policies", "audit_index"}`; `task`, `intent` and
/// `audit_index` are omitted when absent.
extension GrantedRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case agent
        case subject
        case tokenID = "token_id"
        case taskID = "task"
        case intent
        case policies
        case auditIndex = "audit_index"
    }

    /// Decodes the stable field names.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            agent: try c.decode(String.self, forKey: .agent),
            subject: try c.decode(String.self, forKey: .subject),
            tokenID: try c.decode(TokenID.self, forKey: .tokenID),
            taskID: try c.decodeIfPresent(String.self, forKey: .taskID),
            intent: try c.decodeIfPresent(String.self, forKey: .intent),
            policies: try c.decode([String].self, forKey: .policies).map { PolicyID($0) },
            auditIndex: try c.decodeIfPresent(UInt64.self, forKey: .auditIndex)
        )
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(agent, forKey: .agent)
        try c.encode(subject, forKey: .subject)
        try c.encode(tokenID, forKey: .tokenID)
        try c.encodeIfPresent(taskID, forKey: .taskID)
        try c.encodeIfPresent(intent, forKey: .intent)
        try c.encode(policies.map(\.rawValue), forKey: .policies)
        try c.encodeIfPresent(auditIndex, forKey: .auditIndex)
    }
}

/// `{"code", "token_error", "policies", "message"}`; the codes as their text (`token-rejected`,
/// `actionNotAllowed`), `token_error` omitted when absent.
extension GateDenial: Codable {
    enum CodingKeys: String, CodingKey {
        case code
        case tokenError = "token_error"
        case policies
        case message
    }

    /// Decodes the stable field names.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            code: try c.decode(Code.self, forKey: .code),
            tokenError: try c.decodeIfPresent(TokenError.Code.self, forKey: .tokenError),
            policies: try c.decode([String].self, forKey: .policies).map { PolicyID($0) },
            message: try c.decode(String.self, forKey: .message)
        )
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encodeIfPresent(tokenError, forKey: .tokenError)
        try c.encode(policies.map(\.rawValue), forKey: .policies)
        try c.encode(message, forKey: .message)
    }
}
