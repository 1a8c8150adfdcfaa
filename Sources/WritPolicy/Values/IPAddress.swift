/// A Cedar `ipaddr`: an IPv4 or IPv6 address with a prefix length (a single address has the full length).
///
/// Parsing follows the Cedar specification: dotted-quad IPv4 without leading zeros, IPv6 in hex groups with at
/// most one `::` (no embedded IPv4), optional `/prefix` in decimal without leading zeros.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// Whether this is an IPv4 address.
    public let isIPv4: Bool
    /// The address bits (IPv4 in the low 32 bits).
    public let address: UInt128
    /// The prefix length: 0…32 for IPv4, 0…128 for IPv6.
    public let prefixLength: UInt8

    /// Parses Cedar ip text, or `nil` when invalid.
    public init?(parsing text: String) {
        if let v4 = Self.parseV4(text) {
            self = v4
        } else if let v6 = Self.parseV6(text) {
            self = v6
        } else {
            return nil
        }
    }

    private init(isIPv4: Bool, address: UInt128, prefixLength: UInt8) {
        self.isIPv4 = isIPv4
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Whether this is an IPv6 address.
    public var isIPv6: Bool { !isIPv4 }

    private var width: UInt8 { isIPv4 ? 32 : 128 }

    /// The lowest and highest address in the range.
    var range: (low: UInt128, high: UInt128) {
        let hostBits = Int(width - prefixLength)
        if hostBits >= 128 { return (0, UInt128.max) }
        let low = (address >> hostBits) << hostBits
        let high = low + ((UInt128(1) << hostBits) - 1)
        return (low, high)
    }

    /// Whether this range lies within `other` (both of the same family).
    public func isInRange(_ other: IPAddress) -> Bool {
        guard isIPv4 == other.isIPv4 else { return false }
        let mine = range
        let theirs = other.range
        return theirs.high >= mine.high && mine.low >= theirs.low
    }

    /// Whether the range is within 127.0.0.0/8 or is ::1.
    public var isLoopback: Bool {
        isInRange(
            isIPv4
                ? IPAddress(isIPv4: true, address: 0x7F00_0000, prefixLength: 8)
                : IPAddress(isIPv4: false, address: 1, prefixLength: 128)
        )
    }

    /// Whether the range is within 224.0.0.0/4 or ff00::/8.
    public var isMulticast: Bool {
        isInRange(
            isIPv4
                ? IPAddress(isIPv4: true, address: 0xE000_0000, prefixLength: 4)
                : IPAddress(isIPv4: false, address: UInt128(0xFF00) << 112, prefixLength: 8)
        )
    }

    /// The address in conventional text form with its prefix length.
    public var description: String {
        if isIPv4 {
            let a = UInt32(truncatingIfNeeded: address)
            return "\(a >> 24).\((a >> 16) & 0xFF).\((a >> 8) & 0xFF).\(a & 0xFF)/\(prefixLength)"
        }
        var groups: [String] = []
        for i in (0..<8).reversed() {
            groups.append(String(UInt16(truncatingIfNeeded: address >> (i * 16)), radix: 16))
        }
        return groups.joined(separator: ":") + "/\(prefixLength)"
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    private static func parseDecimal(_ s: Substring, maxDigits: Int, max: Int) -> Int? {
        let bytes = Array(s.utf8)
        guard !bytes.isEmpty, bytes.count <= maxDigits, bytes.allSatisfy(isDigit) else { return nil }
        if bytes[0] == 48 && bytes.count > 1 { return nil }
        var n = 0
        for b in bytes { n = n * 10 + Int(b - 48) }
        return n <= max ? n : nil
    }

    private static func splitPrefix(_ text: String, maxDigits: Int, max: Int) -> (Substring, Int)?? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return .some((parts[0], max))
        case 2:
            guard let p = parseDecimal(parts[1], maxDigits: maxDigits, max: max) else { return .some(nil) }
            return .some((parts[0], p))
        default: return .some(nil)
        }
    }

    private static func parseV4(_ text: String) -> IPAddress? {
        guard let split = splitPrefix(text, maxDigits: 2, max: 32), let (body, prefix) = split else { return nil }
        let segments = body.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 4 else { return nil }
        var value: UInt128 = 0
        for segment in segments {
            guard let n = parseDecimal(segment, maxDigits: 3, max: 255) else { return nil }
            value = (value << 8) | UInt128(n)
        }
        return IPAddress(isIPv4: true, address: value, prefixLength: UInt8(prefix))
    }

    private static func parseGroups(_ s: Substring) -> [UInt16]? {
        if s.isEmpty { return [] }
        var groups: [UInt16] = []
        for part in s.split(separator: ":", omittingEmptySubsequences: false) {
            guard (1...4).contains(part.utf8.count), let n = UInt16(part, radix: 16),
                part.utf8.allSatisfy({ isDigit($0) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) })
            else { return nil }
            groups.append(n)
        }
        return groups
    }

    private static func parseV6(_ text: String) -> IPAddress? {
        guard let split = splitPrefix(text, maxDigits: 3, max: 128), let (body, prefix) = split else { return nil }
        let halves = body.split(separator: "::", maxSplits: Int.max, omittingEmptySubsequences: false)
        var groups: [UInt16]
        switch halves.count {
        case 1:
            guard let g = parseGroups(halves[0]) else { return nil }
            groups = g
        case 2:
            guard let a = parseGroups(halves[0]), let b = parseGroups(halves[1]), a.count + b.count < 8 else {
                return nil
            }
            groups = a + Array(repeating: 0, count: 8 - a.count - b.count) + b
        default:
            return nil
        }
        guard groups.count == 8 else { return nil }
        var value: UInt128 = 0
        for g in groups { value = (value << 16) | UInt128(g) }
        return IPAddress(isIPv4: false, address: value, prefixLength: UInt8(prefix))
    }
}
