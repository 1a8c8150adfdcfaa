import WritIdentity

// Low-level reading and writing of the binary format (see Docs/TokenFormat.md). Hand-written, allocation-light:
// the verifier's hot path parses with this and nothing else.

/// Reads fields from a byte buffer; every read checks bounds and throws ``TokenError/Code/malformed``.
struct WireReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    /// The block being read, for error messages.
    var block: Int? = nil

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }
    var remaining: Int { bytes.count - position }

    @inline(__always)
    func fail(_ what: String) -> TokenError {
        TokenError(.malformed, what, block: block)
    }

    @inline(__always)
    mutating func byte(_ what: @autoclosure () -> String) throws(TokenError) -> UInt8 {
        guard position < bytes.count else { throw fail("truncated at \(what())") }
        defer { position += 1 }
        return bytes[position]
    }

    @inline(__always)
    mutating func fixed(
        _ count: Int,
        _ what: @autoclosure () -> String
    ) throws(TokenError) -> UnsafeBufferPointer<UInt8> {
        guard count <= remaining else { throw fail("truncated at \(what())") }
        defer { position += count }
        return UnsafeBufferPointer(rebasing: bytes[position..<position + count])
    }

    /// An unsigned LEB128 varint in canonical (shortest) form, at most `maximum`.
    @inline(__always)
    mutating func varint(_ what: @autoclosure () -> String, maximum: UInt64) throws(TokenError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw fail("truncated at \(what())") }
            let b = bytes[position]
            position += 1
            guard shift < 63 else { throw fail("\(what()) is too large") }
            value |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 {
                // Canonical: no trailing zero group (except the single byte 0x00).
                guard b != 0 || shift == 0 else { throw fail("\(what()) is not minimally encoded") }
                break
            }
            shift += 7
        }
        guard value <= maximum else { throw fail("\(what()) is out of range") }
        return value
    }

    /// A length-prefixed byte string of 1…`maximumLength` bytes (0… when `allowEmpty`).
    @inline(__always)
    mutating func string(
        _ what: @autoclosure () -> String,
        maximumLength: Int,
        allowEmpty: Bool = false
    ) throws(TokenError) -> UnsafeBufferPointer<UInt8> {
        let length = Int(try varint(what(), maximum: UInt64(maximumLength)))
        guard length > 0 || allowEmpty else { throw fail("\(what()) is empty") }
        return try fixed(length, what())
    }
}

/// Appends fields to a growing byte array.
struct WireWriter {
    var bytes: [UInt8]

    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) { bytes.append(b) }

    @inline(__always)
    mutating func fixed(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always)
    mutating func string(_ s: String) {
        varint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// An identity's wire form (the SPIFFE ID without `spiffe://`), without building it first.
    @inline(__always)
    mutating func identity(_ id: AgentIdentity) {
        varint(UInt64(id.trustDomain.utf8.count + id.path.utf8.count))
        bytes.append(contentsOf: id.trustDomain.utf8)
        bytes.append(contentsOf: id.path.utf8)
    }

    @inline(__always)
    mutating func bigEndian(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    @inline(__always)
    mutating func string(_ b: [UInt8]) {
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }
}

/// Character rules shared by the encoder (which throws ``TokenError/Code/invalidClaims``) and the parser
/// (which throws ``TokenError/Code/malformed``).
enum FieldRules {
    /// Visible ASCII, `!`…`~`.
    @inline(__always)
    static func isVisibleASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in bytes where c < 0x21 || c > 0x7e { return false }
        return true
    }

    static func isAudience(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        !b.isEmpty && b.count <= TokenLimits.maximumAudienceLength && isVisibleASCII(b)
    }

    static func isAction(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !b.isEmpty, b.count <= TokenLimits.maximumActionLength, isVisibleASCII(b) else { return false }
        return !b.contains(UInt8(ascii: "*"))
    }

    static func isTaskID(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        !b.isEmpty && b.count <= TokenLimits.maximumTaskIDLength && isVisibleASCII(b)
    }

    static func isAttribute(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        !b.isEmpty && b.count <= TokenLimits.maximumAttributeLength && isVisibleASCII(b)
    }

    /// Valid UTF-8 without control characters, 1…512 bytes.
    static func isIntent(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !b.isEmpty, b.count <= TokenLimits.maximumIntentLength else { return false }
        for c in b where c < 0x20 || c == 0x7f { return false }
        return String(validating: b, as: UTF8.self) != nil
    }

    static func isClassName(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !b.isEmpty, b.count <= 64 else { return false }
        for c in b {
            let ok =
                (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
            if !ok { return false }
        }
        return true
    }

    /// Runs `rule` over a string's UTF-8 bytes.
    static func check(_ s: String, _ rule: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        if let result = s.utf8.withContiguousStorageIfAvailable(rule) { return result }
        var copy = s
        return copy.withUTF8 { rule($0) }
    }
}
