import WritCrypto

/// One line of a nonce file: `<32 hex nonce> <16 hex expiry ms> <16 hex checksum>\n`, exactly 67 bytes.
enum NonceRecord {
    /// Bytes in one record line, its newline included.
    static let byteCount = 32 + 1 + 16 + 1 + 16 + 1

    private static let domain = Array("writ-nonce-record-v1\u{0}".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The record line for `nonce` expiring at `expiresAt`.
    static func encode(_ nonce: ReplayNonce, expiresAt: Timestamp) -> [UInt8] {
        let expiry = UInt64(bitPattern: expiresAt.millisecondsSinceEpoch)
        var line: [UInt8] = []
        line.reserveCapacity(byteCount)
        appendHex(nonce.high, to: &line)
        appendHex(nonce.low, to: &line)
        line.append(UInt8(ascii: " "))
        appendHex(expiry, to: &line)
        line.append(UInt8(ascii: " "))
        appendHex(checksum(nonce, expiry), to: &line)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// Parses one line (without its newline), or says what is wrong with it.
    static func decode(_ line: ArraySlice<UInt8>) -> Result<(ReplayNonce, Timestamp), Failure> {
        guard line.count == byteCount - 1 else {
            return .failure(
                Failure("a record is \(byteCount - 1) bytes before its newline, this line has \(line.count)")
            )
        }
        let start = line.startIndex
        guard line[start + 32] == UInt8(ascii: " "), line[start + 49] == UInt8(ascii: " ") else {
            return .failure(Failure("fields are not separated by single spaces at columns 33 and 50"))
        }
        guard let high = hex(line, from: start), let low = hex(line, from: start + 16),
            let expiry = hex(line, from: start + 33), let check = hex(line, from: start + 50)
        else {
            return .failure(Failure("a field is not 16 lowercase hex digits"))
        }
        let nonce = ReplayNonce(high: high, low: low)
        guard check == checksum(nonce, expiry) else {
            return .failure(Failure("the checksum does not match the nonce and expiry (damaged or edited)"))
        }
        return .success((nonce, Timestamp(millisecondsSinceEpoch: Int64(bitPattern: expiry))))
    }

    /// Why a line is not a record.
    struct Failure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private static func checksum(_ nonce: ReplayNonce, _ expiry: UInt64) -> UInt64 {
        var input = domain
        input.append(contentsOf: nonce.bytes)
        for shift in stride(from: 56, through: 0, by: -8) { input.append(UInt8(truncatingIfNeeded: expiry >> shift)) }
        let digest = BLAKE2b.hash(input, outputByteCount: 16)
        return digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func appendHex(_ value: UInt64, to line: inout [UInt8]) {
        for shift in stride(from: 60, through: 0, by: -4) { line.append(hexDigits[Int((value >> shift) & 0xF)]) }
    }

    /// 16 lowercase hex digits from `index`, or nil.
    private static func hex(_ line: ArraySlice<UInt8>, from index: Int) -> UInt64? {
        var value: UInt64 = 0
        for byte in line[index..<index + 16] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}
