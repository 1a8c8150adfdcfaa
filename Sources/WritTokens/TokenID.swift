import WritCrypto

/// A token's unique identifier: 16 random bytes chosen by the issuer, carried in block 0.
public struct TokenID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// Bytes in a token id.
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
    /// - Throws: ``TokenError/Code/malformed`` for any other length.
    public init(bytes: some Collection<UInt8>) throws(TokenError) {
        guard bytes.count == TokenID.byteCount else {
            throw TokenError(.malformed, "a token id is 16 bytes, got \(bytes.count)")
        }
        (high, low) = splitBigEndian128(bytes)
    }

    /// A fresh random id.
    public static func random() -> TokenID {
        var generator = SecureRandomNumberGenerator()
        return TokenID(high: generator.next(), low: generator.next())
    }

    /// Parses the 32-character hex form.
    public init?(hex: String) {
        guard let raw = Hex.decode(hex), raw.count == TokenID.byteCount else { return nil }
        (high, low) = splitBigEndian128(raw)
    }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] { joinBigEndian128(high, low) }

    /// Lowercase hex.
    public var description: String { Hex.encode(bytes) }

    public static func < (lhs: TokenID, rhs: TokenID) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    /// Decodes from the hex string form.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = TokenID(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a token id"))
        }
        self = id
    }

    /// Encodes as the hex string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The BLAKE2b-256 digest of a token's exact bytes: what proofs of possession sign and what caches key on.
public struct TokenDigest: Hashable, Sendable, CustomStringConvertible {
    /// Bytes in a digest.
    public static let byteCount = 32

    /// The 32 bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes.
    ///
    /// - Throws: ``TokenError/Code/malformed`` for any other length.
    public init(bytes: some Collection<UInt8>) throws(TokenError) {
        guard bytes.count == TokenDigest.byteCount else {
            throw TokenError(.malformed, "a token digest is 32 bytes, got \(bytes.count)")
        }
        self.bytes = Array(bytes)
    }

    init(trusted bytes: [UInt8]) { self.bytes = bytes }

    /// The digest of `tokenBytes`.
    public static func of(_ tokenBytes: [UInt8]) -> TokenDigest {
        TokenDigest(trusted: BLAKE2b.hash(tokenBytes, outputByteCount: byteCount))
    }

    /// Lowercase hex.
    public var description: String { Hex.encode(bytes) }
}

/// A proof's 16-byte random nonce, the key under which replay caches remember it.
public struct ReplayNonce: Hashable, Sendable, CustomStringConvertible {
    /// Bytes in a nonce.
    public static let byteCount = 16

    /// The first 8 bytes, big-endian.
    public let high: UInt64
    /// The last 8 bytes, big-endian.
    public let low: UInt64

    /// Creates a nonce from its two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates a nonce from exactly 16 bytes.
    ///
    /// - Throws: ``TokenError/Code/malformed`` for any other length.
    public init(bytes: some Collection<UInt8>) throws(TokenError) {
        guard bytes.count == ReplayNonce.byteCount else {
            throw TokenError(.malformed, "a nonce is 16 bytes, got \(bytes.count)")
        }
        (high, low) = splitBigEndian128(bytes)
    }

    /// A fresh random nonce.
    public static func random() -> ReplayNonce {
        var generator = SecureRandomNumberGenerator()
        return ReplayNonce(high: generator.next(), low: generator.next())
    }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] { joinBigEndian128(high, low) }

    /// Lowercase hex.
    public var description: String { Hex.encode(bytes) }
}

@inline(__always)
func splitBigEndian128(_ bytes: some Collection<UInt8>) -> (UInt64, UInt64) {
    var h: UInt64 = 0
    var l: UInt64 = 0
    var i = 0
    for b in bytes {
        if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        i += 1
    }
    return (h, l)
}

@inline(__always)
func joinBigEndian128(_ high: UInt64, _ low: UInt64) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: 16) { out, initialized in
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        initialized = 16
    }
}
