package import WritCrypto

/// A token's unique identifier: 16 random bytes chosen by the issuer, carried in block 0.
public struct TokenID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// Bytes in a token id.
    public static let byteCount = ID128.byteCount

    /// The 128 bits (parsing, hex, ordering and equality are WritCrypto's shared core).
    package let value: ID128

    /// The first 8 bytes, big-endian.
    public var high: UInt64 { value.high }
    /// The last 8 bytes, big-endian.
    public var low: UInt64 { value.low }

    /// Creates an id from its two halves.
    public init(high: UInt64, low: UInt64) { value = ID128(high: high, low: low) }

    /// Creates an id from exactly 16 bytes.
    ///
    /// - Throws: ``TokenError/Code/malformed`` for any other length.
    public init(bytes: some Collection<UInt8>) throws(TokenError) {
        guard let value = ID128(bytes: bytes) else {
            throw TokenError(.malformed, "a token id is 16 bytes, got \(bytes.count)")
        }
        self.value = value
    }

    /// A fresh random id.
    public static func random() -> TokenID { TokenID(value: .random()) }

    /// Parses the 32-character hex form.
    public init?(hex: String) {
        guard let value = ID128(hex: hex) else { return nil }
        self.value = value
    }

    private init(value: ID128) { self.value = value }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] { value.bytes }

    /// Lowercase hex.
    public var description: String { value.hex }

    public static func < (lhs: TokenID, rhs: TokenID) -> Bool { lhs.value < rhs.value }

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
    public static let byteCount = ID128.byteCount

    /// The 128 bits (parsing, hex and equality are WritCrypto's shared core).
    package let value: ID128

    /// The first 8 bytes, big-endian.
    public var high: UInt64 { value.high }
    /// The last 8 bytes, big-endian.
    public var low: UInt64 { value.low }

    /// Creates a nonce from its two halves.
    public init(high: UInt64, low: UInt64) { value = ID128(high: high, low: low) }

    /// Creates a nonce from exactly 16 bytes.
    ///
    /// - Throws: ``TokenError/Code/malformed`` for any other length.
    public init(bytes: some Collection<UInt8>) throws(TokenError) {
        guard let value = ID128(bytes: bytes) else {
            throw TokenError(.malformed, "a nonce is 16 bytes, got \(bytes.count)")
        }
        self.value = value
    }

    /// A fresh random nonce.
    public static func random() -> ReplayNonce { ReplayNonce(value: .random()) }

    private init(value: ID128) { self.value = value }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] { value.bytes }

    /// Lowercase hex.
    public var description: String { value.hex }
}
