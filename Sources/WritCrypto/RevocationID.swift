/// The 16-byte identifier by which one token block can be revoked.
///
/// Every block of a capability token has one (derived from the block's signature, see `Docs/TokenFormat.md`);
/// the revocation set is keyed by it. It lives in ``WritCrypto`` so that the token and revocation modules
/// share the type without depending on each other. Two 64-bit halves keep hashing and storage cheap.
public struct RevocationID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Bytes in a revocation id.
    public static let byteCount = ID128.byteCount

    /// The 128 bits (parsing, hex, ordering and equality are the shared core's).
    @usableFromInline package let value: ID128

    /// The first 8 bytes, big-endian.
    @inlinable public var high: UInt64 { value.high }
    /// The last 8 bytes, big-endian.
    @inlinable public var low: UInt64 { value.low }

    /// Creates an id from its two halves.
    @inlinable public init(high: UInt64, low: UInt64) { value = ID128(high: high, low: low) }

    /// Wraps the shared 128-bit value.
    package init(_ value: ID128) { self.value = value }

    /// Creates an id from exactly 16 bytes.
    ///
    /// - Throws: ``CryptoError/Code/invalidLength`` for any other length.
    public init(bytes: some Collection<UInt8>) throws {
        guard let value = ID128(bytes: bytes) else {
            throw CryptoError(.invalidLength, "revocation id must be 16 bytes, got \(bytes.count)")
        }
        self.value = value
    }

    /// Parses the 32-character hex form.
    public init?(hex: String) {
        guard let value = ID128(hex: hex) else { return nil }
        self.value = value
    }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] { value.bytes }

    /// Lowercase hex.
    public var description: String { value.hex }

    public static func < (lhs: RevocationID, rhs: RevocationID) -> Bool { lhs.value < rhs.value }
}
