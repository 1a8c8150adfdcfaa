/// The 16-byte identifier by which one token block can be revoked.
///
/// Every block of a capability token has one (derived from the block's signature, see `Docs/TokenFormat.md`);
/// the revocation set is keyed by it. It lives in ``WritCrypto`` so that the token and revocation modules
/// share the type without depending on each other. Two 64-bit halves keep hashing and storage cheap.
public struct RevocationID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Bytes in a revocation id.
    public static let byteCount = 16

    /// The first 8 bytes, big-endian.
    public let high: UInt64
    /// The last 8 bytes, big-endian.
    public let low: UInt64

    /// Creates an id from its two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates an id from exactly 16 bytes.
    ///
    /// - Throws: ``CryptoError/Code/invalidLength`` for any other length.
    public init(bytes: some Collection<UInt8>) throws {
        guard bytes.count == RevocationID.byteCount else {
            throw CryptoError(.invalidLength, "revocation id must be 16 bytes, got \(bytes.count)")
        }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h
        low = l
    }

    /// Parses the 32-character hex form.
    public init?(hex: String) {
        guard let raw = Hex.decode(hex), let id = try? RevocationID(bytes: raw) else { return nil }
        self = id
    }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// Lowercase hex.
    public var description: String { Hex.encode(bytes) }

    public static func < (lhs: RevocationID, rhs: RevocationID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}
