#if HTTP
public import Writ
import WritCrypto
public import WritIdentity
public import WritRevocation

/// RFC 9728 protected-resource metadata, as served at `/.well-known/oauth-protected-resource`.
public struct WritResourceMetadata: Sendable, Hashable, Codable {
    /// The well-known path.
    public static let path = "/.well-known/oauth-protected-resource"

    /// The resource's origin.
    public var resource: String
    /// Where agents get tokens.
    public var authorizationServers: [String]
    /// The audience tokens must name.
    public var audience: String
    /// `["header"]`: credentials are never accepted in a body or query.
    public var bearerMethodsSupported: [String]
    /// The proof header's name.
    public var proofHeader: String
    /// `["writ1"]`.
    public var tokenTypesSupported: [String]

    enum CodingKeys: String, CodingKey {
        case resource
        case authorizationServers = "authorization_servers"
        case audience = "writ_audience"
        case bearerMethodsSupported = "bearer_methods_supported"
        case proofHeader = "writ_proof_header"
        case tokenTypesSupported = "writ_token_types_supported"
    }

    /// Creates metadata for a resource.
    public init(resource: WritOrigin, audience: String, authorizationServers: [String]) {
        self.resource = resource.description
        self.authorizationServers = authorizationServers
        self.audience = audience
        self.bearerMethodsSupported = ["header"]
        self.proofHeader = WritPresentation.proofHeader
        self.tokenTypesSupported = ["writ1"]
    }
}

/// The JSON bodies of the authority's routes (`Docs/HTTPBinding.md` §6), shared by the server and the client.
public enum WritWire {
    /// RFC 8693's token-exchange grant type.
    public static let tokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"
    /// The token type of an identity document.
    public static let identityDocumentType = "urn:writ:token-type:identity-document"
    /// The token type of a capability token.
    public static let capabilityTokenType = "urn:writ:token-type:capability-token"

    /// A trusted key with its validity window.
    public struct Key: Sendable, Hashable, Codable {
        /// base64url of the 32-byte key.
        public var key: String
        /// Its key id (hex).
        public var keyID: String
        /// Valid from (ms since the epoch).
        public var validFrom: Int64
        /// Valid until (ms), when rotated out.
        public var validUntil: Int64?

        enum CodingKeys: String, CodingKey {
            case key
            case keyID = "key_id"
            case validFrom = "valid_from_ms"
            case validUntil = "valid_until_ms"
        }

        /// Wraps a trusted key.
        public init(_ trusted: TrustedKey) {
            key = Base64URL.encode(trusted.publicKey.rawRepresentation)
            keyID = trusted.keyID.description
            validFrom = trusted.validFrom.millisecondsSinceEpoch
            validUntil = trusted.validUntil?.millisecondsSinceEpoch
        }

        /// The trusted key; `nil` when the key does not decode.
        public var trustedKey: TrustedKey? {
            guard let raw = Base64URL.decode(key), let key = try? Ed25519.PublicKey(rawRepresentation: raw) else {
                return nil
            }
            return TrustedKey(
                key,
                validFrom: Timestamp(millisecondsSinceEpoch: validFrom),
                validUntil: validUntil.map { Timestamp(millisecondsSinceEpoch: $0) }
            )
        }
    }

    /// `GET /v1/trust-bundle`.
    public struct TrustBundleBody: Sendable, Hashable, Codable {
        /// Token and identity-document issuer keys.
        public var issuerKeys: [Key]
        /// Revocation-feed keys.
        public var revocationKeys: [Key]

        enum CodingKeys: String, CodingKey {
            case issuerKeys = "issuer_keys"
            case revocationKeys = "revocation_keys"
        }

        /// Creates a body.
        public init(issuers: TrustBundle, revocation: TrustBundle) {
            issuerKeys = issuers.keys.map(Key.init)
            revocationKeys = revocation.keys.map(Key.init)
        }
    }

    /// `GET /v1/feed`: signed records as base64url of their bytes.
    public struct FeedPageBody: Sendable, Hashable, Codable {
        /// The floor, when the page starts below it.
        public var floor: String?
        /// The entries.
        public var entries: [String]
        /// The latest head.
        public var head: String?

        /// Encodes a page.
        public init(_ page: RevocationFeedPage) {
            floor = page.floor.map { Base64URL.encode($0.bytes) }
            entries = page.entries.map { Base64URL.encode($0.bytes) }
            head = page.head.map { Base64URL.encode($0.bytes) }
        }

        /// Decodes the page (signatures are checked by the follower, not here).
        ///
        /// - Throws: ``RevocationError`` with code `malformed` for a record that does not parse.
        public func page() throws(RevocationError) -> RevocationFeedPage {
            func bytes(_ text: String) throws(RevocationError) -> [UInt8] {
                guard let raw = Base64URL.decode(text) else {
                    throw RevocationError(.malformed, "a feed record is not base64url")
                }
                return raw
            }
            var decoded: [SignedRevocationEntry] = []
            decoded.reserveCapacity(entries.count)
            for entry in entries { decoded.append(try SignedRevocationEntry(bytes: try bytes(entry))) }
            return RevocationFeedPage(
                floor: try floor.map { text throws(RevocationError) in
                    try SignedFeedMark(bytes: try bytes(text), kind: .floor)
                },
                entries: decoded,
                head: try head.map { text throws(RevocationError) in
                    try SignedFeedMark(bytes: try bytes(text), kind: .head)
                }
            )
        }
    }

    /// `POST /v1/tasks`.
    public struct OpenTaskBody: Sendable, Hashable, Codable {
        /// What the task is for.
        public var objective: String
        /// The declared intent.
        public var intent: String
        /// Seconds until the deadline.
        public var deadlineSeconds: Int64
        /// The planned steps.
        public var plan: [StepGrant]?

        enum CodingKeys: String, CodingKey {
            case objective, intent, plan
            case deadlineSeconds = "deadline_s"
        }

        /// Creates a body.
        public init(objective: String, intent: String, deadlineSeconds: Int64, plan: [StepGrant]? = nil) {
            self.objective = objective
            self.intent = intent
            self.deadlineSeconds = deadlineSeconds
            self.plan = plan
        }
    }

    /// `{"task": "…"}`.
    public struct TaskBody: Sendable, Hashable, Codable {
        /// The task id.
        public var task: String
        /// Creates a body.
        public init(task: String) { self.task = task }
    }

    /// `POST /v1/token` (RFC 8693 shaped).
    public struct TokenExchangeBody: Sendable, Hashable, Codable {
        /// ``WritWire/tokenExchangeGrant``.
        public var grantType: String
        /// The identity document of the agent the token is for.
        public var subjectToken: String
        /// ``WritWire/identityDocumentType``.
        public var subjectTokenType: String
        /// ``WritWire/capabilityTokenType``.
        public var requestedTokenType: String?
        /// Not supported (refused when present).
        public var actorToken: String?
        /// The task.
        public var task: String
        /// The step to issue.
        public var step: StepGrant?
        /// The step to refresh.
        public var refreshStep: String?

        enum CodingKeys: String, CodingKey {
            case grantType = "grant_type"
            case subjectToken = "subject_token"
            case subjectTokenType = "subject_token_type"
            case requestedTokenType = "requested_token_type"
            case actorToken = "actor_token"
            case task, step
            case refreshStep = "refresh_step"
        }

        /// Creates a body.
        public init(subjectToken: String, task: String, step: StepGrant? = nil, refreshStep: String? = nil) {
            grantType = WritWire.tokenExchangeGrant
            self.subjectToken = subjectToken
            subjectTokenType = WritWire.identityDocumentType
            requestedTokenType = WritWire.capabilityTokenType
            self.task = task
            self.step = step
            self.refreshStep = refreshStep
        }
    }

    /// The token-exchange answer.
    public struct TokenResponseBody: Sendable, Codable {
        /// The token text.
        public var accessToken: String
        /// ``WritWire/capabilityTokenType``.
        public var issuedTokenType: String
        /// `Writ`.
        public var tokenType: String
        /// Seconds until expiry.
        public var expiresIn: Int64
        /// The issued token with its step facts.
        public var writ: IssuedToken

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case issuedTokenType = "issued_token_type"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case writ
        }

        /// Creates a body.
        public init(_ issued: IssuedToken) {
            accessToken = issued.token.text
            issuedTokenType = WritWire.capabilityTokenType
            tokenType = WritPresentation.scheme
            expiresIn = max(0, issued.lifetime.components.seconds)
            writ = issued
        }
    }

    /// `POST /v1/delegations`.
    public struct DelegationBody: Sendable, Hashable, Codable {
        /// The delegated token's text.
        public var token: String
        /// The sub-agent's SPIFFE id.
        public var delegate: String
        /// Creates a body.
        public init(token: String, delegate: String) {
            self.token = token
            self.delegate = delegate
        }
    }

    /// `POST /v1/watermarks`.
    public struct WatermarkBody: Sendable, Hashable, Codable {
        /// base64url of the signed report.
        public var report: String
        /// Creates a body.
        public init(_ report: WatermarkReport) { self.report = Base64URL.encode(report.bytes) }
    }

    /// `POST /v1/revocations`: exactly one target.
    public struct RevocationBody: Sendable, Hashable, Codable {
        /// An agent's SPIFFE id.
        public var agent: String?
        /// A block's revocation id (hex).
        public var block: String?
        /// An issuer key id (hex).
        public var issuerKey: String?
        /// The reason (`manual` by default).
        public var reason: String?

        enum CodingKeys: String, CodingKey {
            case agent, block, reason
            case issuerKey = "issuer_key"
        }

        /// Creates a body.
        public init(
            agent: String? = nil,
            block: String? = nil,
            issuerKey: String? = nil,
            reason: String? = nil
        ) {
            self.agent = agent
            self.block = block
            self.issuerKey = issuerKey
            self.reason = reason
        }
    }

    /// `POST /v1/attest` answer.
    public struct IdentityBody: Sendable, Hashable, Codable {
        /// The identity document's text.
        public var identityDocument: String
        enum CodingKeys: String, CodingKey { case identityDocument = "identity_document" }
        /// Creates a body.
        public init(_ document: IdentityDocument) { identityDocument = document.text }
    }

    /// `POST /v1/join-tokens` (operator): a one-time join token for an identity.
    public struct JoinTokenRequestBody: Sendable, Hashable, Codable {
        /// The agent's SPIFFE id.
        public var identity: String
        /// Its class.
        public var agentClass: String
        /// Its supervisor, for sub-agents.
        public var supervisor: String?
        /// Seconds the join token is valid (default 300, at most 3600).
        public var ttlSeconds: Int64?

        enum CodingKeys: String, CodingKey {
            case identity, supervisor
            case agentClass = "agent_class"
            case ttlSeconds = "ttl_s"
        }

        /// Creates a body.
        public init(identity: String, agentClass: String, supervisor: String? = nil, ttlSeconds: Int64? = nil) {
            self.identity = identity
            self.agentClass = agentClass
            self.supervisor = supervisor
            self.ttlSeconds = ttlSeconds
        }
    }

    /// The join token's answer: its text (a secret for the agent) and expiry.
    public struct JoinTokenBody: Sendable, Hashable, Codable {
        /// `writjoin1_…`.
        public var joinToken: String
        /// Expiry (ms since the epoch).
        public var expiresAt: Int64

        enum CodingKeys: String, CodingKey {
            case joinToken = "join_token"
            case expiresAt = "expires_at_ms"
        }

        /// Creates a body.
        public init(joinToken: String, expiresAt: Int64) {
            self.joinToken = joinToken
            self.expiresAt = expiresAt
        }
    }

    /// `{}`.
    public struct Empty: Sendable, Hashable, Codable {
        /// Creates the empty body.
        public init() {}
    }
}
#endif
