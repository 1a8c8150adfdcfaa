/// A Cedar `decimal`: a fixed-point number with four digits after the point, stored as a scaled `Int64`.
public struct CedarDecimal: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The value times 10,000.
    public let scaledValue: Int64

    /// Wraps a value already scaled by 10,000.
    public init(scaledValue: Int64) { self.scaledValue = scaledValue }

    /// Parses Cedar decimal text: an optional `-`, digits, `.`, then one to four digits. `nil` when invalid or
    /// out of range.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        var left = Substring(parts[0])
        let right = parts[1]
        let negative = left.hasPrefix("-")
        if negative { left = left.dropFirst() }
        guard !left.isEmpty, left.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        guard (1...4).contains(right.utf8.count), right.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            return nil
        }
        // Accumulate as a negative number so Int64.min is reachable.
        var total: Int64 = 0
        for digit in left.utf8 {
            let (m, o1) = total.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(digit - 48))
            guard !o1, !o2 else { return nil }
            total = s
        }
        var fraction: Int64 = 0
        for digit in right.utf8 { fraction = fraction * 10 + Int64(digit - 48) }
        for _ in right.utf8.count..<4 { fraction *= 10 }
        let (scaled, o3) = total.multipliedReportingOverflow(by: 10_000)
        let (withFraction, o4) = scaled.subtractingReportingOverflow(fraction)
        guard !o3, !o4 else { return nil }
        if negative {
            scaledValue = withFraction
        } else {
            let (positive, o5) = Int64(0).subtractingReportingOverflow(withFraction)
            guard !o5 else { return nil }
            scaledValue = positive
        }
    }

    public static func < (lhs: CedarDecimal, rhs: CedarDecimal) -> Bool { lhs.scaledValue < rhs.scaledValue }

    /// The value in Cedar decimal syntax, with four fraction digits.
    public var description: String {
        let magnitude = scaledValue.magnitude
        let whole = magnitude / 10_000
        let fraction = String(magnitude % 10_000)
        return (scaledValue < 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: 4 - fraction.count)
            + fraction
    }
}
