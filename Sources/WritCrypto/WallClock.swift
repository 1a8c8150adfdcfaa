#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in wall-clock time: milliseconds since the Unix epoch (UTC).
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    /// Creates a timestamp from milliseconds since the epoch.
    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    /// Creates a timestamp from whole seconds since the epoch, saturating at the ends of the `Int64` range.
    public init(secondsSinceEpoch: Int64) {
        let (ms, overflow) = secondsSinceEpoch.multipliedReportingOverflow(by: 1000)
        self.millisecondsSinceEpoch = overflow ? (secondsSinceEpoch < 0 ? .min : .max) : ms
    }

    /// Whole seconds since the epoch (rounded down).
    public var secondsSinceEpoch: Int64 { Self.floorDivide(millisecondsSinceEpoch, by: 1000).quotient }

    /// This timestamp moved by `duration`, saturating at the ends of the `Int64` range (never trapping).
    public func advanced(by duration: Duration) -> Timestamp {
        let (seconds, attoseconds) = duration.components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        // |attoseconds| < 10^18, so the sub-second part is below 1000 ms in magnitude.
        let delta = overflow ? nil : ms.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard let delta, !delta.overflow else { return Timestamp(saturating: seconds < 0) }
        let (sum, sumOverflow) = millisecondsSinceEpoch.addingReportingOverflow(delta.partialValue)
        return sumOverflow ? Timestamp(saturating: delta.partialValue < 0) : Timestamp(millisecondsSinceEpoch: sum)
    }

    /// The exact duration from `self` to `other` (positive when `other` is later), for any two timestamps.
    public func duration(to other: Timestamp) -> Duration {
        // Duration holds 128-bit attoseconds: the difference of two Int64 millisecond counts always fits.
        .milliseconds(other.millisecondsSinceEpoch) - .milliseconds(millisecondsSinceEpoch)
    }

    private init(saturating toMinimum: Bool) { millisecondsSinceEpoch = toMinimum ? .min : .max }

    /// Floor division and the matching non-negative remainder; total for every dividend (`divisor > 0`).
    private static func floorDivide(_ value: Int64, by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let (q, r) = value.quotientAndRemainder(dividingBy: divisor)
        return r < 0 ? (q - 1, r + divisor) : (q, r)
    }

    /// RFC 3339 form in UTC with milliseconds, e.g. `2026-11-29T18:27:04.123Z`.
    ///
    /// Total over the whole `Int64` range: years outside 0000–9999 (which RFC 3339 cannot express) are written
    /// with as many digits as they need and a `-` sign before the year 0.
    public var description: String {
        let (dayNumber, msOfDay) = Self.floorDivide(millisecondsSinceEpoch, by: 86_400_000)
        // Civil-from-days (Howard Hinnant's algorithm). |dayNumber| < 1.1e11, so nothing below can overflow.
        let days = dayNumber + 719_468
        let era = Self.floorDivide(days, by: 146_097).quotient
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var year = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        if month <= 2 { year += 1 }
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v.magnitude)
            return (v < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(msOfDay / 3_600_000, 2)):"
            + "\(pad(msOfDay / 60_000 % 60, 2)):\(pad(msOfDay / 1000 % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }
}

/// A source of wall-clock time. Validation reads it when it runs, so tests inject a manual clock.
public protocol WallClock: Sendable {
    /// The current time.
    func now() -> Timestamp
}

/// The system's real-time clock.
public struct SystemClock: WallClock {
    /// Creates the system clock.
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
