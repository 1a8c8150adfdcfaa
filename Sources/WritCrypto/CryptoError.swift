/// An error raised by ``WritCrypto``.
///
/// Errors compare by ``code``; ``context`` says what failed in words and never contains secret bytes.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Hashable, Sendable {
        /// A key, seed or signature had the wrong number of bytes.
        case invalidLength
        /// Text that should have been base64url or hex could not be decoded.
        case invalidEncoding
        /// Authenticated decryption failed: wrong key, or tampered ciphertext.
        case authenticationFailed
        /// The public key is not a valid Ed25519 point (small order or non-canonical).
        case invalidPublicKey
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

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
