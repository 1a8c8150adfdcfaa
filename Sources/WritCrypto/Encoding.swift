/// Lowercase hexadecimal encoding.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lowercase hex.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case); `nil` for odd length or a non-hex character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Base64url without padding (RFC 4648 §5), decoded strictly: padding, whitespace, characters outside the
/// alphabet and non-zero trailing bits are all rejected, so every byte string has exactly one text form.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Encodes bytes.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Array(bytes).withUnsafeBytes { encode(raw: $0) }
    }

    /// Encodes bytes in place (no copy of the input is made, so a secret's bytes stay in their own storage).
    package static func encode(raw input: UnsafeRawBufferPointer) -> String {
        var out = [UInt8]()
        out.reserveCapacity((input.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let n = UInt32(input[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
        } else if rest == 2 {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes strictly; `nil` for anything that is not canonical unpadded base64url.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var text = String(text)
        return text.withUTF8 { decode(utf8: $0) }
    }

    /// Decodes the UTF-8 bytes of base64url text strictly (hot path: no per-character copies).
    public static func decode(utf8 input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = input.count
        guard count % 4 != 1 else { return nil }
        let table = reverse  // one lazy-initialisation check, not one per character
        return table.withUnsafeBufferPointer { table -> [UInt8]? in
            var valid = true
            let out = [UInt8](unsafeUninitializedCapacity: count * 3 / 4) { buffer, initialized in
                initialized = decode(input, table: table, into: UnsafeMutableRawBufferPointer(buffer)) ?? 0
                valid = initialized == count * 3 / 4
            }
            return valid ? out : nil
        }
    }

    /// The number of bytes that `characters` characters of canonical unpadded base64url decode to, or `nil` when
    /// no canonical text has that length.
    package static func decodedCount(characters: Int) -> Int? {
        characters % 4 == 1 ? nil : characters * 3 / 4
    }

    /// Decodes the UTF-8 bytes of base64url text strictly into `output`, which must hold exactly
    /// ``decodedCount(characters:)`` bytes; `false` for anything that is not canonical unpadded base64url.
    package static func decode(
        utf8 input: UnsafeBufferPointer<UInt8>,
        into output: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard let expected = decodedCount(characters: input.count), output.count == expected else { return false }
        return reverse.withUnsafeBufferPointer { decode(input, table: $0, into: output) } == expected
    }

    /// The decoding loop: writes into `output` and returns the bytes written, or `nil` for a character outside
    /// the alphabet or non-zero trailing bits (not the canonical encoding).
    private static func decode(
        _ input: UnsafeBufferPointer<UInt8>,
        table: UnsafeBufferPointer<UInt8>,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var accumulator: UInt32 = 0
        var bits: UInt32 = 0
        var written = 0
        for c in input {
            let v = table[Int(c)]
            if v == 0xff { return nil }
            accumulator = accumulator << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output[written] = UInt8(truncatingIfNeeded: accumulator >> bits)
                written += 1
                accumulator &= (1 << bits) - 1
            }
        }
        return accumulator == 0 ? written : nil
    }
}
