/// A short identifier for a public key: the first 8 bytes of BLAKE2b-256 over the key's raw bytes.
///
/// Key ids let a verifier find the right key in a trust bundle; they are not secret and are never trusted on
/// their own — the key they point to still has to verify the signature.
public struct KeyID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Bytes in a key id.
    public static let byteCount = 8

    /// The key id's bytes.
    public let bytes: [UInt8]

    /// Wraps 8 bytes read from an encoded structure.
    ///
    /// - Throws: ``CryptoError/Code/invalidLength`` for any other length.
    public init(bytes: some Sequence<UInt8>) throws {
        let raw = Array(bytes)
        guard raw.count == KeyID.byteCount else {
            throw CryptoError(.invalidLength, "key id must be \(KeyID.byteCount) bytes, got \(raw.count)")
        }
        self.bytes = raw
    }

    init(publicKeyBytes: [UInt8]) {
        bytes = Array(BLAKE2b.hash(publicKeyBytes, outputByteCount: 32).prefix(KeyID.byteCount))
    }

    /// Parses the 16-character lowercase hex form.
    public init?(hex: String) {
        guard let raw = Hex.decode(hex), raw.count == KeyID.byteCount else { return nil }
        bytes = raw
    }

    /// Lowercase hex, e.g. `3f9a0c…`.
    public var description: String { Hex.encode(bytes) }

    public static func < (lhs: KeyID, rhs: KeyID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
