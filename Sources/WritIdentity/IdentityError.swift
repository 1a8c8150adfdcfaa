public import WritCrypto

/// An error raised by ``WritIdentity``: a malformed SPIFFE ID, an invalid agent class, an identity document
/// that does not verify, or attestation evidence that is not accepted.
///
/// Errors compare by ``code``; ``context`` says what failed in words and never contains secret bytes.
public struct IdentityError: WritError {
    /// What went wrong.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case invalidScheme
            case emptyTrustDomain
            case invalidTrustDomainCharacter
            case trustDomainTooLong
            case emptyPathSegment
            case dotPathSegment
            case invalidPathCharacter
            case identityTooLong
            case invalidAgentClass
            case malformed
            case signingFailed
            case unsupportedVersion
            case unknownIssuerKey
            case issuerKeyNotValid
            case invalidSignature
            case expired
            case notYetValid
            case attestationFailed
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The text does not start with the lowercase `spiffe://` scheme.
        public static let invalidScheme = Code(.invalidScheme)
        /// The trust domain is empty.
        public static let emptyTrustDomain = Code(.emptyTrustDomain)
        /// The trust domain holds a character other than `a-z`, `0-9`, `.`, `-`, `_`.
        public static let invalidTrustDomainCharacter = Code(.invalidTrustDomainCharacter)
        /// The trust domain is longer than 255 bytes.
        public static let trustDomainTooLong = Code(.trustDomainTooLong)
        /// A path segment is empty (`//`, or a trailing `/`).
        public static let emptyPathSegment = Code(.emptyPathSegment)
        /// A path segment is `.` or `..`.
        public static let dotPathSegment = Code(.dotPathSegment)
        /// A path segment holds a character other than `a-z`, `A-Z`, `0-9`, `.`, `-`, `_`.
        public static let invalidPathCharacter = Code(.invalidPathCharacter)
        /// The whole ID is longer than 2048 bytes.
        public static let identityTooLong = Code(.identityTooLong)
        /// An agent class is inconsistent (bad name, TTLs out of order, negative limits).
        public static let invalidAgentClass = Code(.invalidAgentClass)
        /// Encoded bytes or text could not be parsed (wrong prefix, truncated, trailing bytes, bad fields).
        public static let malformed = Code(.malformed)
        /// The issuer's signer failed or returned something that is not a signature.
        public static let signingFailed = Code(.signingFailed)
        /// The format version is not one this library understands.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The signing key is not in the trust bundle.
        public static let unknownIssuerKey = Code(.unknownIssuerKey)
        /// The signing key is in the bundle, but the document was issued outside the key's validity window.
        public static let issuerKeyNotValid = Code(.issuerKeyNotValid)
        /// A signature does not verify.
        public static let invalidSignature = Code(.invalidSignature)
        /// The document or join token has expired.
        public static let expired = Code(.expired)
        /// The document is not valid yet (issued in the future beyond the allowed clock skew).
        public static let notYetValid = Code(.notYetValid)
        /// The attestation evidence is not accepted (unknown, already used, of another kind).
        public static let attestationFailed = Code(.attestationFailed)

        /// The code's stable text (`invalidScheme`, …).
        public var description: String { value.rawValue }
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

}
