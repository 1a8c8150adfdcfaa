#if HTTP
public import Writ
import WritTokens

/// A refusal as the binding puts it on the wire (`Docs/HTTPBinding.md` §4): a status, a `WWW-Authenticate`
/// challenge and a JSON body with the typed code and what a client may retry.
public struct WritRefusal: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// What a client may do to succeed.
    public struct Retry: Hashable, Sendable, Codable, CustomStringConvertible {
        /// The stable text.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Sign a new proof and send again.
        public static let newProof = Retry("new-proof")
        /// Get a new token for the same step from the authority.
        public static let refresh = Retry("refresh")
        /// This grant is over: obtain a new one.
        public static let reauthorize = Retry("reauthorize")
        /// Obtain the checkpoint's approval, then retry.
        public static let approval = Retry("approval")
        /// The service is failing closed for now (stale revocation data, a store down): retry later.
        public static let later = Retry("later")
        /// Will not succeed as sent.
        public static let none = Retry("none")

        /// Decodes any text; an unknown value means ``none`` to a client.
        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        /// Encodes the text.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(rawValue)
        }

        public var description: String { rawValue }
    }

    /// The HTTP status (400, 401, 403, 413, 429, 503).
    public let status: Int
    /// The OAuth-style error (`invalid_token`, `invalid_proof`, `insufficient_scope`, …); `nil` for a bare
    /// challenge (no credentials sent).
    public let error: String?
    /// The typed code (`GateDenial.Code`, `AuthorityError.Code` or the binding's own) as text.
    public let code: String
    /// The token verifier's code, when the token was rejected.
    public let tokenError: String?
    /// What failed, in words (never a token, proof or secret).
    public let message: String
    /// What a client may do.
    public let retry: Retry
    /// Policies that decided a policy denial or checkpoint.
    public let policies: [String]
    /// Seconds before a retry may succeed, when the refusing side knows (a rate limit's refill); not in the body.
    private let retryAfterHint: Int?

    /// Whether any retry may succeed.
    public var isRetryable: Bool { retry != .none }

    enum CodingKeys: String, CodingKey {
        case error, code, message, retry, policies, retryable
        case tokenError = "token_error"
        case status
    }

    /// Creates a refusal.
    public init(
        status: Int,
        error: String?,
        code: String,
        tokenError: String? = nil,
        message: String,
        retry: Retry,
        policies: [String] = [],
        retryAfter: Int? = nil
    ) {
        self.retryAfterHint = retryAfter.map { min(max(1, $0), 86_400) }
        self.status = status
        self.error = error
        self.code = code
        self.tokenError = tokenError
        self.message = Self.clipped(message)
        self.retry = retry
        self.policies = policies
    }

    /// Decodes the body's fields.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decodeIfPresent(Int.self, forKey: .status) ?? 0
        error = try c.decodeIfPresent(String.self, forKey: .error)
        code = try c.decode(String.self, forKey: .code)
        tokenError = try c.decodeIfPresent(String.self, forKey: .tokenError)
        message = try c.decodeIfPresent(String.self, forKey: .message) ?? ""
        retry = try c.decodeIfPresent(Retry.self, forKey: .retry) ?? .none
        policies = try c.decodeIfPresent([String].self, forKey: .policies) ?? []
        retryAfterHint = nil
    }

    /// Encodes the body's fields (`retryable` derived from `retry`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encode(code, forKey: .code)
        try c.encodeIfPresent(tokenError, forKey: .tokenError)
        try c.encode(message, forKey: .message)
        try c.encode(isRetryable, forKey: .retryable)
        try c.encode(retry, forKey: .retry)
        try c.encode(policies, forKey: .policies)
    }

    /// The `WWW-Authenticate` value for a 401 or 403 (`nil` for other statuses).
    public func challenge(realm: String) -> String? {
        guard status == 401 || status == 403 else { return nil }
        var value = "\(WritPresentation.scheme) realm=\"\(Self.quoted(realm))\""
        if let error {
            value += ", error=\"\(error)\", error_description=\"\(Self.quoted(Self.clipped(message, to: 200)))\""
            value += ", retry=\"\(retry.rawValue)\""
        }
        return value
    }

    /// Extra headers: `Retry-After` when the retry is ``Retry/later`` — the seconds given at creation (a rate
    /// limit's refill time), else 1.
    public var retryAfterSeconds: Int? { retry == .later ? (retryAfterHint ?? 1) : nil }

    public var description: String { "\(status) \(error ?? "challenge") \(code): \(message)" }

    // MARK: From decisions and errors

    /// The refusal for a gatekeeper's decision, or `nil` when it allows.
    public init?(_ decision: GateDecision) {
        switch decision {
        case .allow: return nil
        case .deny(let denial): self.init(denial)
        case .reauthorize(let reason, let policy):
            self.init(
                status: 403,
                error: "reauthorization_required",
                code: "reauthorization-required",
                message: reason,
                retry: .approval,
                policies: [policy.rawValue]
            )
        }
    }

    /// The refusal for a gatekeeper's denial.
    public init(_ denial: GateDenial) {
        let code = denial.code
        let tokenError = denial.tokenError?.description
        let policies = denial.policies.map(\.rawValue)
        func make(_ status: Int, _ error: String, _ retry: Retry) -> WritRefusal {
            WritRefusal(
                status: status,
                error: error,
                code: code.description,
                tokenError: tokenError,
                message: denial.message,
                retry: retry,
                policies: policies
            )
        }
        if code == .malformedRequest {
            self = make(400, "invalid_request", .none)
        } else if code == .malformedToken {
            self = make(401, "invalid_token", .none)
        } else if code == .malformedProof || code == .replayed {
            self = make(401, "invalid_proof", .newProof)
        } else if code == .revoked {
            self = make(401, "invalid_token", .reauthorize)
        } else if code == .revocationUnavailable || code == .nonceStoreUnavailable || code == .auditUnavailable {
            self = make(503, "temporarily_unavailable", .later)
        } else if code == .policy {
            self = make(403, "access_denied", .none)
        } else if code == .tokenRejected {
            let te = denial.tokenError
            if te == .expired || te == .notYetValid || te == .issuedInFuture {
                self = make(401, "invalid_token", .refresh)
            } else if te == .proofInvalid || te == .proofStale || te == .replayedNonce {
                self = make(401, "invalid_proof", .newProof)
            } else if te == .audienceNotAllowed || te == .actionNotAllowed || te == .resourceNotAllowed
                || te == .caveatFailed
            {
                self = make(403, "insufficient_scope", .reauthorize)
            } else if te == .revoked {
                self = make(401, "invalid_token", .reauthorize)
            } else if te == .revocationUnavailable || te == .replayCacheFull {
                self = make(503, "temporarily_unavailable", .later)
            } else {
                self = make(401, "invalid_token", .none)
            }
        } else {
            // A code added after this binding: refuse without suggesting a retry.
            self = make(403, "access_denied", .none)
        }
    }

    /// The refusal for a header or request the binding could not read.
    public init(_ error: WritHTTPError) {
        if error.code == .credentialsMissing {
            self.init(status: 401, error: nil, code: error.code.description, message: error.message, retry: .none)
        } else if error.code == .bodyTooLarge {
            self.init(
                status: 413,
                error: "invalid_request",
                code: error.code.description,
                message: error.message,
                retry: .none
            )
        } else {
            self.init(
                status: 400,
                error: "invalid_request",
                code: error.code.description,
                message: error.message,
                retry: .none
            )
        }
    }

    /// The refusal for an authority's error (authority routes).
    public init(_ error: AuthorityError) {
        let code = error.code
        let message = error.context
        func make(_ status: Int, _ name: String, _ retry: Retry) -> WritRefusal {
            WritRefusal(status: status, error: name, code: code.description, message: message, retry: retry)
        }
        if code == .unknownTask || code == .unknownStep || code == .unknownAgent {
            self = make(404, "not_found", .none)
        } else if code == .storeFailed || code == .storeConflict || code == .entitlementsUnavailable
            || code == .recordFailed || code == .tokenFailed
        {
            self = make(503, "temporarily_unavailable", .later)
        } else if code == .attestationFailed {
            self = make(401, "invalid_grant", .none)
        } else if code == .taskClosed || code == .deadlinePassed || code == .refreshLimitReached {
            self = make(403, "invalid_grant", .reauthorize)
        } else if code == .notEntitled || code == .delegationRefused {
            self = make(403, "access_denied", .none)
        } else {
            self = make(400, "invalid_request", .none)
        }
    }

    static func clipped(_ text: String, to limit: Int = 1024) -> String {
        guard text.utf8.count > limit else { return text }
        return String(decoding: text.utf8.prefix(limit - 3), as: UTF8.self) + "…"
    }

    /// A quoted-string's content: `"` and `\` escaped, control bytes replaced.
    static func quoted(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                out.unicodeScalars.append(scalar.value < 0x20 || scalar.value >= 0x7f ? "?" : scalar)
            }
        }
        return out
    }
}
#endif
