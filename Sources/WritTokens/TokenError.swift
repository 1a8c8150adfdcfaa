/// An error raised when a token, proof or request is rejected, or when a token cannot be minted or delegated.
///
/// Errors compare by ``code``. ``context`` says what failed in words — which block, which caveat, which key id —
/// and never contains secret bytes or a whole token. ``blockIndex`` names the block (0 is the issuer's) when the
/// failure belongs to one.
public struct TokenError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Hashable, Sendable, CaseIterable, Codable {
        // Format
        /// The bytes do not follow the format: truncated, trailing bytes, a bad field, a reserved bit set.
        case malformed
        /// The format version byte is not one this library understands.
        case unsupportedVersion
        /// A block kind byte is not one this library understands (or block 0 is not the issuer's block).
        case unknownBlockKind
        /// A caveat kind byte is not one this library understands.
        case unknownCaveatKind
        /// The token or proof is larger than the format's size cap.
        case tooLarge
        /// The token has more blocks than the format's cap.
        case tooManyBlocks
        /// A block has more caveats than the format's cap.
        case tooManyCaveats
        /// The text form lacks the expected prefix or is not canonical base64url.
        case invalidText
        /// Values passed to mint, delegate or prove are not valid (empty lists, bad characters, bad times).
        case invalidClaims
        // Chain
        /// Block 0 names an issuer key that is not in the trust bundle.
        case unknownIssuerKey
        /// The issuer key is trusted, but the token was issued outside the key's validity window (rotated out).
        case issuerKeyNotValid
        /// A block's signature does not verify.
        case invalidSignature
        /// A block tries to widen what an earlier block allowed (audience, action, resource or time window).
        case wideningAttempt
        /// A block names a holder key that already held the token (a sub-agent must have its own key).
        case holderKeyReused
        /// The key used to delegate is not the token's current holder key.
        case wrongHolder
        /// The token names an agent class the verifier does not know.
        case unknownAgentClass
        /// The token's lifetime exceeds its agent class's maximum TTL.
        case lifetimeExceedsClass
        /// The token is delegated although its class (or a delegate's class) may not delegate.
        case delegationNotAllowed
        /// The delegation chain is deeper than a class or caveat allows.
        case delegationTooDeep
        // Request
        /// The token's expiry (plus clock skew) has passed.
        case expired
        /// The token's not-before time (minus clock skew) has not come yet.
        case notYetValid
        /// The token claims to be issued later than now plus the clock skew.
        case issuedInFuture
        /// The request's audience is not among the token's audiences.
        case audienceNotAllowed
        /// The request's action is not among the token's actions.
        case actionNotAllowed
        /// The request's resource matches none of the token's resource patterns.
        case resourceNotAllowed
        /// A caveat of some block is not satisfied by the request.
        case caveatFailed
        /// The proof of possession is not a valid signature by the holder key over this token and request.
        case proofInvalid
        /// The proof of possession is too old or from the future.
        case proofStale
        /// The proof's nonce was already seen (a replay).
        case replayedNonce
        /// The replay cache is full and cannot record the nonce, so the request is refused (fail closed).
        case replayCacheFull
        /// The revocation checker says a block, the token, its task, an agent or the issuer key is revoked.
        case revoked
        /// The revocation checker cannot answer (stale or missing data), so the request is refused.
        case revocationUnavailable
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
        if let blockIndex { return "\(code.rawValue): block \(blockIndex): \(context)" }
        return "\(code.rawValue): \(context)"
    }

    public static func == (lhs: TokenError, rhs: TokenError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
