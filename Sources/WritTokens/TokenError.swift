public import WritCrypto

/// An error raised when a token, proof or request is rejected, or when a token cannot be minted or delegated.
///
/// Errors compare by ``code``. ``context`` says what failed in words — which block, which caveat, which key id —
/// and never contains secret bytes or a whole token. ``blockIndex`` names the block (0 is the issuer's) when the
/// failure belongs to one.
public struct TokenError: WritError {
    /// What went wrong.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible, Codable {
        private enum Value: String, Hashable, Sendable {
            case malformed
            case unsupportedVersion
            case unknownBlockKind
            case unknownCaveatKind
            case tooLarge
            case tooManyBlocks
            case tooManyCaveats
            case invalidText
            case invalidClaims
            case unknownIssuerKey
            case issuerKeyNotValid
            case invalidSignature
            case wideningAttempt
            case holderKeyReused
            case wrongHolder
            case unknownAgentClass
            case lifetimeExceedsClass
            case delegationNotAllowed
            case delegationTooDeep
            case expired
            case notYetValid
            case issuedInFuture
            case audienceNotAllowed
            case actionNotAllowed
            case resourceNotAllowed
            case caveatFailed
            case proofInvalid
            case proofStale
            case replayedNonce
            case replayCacheFull
            case revoked
            case revocationUnavailable
            case signingFailed
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        // Format
        /// The bytes do not follow the format: truncated, trailing bytes, a bad field, a reserved bit set.
        public static let malformed = Code(.malformed)
        /// The format version byte is not one this library understands.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A block kind byte is not one this library understands (or block 0 is not the issuer's block).
        public static let unknownBlockKind = Code(.unknownBlockKind)
        /// A caveat kind byte is not one this library understands.
        public static let unknownCaveatKind = Code(.unknownCaveatKind)
        /// The token or proof is larger than the format's size cap.
        public static let tooLarge = Code(.tooLarge)
        /// The token has more blocks than the format's cap.
        public static let tooManyBlocks = Code(.tooManyBlocks)
        /// A block has more caveats than the format's cap.
        public static let tooManyCaveats = Code(.tooManyCaveats)
        /// The text form lacks the expected prefix or is not canonical base64url.
        public static let invalidText = Code(.invalidText)
        /// Values passed to mint, delegate or prove are not valid (empty lists, bad characters, bad times).
        public static let invalidClaims = Code(.invalidClaims)
        // Chain
        /// Block 0 names an issuer key that is not in the trust bundle.
        public static let unknownIssuerKey = Code(.unknownIssuerKey)
        /// The issuer key is trusted, but the token was issued outside the key's validity window (rotated out).
        public static let issuerKeyNotValid = Code(.issuerKeyNotValid)
        /// A block's signature does not verify.
        public static let invalidSignature = Code(.invalidSignature)
        /// A block tries to widen what an earlier block allowed (audience, action, resource or time window).
        public static let wideningAttempt = Code(.wideningAttempt)
        /// A block names a holder key that already held the token (a sub-agent must have its own key).
        public static let holderKeyReused = Code(.holderKeyReused)
        /// The key used to delegate is not the token's current holder key.
        public static let wrongHolder = Code(.wrongHolder)
        /// The token names an agent class the verifier does not know.
        public static let unknownAgentClass = Code(.unknownAgentClass)
        /// The token's lifetime exceeds its agent class's maximum TTL.
        public static let lifetimeExceedsClass = Code(.lifetimeExceedsClass)
        /// The token is delegated although its class (or a delegate's class) may not delegate.
        public static let delegationNotAllowed = Code(.delegationNotAllowed)
        /// The delegation chain is deeper than a class or caveat allows.
        public static let delegationTooDeep = Code(.delegationTooDeep)
        // Request
        /// The token's expiry (plus clock skew) has passed.
        public static let expired = Code(.expired)
        /// The token's not-before time (minus clock skew) has not come yet.
        public static let notYetValid = Code(.notYetValid)
        /// The token claims to be issued later than now plus the clock skew.
        public static let issuedInFuture = Code(.issuedInFuture)
        /// The request's audience is not among the token's audiences.
        public static let audienceNotAllowed = Code(.audienceNotAllowed)
        /// The request's action is not among the token's actions.
        public static let actionNotAllowed = Code(.actionNotAllowed)
        /// The request's resource matches none of the token's resource patterns.
        public static let resourceNotAllowed = Code(.resourceNotAllowed)
        /// A caveat of some block is not satisfied by the request.
        public static let caveatFailed = Code(.caveatFailed)
        /// The proof of possession is not a valid signature by the holder key over this token and request.
        public static let proofInvalid = Code(.proofInvalid)
        /// The proof of possession is too old or from the future.
        public static let proofStale = Code(.proofStale)
        /// The proof's nonce was already seen (a replay).
        public static let replayedNonce = Code(.replayedNonce)
        /// The replay cache is full and cannot record the nonce, so the request is refused (fail closed).
        public static let replayCacheFull = Code(.replayCacheFull)
        /// The revocation checker says a block, the token, its task, an agent or the issuer key is revoked.
        public static let revoked = Code(.revoked)
        /// The revocation checker cannot answer (stale or missing data), so the request is refused.
        public static let revocationUnavailable = Code(.revocationUnavailable)
        /// The issuer's signer (a KMS or HSM, say) failed or returned something that is not a signature.
        public static let signingFailed = Code(.signingFailed)

        /// The code's stable text (`malformed`, …).
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

    /// What went wrong, for programmatic checks.
    public let code: Code
    /// A human-readable explanation naming what failed.
    public let context: String
    /// The block the failure belongs to (0 is the issuer's block), when it belongs to one.
    public let blockIndex: Int?

    /// Creates an error.
    public init(_ code: Code, _ context: String, block: Int? = nil) {
        self.code = code
        self.context = context
        self.blockIndex = block
    }

    public var description: String {
        if let blockIndex { return "\(code): block \(blockIndex): \(context)" }
        return "\(code): \(context)"
    }

}
