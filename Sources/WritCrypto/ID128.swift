/// The value under every 128-bit identifier of Writ (`RevocationID` here, `TokenID` and `ReplayNonce` in
/// WritTokens): two big-endian 64-bit halves, read from and written as 16 bytes or 32 hex digits, compared without
/// branching on their contents.
///
/// Each public id type is a thin wrapper over it (its own name, its own error for a wrong length, its own
/// conformances), so the parsing, hex form, ordering and equality are written once.
@usableFromInline package struct ID128: Hashable, Sendable, Comparable {
    /// Bytes in an id.
    package static let byteCount = 16

    /// The first 8 bytes, big-endian.
    @usableFromInline package let high: UInt64
    /// The last 8 bytes, big-endian.
    @usableFromInline package let low: UInt64

    /// Creates an id from its two halves.
    @inlinable package init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Reads exactly 16 bytes, big-endian; `nil` for any other length.
    package init?(bytes: some Collection<UInt8>) {
        guard bytes.count == ID128.byteCount else { return nil }
        // Contiguous storage (arrays and their slices, on every request's proof) is read in one pass over the
        // buffer, not element by element through the generic collection's iterator.
        if let parsed = bytes.withContiguousStorageIfAvailable(ID128.init(contiguous:)) {
            self = parsed
            return
        }
        var h: UInt64 = 0
        var l: UInt64 = 0
        var i = 0
        for b in bytes {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
            i += 1
        }
        self.init(high: h, low: l)
    }

    /// Exactly 16 bytes, big-endian (the caller checked the count).
    private init(contiguous bytes: UnsafeBufferPointer<UInt8>) {
        var h: UInt64 = 0
        var l: UInt64 = 0
        for k in 0..<8 {
            h = h << 8 | UInt64(bytes[k])
            l = l << 8 | UInt64(bytes[8 + k])
        }
        self.init(high: h, low: l)
    }

    /// Parses 32 hex digits; `nil` for anything else.
    package init?(hex: String) {
        guard let raw = Hex.decode(hex) else { return nil }
        self.init(bytes: raw)
    }

    /// A fresh id from the system's secure random source.
    package static func random() -> ID128 {
        var generator = SecureRandomNumberGenerator()
        return ID128(high: generator.next(), low: generator.next())
    }

    /// The 16 bytes, big-endian.
    package var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: ID128.byteCount) { out, initialized in
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
                out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
            }
            initialized = ID128.byteCount
        }
    }

    /// Lowercase hex, 32 digits.
    package var hex: String { Hex.encode(bytes) }

    /// Equal when all 128 bits are, decided without a data-dependent branch (an id may be compared with one an
    /// attacker chose).
    @inlinable package static func == (lhs: ID128, rhs: ID128) -> Bool {
        (lhs.high ^ rhs.high) | (lhs.low ^ rhs.low) == 0
    }

    @inlinable package func hash(into hasher: inout Hasher) {
        hasher.combine(high)
        hasher.combine(low)
    }

    /// Big-endian byte order (the halves compared in turn).
    @inlinable package static func < (lhs: ID128, rhs: ID128) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}
