import WritCrypto

/// Standard base64 with padding (RFC 4648 §4), as signed notes and checkpoints use; decoded strictly by way of
/// WritCrypto's canonical base64url decoder.
enum Base64Standard {
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var text = Base64URL.encode(bytes)
        text = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.utf8.count % 4 != 0 { text.append("=") }
        return text
    }

    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 4 == 0 else { return nil }
        var body = utf8
        var padding = 0
        while body.last == UInt8(ascii: "="), padding < 2 {
            body.removeLast()
            padding += 1
        }
        var mapped = [UInt8]()
        mapped.reserveCapacity(body.count)
        for c in body {
            switch c {
            case UInt8(ascii: "+"): mapped.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): mapped.append(UInt8(ascii: "_"))
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "="): return nil
            default: mapped.append(c)
            }
        }
        return Base64URL.decode(String(decoding: mapped, as: UTF8.self))
    }
}
