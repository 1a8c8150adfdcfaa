/// An error raised by ``WritCrypto``.
///
/// Errors compare by ``code``; ``context`` says what failed in words and never contains secret bytes.
public struct CryptoError: WritError {
    /// What went wrong.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case invalidLength
            case invalidEncoding
            case authenticationFailed
            case invalidPublicKey
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A key, seed or signature had the wrong number of bytes.
        public static let invalidLength = Code(.invalidLength)
        /// Text that should have been base64url or hex could not be decoded.
        public static let invalidEncoding = Code(.invalidEncoding)
        /// Authenticated decryption failed: wrong key, or tampered ciphertext.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The public key is not a valid Ed25519 point (small order or non-canonical).
        public static let invalidPublicKey = Code(.invalidPublicKey)

        /// The code's stable text (`invalidLength`, …).
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
