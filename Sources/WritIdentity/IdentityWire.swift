// Minimal binary reading/writing for identity documents (see Docs/TokenFormat.md, "Identity documents").

struct IdentityReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }

    func fail(_ what: String) -> IdentityError { IdentityError(.malformed, what) }

    mutating func byte(_ what: String) throws(IdentityError) -> UInt8 {
        guard position < bytes.count else { throw fail("truncated at \(what)") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func fixed(_ count: Int, _ what: String) throws(IdentityError) -> ArraySlice<UInt8> {
        guard count <= bytes.count - position else { throw fail("truncated at \(what)") }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func varint(_ what: String, maximum: UInt64) throws(IdentityError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte(what)
            guard shift < 63 else { throw fail("\(what) is too large") }
            value |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 {
                guard b != 0 || shift == 0 else { throw fail("\(what) is not minimally encoded") }
                break
            }
            shift += 7
        }
        guard value <= maximum else { throw fail("\(what) is out of range") }
        return value
    }

    mutating func string(_ what: String, maximumLength: Int) throws(IdentityError) -> [UInt8] {
        let length = Int(try varint(what, maximum: UInt64(maximumLength)))
        guard length > 0 else { throw fail("\(what) is empty") }
        return Array(try fixed(length, what))
    }
}

extension Array where Element == UInt8 {
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }

    mutating func appendString(_ bytes: [UInt8]) {
        appendVarint(UInt64(bytes.count))
        append(contentsOf: bytes)
    }
}
