/// The four request variables.
enum Variable: Sendable {
    case principal, action, resource, context
}

/// Binary operators after desugaring (`!=`, `>`, `>=` are rewritten to these).
enum BinaryOperator: Sendable {
    case equal, less, lessOrEqual, add, subtract, multiply, memberOf
    case contains, containsAll, containsAny, getTag, hasTag
}

/// Extension functions and methods.
enum ExtensionFunction: String, Sendable, CaseIterable {
    case decimal, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual
    case ip, isIpv4, isIpv6, isLoopback, isMulticast, isInRange
    case datetime, duration, offset, durationSince, toDate, toTime
    case toMilliseconds, toSeconds, toMinutes, toHours, toDays

    /// Whether it is called as a function (`ip("…")`) rather than a method (`x.isIpv4()`).
    var isConstructor: Bool { self == .decimal || self == .ip || self == .datetime || self == .duration }

    /// The number of arguments, counting the receiver of a method.
    var arity: Int {
        switch self {
        case .decimal, .ip, .datetime, .duration: 1
        case .isIpv4, .isIpv6, .isLoopback, .isMulticast, .toDate, .toTime: 1
        case .toMilliseconds, .toSeconds, .toMinutes, .toHours, .toDays: 1
        case .lessThan, .lessThanOrEqual, .greaterThan, .greaterThanOrEqual, .isInRange, .offset, .durationSince: 2
        }
    }
}

/// A parsed Cedar expression (the abstract syntax the evaluator walks).
indirect enum Expression: Sendable {
    case literal(CedarValue)
    case variable(Variable)
    case ifThenElse(Expression, Expression, Expression)
    /// Conjunction of two or more operands, evaluated left to right with short-circuit.
    case and([Expression])
    /// Disjunction of two or more operands, evaluated left to right with short-circuit.
    case or([Expression])
    case not(Expression)
    case negate(Expression)
    case binary(BinaryOperator, Expression, Expression)
    case hasAttribute(Expression, String)
    case getAttribute(Expression, String)
    case like(Expression, [PatternElement])
    case isType(Expression, String)
    case isEmpty(Expression)
    case set([Expression])
    case record([(String, Expression)])
    case call(ExtensionFunction, [Expression])
}
