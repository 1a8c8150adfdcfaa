/// Applies Cedar extension functions (decimal, ip, datetime, duration) to evaluated arguments.
enum ExtensionCall {
    private static func failure(_ function: ExtensionFunction, _ args: [CedarValue]) -> EvaluationFailure {
        EvaluationFailure(
            "type error: \(function.rawValue) does not apply to (\(args.map(\.typeName).joined(separator: ", ")))"
        )
    }

    static func call(_ function: ExtensionFunction, _ args: [CedarValue]) throws(EvaluationFailure) -> CedarValue {
        switch (function, args.count) {
        case (.decimal, 1), (.ip, 1), (.datetime, 1), (.duration, 1):
            guard case .string(let text) = args[0] else { throw failure(function, args) }
            let parsed: CedarValue? =
                switch function {
                case .decimal: CedarDecimal(parsing: text).map(CedarValue.decimal)
                case .ip: IPAddress(parsing: text).map(CedarValue.ipAddress)
                case .datetime: CedarDatetime(parsing: text).map(CedarValue.datetime)
                default: CedarDuration(parsing: text).map(CedarValue.duration)
                }
            guard let parsed else {
                throw EvaluationFailure(
                    "extension error: invalid \(function.rawValue) literal \"\(CedarEscaping.escape(text))\""
                )
            }
            return parsed
        default:
            break
        }
        guard args.count == function.arity else {
            throw EvaluationFailure("\(function.rawValue) takes \(function.arity) argument(s), found \(args.count)")
        }
        switch (function, args[0], args.count > 1 ? args[1] : nil) {
        case (.lessThan, .decimal(let a), .decimal(let b)): return .bool(a < b)
        case (.lessThanOrEqual, .decimal(let a), .decimal(let b)): return .bool(a <= b)
        case (.greaterThan, .decimal(let a), .decimal(let b)): return .bool(a > b)
        case (.greaterThanOrEqual, .decimal(let a), .decimal(let b)): return .bool(a >= b)
        case (.isIpv4, .ipAddress(let a), nil): return .bool(a.isIPv4)
        case (.isIpv6, .ipAddress(let a), nil): return .bool(a.isIPv6)
        case (.isLoopback, .ipAddress(let a), nil): return .bool(a.isLoopback)
        case (.isMulticast, .ipAddress(let a), nil): return .bool(a.isMulticast)
        case (.isInRange, .ipAddress(let a), .ipAddress(let b)): return .bool(a.isInRange(b))
        case (.offset, .datetime(let d), .duration(let by)):
            let (value, overflow) = d.millisecondsSinceEpoch.addingReportingOverflow(by.milliseconds)
            guard !overflow else { throw EvaluationFailure("overflow: datetime offset") }
            return .datetime(CedarDatetime(millisecondsSinceEpoch: value))
        case (.durationSince, .datetime(let a), .datetime(let b)):
            let (value, overflow) = a.millisecondsSinceEpoch.subtractingReportingOverflow(b.millisecondsSinceEpoch)
            guard !overflow else { throw EvaluationFailure("overflow: durationSince") }
            return .duration(CedarDuration(milliseconds: value))
        case (.toDate, .datetime(let d), nil):
            let day: Int64 = 86_400_000
            let ms = d.millisecondsSinceEpoch
            let floorDays = ms >= 0 || ms % day == 0 ? ms / day : ms / day - 1
            let (value, overflow) = floorDays.multipliedReportingOverflow(by: day)
            guard !overflow else { throw EvaluationFailure("overflow: toDate") }
            return .datetime(CedarDatetime(millisecondsSinceEpoch: value))
        case (.toTime, .datetime(let d), nil):
            let day: Int64 = 86_400_000
            let rem = d.millisecondsSinceEpoch % day
            return .duration(CedarDuration(milliseconds: rem < 0 ? rem + day : rem))
        case (.toMilliseconds, .duration(let d), nil): return .long(d.milliseconds)
        case (.toSeconds, .duration(let d), nil): return .long(d.milliseconds / 1000)
        case (.toMinutes, .duration(let d), nil): return .long(d.milliseconds / 60_000)
        case (.toHours, .duration(let d), nil): return .long(d.milliseconds / 3_600_000)
        case (.toDays, .duration(let d), nil): return .long(d.milliseconds / 86_400_000)
        default:
            throw failure(function, args)
        }
    }
}
