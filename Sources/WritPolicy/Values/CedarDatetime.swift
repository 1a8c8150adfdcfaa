/// A Cedar `datetime`: milliseconds since the Unix epoch (UTC).
///
/// Text forms: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ssZ`, `YYYY-MM-DDThh:mm:ss.SSSZ`, `YYYY-MM-DDThh:mm:ss±hhmm`,
/// `YYYY-MM-DDThh:mm:ss.SSS±hhmm`. The offset is applied, so the value is always UTC.
public struct CedarDatetime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z (negative before).
    public let millisecondsSinceEpoch: Int64

    /// Wraps a count of milliseconds since the epoch.
    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    /// Parses Cedar datetime text, or `nil` when invalid.
    public init?(parsing text: String) {
        let b = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var n = 0
            for i in start..<(start + count) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                n = n * 10 + Int(b[i] - 48)
            }
            return n
        }
        guard b.count >= 10, let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45,
            let day = digits(8, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else { return nil }
        var millis = Int64(Self.daysFromCivil(year: year, month: month, day: day)) * 86_400_000
        if b.count > 10 {
            guard b.count >= 20, b[10] == 84, let hh = digits(11, 2), b[13] == 58, let mm = digits(14, 2),
                b[16] == 58, let ss = digits(17, 2), hh < 24, mm < 60, ss < 60
            else { return nil }
            var index = 19
            var fraction = 0
            if b[index] == 46 {
                guard let ms = digits(index + 1, 3) else { return nil }
                fraction = ms
                index += 4
            }
            guard index < b.count else { return nil }
            var offsetMillis = 0
            if b[index] == 90 {
                index += 1
            } else if b[index] == 43 || b[index] == 45 {
                guard let oh = digits(index + 1, 2), let om = digits(index + 3, 2), oh < 24, om < 60 else {
                    return nil
                }
                offsetMillis = (oh * 3600 + om * 60) * 1000 * (b[index] == 45 ? -1 : 1)
                index += 5
            } else {
                return nil
            }
            guard index == b.count else { return nil }
            millis += Int64((hh * 3600 + mm * 60 + ss) * 1000 + fraction - offsetMillis)
        }
        millisecondsSinceEpoch = millis
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func < (lhs: CedarDatetime, rhs: CedarDatetime) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// The instant as milliseconds since the epoch (Cedar has no canonical text form for every value).
    public var description: String { "\(millisecondsSinceEpoch)ms since epoch" }
}

/// A Cedar `duration`: a signed count of milliseconds.
///
/// Text form: an optional `-`, then quantity–unit pairs from largest to smallest unit, each at most once:
/// `d`, `h`, `m`, `s`, `ms` (for example `1d2h`, `-30m`, `1500ms`).
public struct CedarDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The length in milliseconds.
    public let milliseconds: Int64

    /// Wraps a count of milliseconds.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Parses Cedar duration text, or `nil` when invalid or out of range.
    public init?(parsing text: String) {
        var b = Array(text.utf8)[...]
        var negative = false
        if b.first == 45 {
            negative = true
            b = b.dropFirst()
        }
        guard !b.isEmpty else { return nil }
        // Units from largest to smallest; each may appear at most once, in this order.
        let units: [(suffix: [UInt8], factor: Int64)] = [
            (Array("d".utf8), 86_400_000), (Array("h".utf8), 3_600_000), (Array("m".utf8), 60_000),
            (Array("s".utf8), 1000), (Array("ms".utf8), 1),
        ]
        var total: Int64 = 0
        var nextUnit = 0
        while !b.isEmpty {
            var quantity: Int64 = 0
            var sawDigit = false
            while let c = b.first, c >= 48 && c <= 57 {
                let (m, o1) = quantity.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int64(c - 48))
                guard !o1, !o2 else { return nil }
                quantity = s
                sawDigit = true
                b = b.dropFirst()
            }
            guard sawDigit else { return nil }
            var letters: [UInt8] = []
            while let c = b.first, !(c >= 48 && c <= 57) {
                letters.append(c)
                b = b.dropFirst()
            }
            guard let unit = units.indices.first(where: { units[$0].suffix == letters }), unit >= nextUnit else {
                return nil
            }
            nextUnit = unit + 1
            let (product, o3) = quantity.multipliedReportingOverflow(by: units[unit].factor)
            let (sum, o4) = total.addingReportingOverflow(product)
            guard !o3, !o4 else { return nil }
            total = sum
        }
        if negative {
            let (n, o) = Int64(0).subtractingReportingOverflow(total)
            guard !o else { return nil }
            total = n
        }
        milliseconds = total
    }

    public static func < (lhs: CedarDuration, rhs: CedarDuration) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// The duration in milliseconds, as Cedar text.
    public var description: String { "\(milliseconds)ms" }
}
