/// An error raised by ``WritIdentity``: a malformed SPIFFE ID, an invalid agent class, an identity document
/// that does not verify, or attestation evidence that is not accepted.
///
/// Errors compare by ``code``; ``context`` says what failed in words and never contains secret bytes.
public struct IdentityError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Hashable, Sendable {
        /// The text does not start with the lowercase `spiffe://` scheme.
        case invalidScheme
        /// The trust domain is empty.
        case emptyTrustDomain
        /// The trust domain holds a character other than `a-z`, `0-9`, `.`, `-`, `_`.
        case invalidTrustDomainCharacter
        /// The trust domain is longer than 255 bytes.
        case trustDomainTooLong
        /// A path segment is empty (`//`, or a trailing `/`).
        case emptyPathSegment
        /// A path segment is `.` or `..`.
        case dotPathSegment
        /// A path segment holds a character other than `a-z`, `A-Z`, `0-9`, `.`, `-`, `_`.
        case invalidPathCharacter
        /// The whole ID is longer than 2048 bytes.
        case identityTooLong
        /// An agent class is inconsistent (bad name, TTLs out of order, negative limits).
        case invalidAgentClass
        /// Encoded bytes or text could not be parsed (wrong prefix, truncated, trailing bytes, bad fields).
        case malformed
        /// The format version is not one this library understands.
        case unsupportedVersion
        /// The signing key is not in the trust bundle.
        case unknownIssuerKey
        /// The signing key is in the bundle, but the document was issued outside the key's validity window.
        case issuerKeyNotValid
        /// A signature does not verify.
        case invalidSignature
        /// The document or join token has expired.
        case expired
        /// The document is not valid yet (issued in the future beyond the allowed clock skew).
        case notYetValid
        /// The attestation evidence is not accepted (unknown, already used, of another kind).
        case attestationFailed
    }

    /// What went wrong, for programmatic checks.
    public let code: Code
    /// A human-readable explanation naming what failed.
    public let context: String

    /// Creates an error.
    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code.rawValue): \(context)" }

    public static func == (lhs: IdentityError, rhs: IdentityError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
