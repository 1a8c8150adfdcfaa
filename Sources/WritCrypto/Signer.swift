/// Something that signs with an Ed25519 key: the key itself, or a KMS or HSM that holds it.
///
/// Writ asks a signer for issuer signatures (tokens) and revocation-key signatures (the revocation feed's entries,
/// heads and floors). Signing is synchronous because stores sign inside their serialising step (a write
/// transaction); a remote signer blocks that step for one round trip.
public protocol Signer: Sendable {
    /// The public key whose signatures this signer makes.
    var publicKey: Ed25519.PublicKey { get }

    /// A 64-byte Ed25519 signature over `message`.
    ///
    /// - Throws: whatever the signer's backend throws (an unreachable KMS, a refused operation).
    func signature(for message: [UInt8]) throws -> [UInt8]
}

extension Ed25519.PrivateKey: Signer {
    /// A 64-byte Ed25519 signature over `message`, by this key.
    public func signature(for message: [UInt8]) -> [UInt8] { message.withUnsafeBytes { signature(forBuffer: $0) } }
}
