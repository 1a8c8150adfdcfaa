/// The identifier of a policy within a ``PolicySet``: `policy0`, `policy1`, … by position in the text, as
/// Cedar and cedarpy assign them. An `@id` annotation does not change it.
public struct PolicyID: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The id text.
    public let rawValue: String

    /// Wraps an id.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// Wraps an id literal.
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }

    public static func < (lhs: PolicyID, rhs: PolicyID) -> Bool {
        // policy2 < policy10: compare numeric suffixes when both have one.
        if let a = lhs.position, let b = rhs.position { return a < b }
        return lhs.rawValue < rhs.rawValue
    }

    private var position: Int? {
        guard rawValue.hasPrefix("policy") else { return nil }
        return Int(rawValue.dropFirst(6))
    }
}

/// Whether a satisfied policy allows or forbids.
public enum PolicyEffect: String, Hashable, Sendable {
    /// The policy allows the request when satisfied.
    case permit
    /// The policy denies the request when satisfied; forbids override permits.
    case forbid
}

/// The constraint a policy places on one request variable in its scope.
public enum ScopeConstraint: Hashable, Sendable {
    /// No constraint.
    case any
    /// The variable equals this entity.
    case equal(EntityUID)
    /// The variable is this entity or a descendant of it.
    case memberOf(EntityUID)
    /// The variable is this entity or a descendant of one of these (action scope only).
    case memberOfAny([EntityUID])
    /// The variable has this entity type.
    case isType(String)
    /// The variable has this entity type and is (a descendant of) this entity.
    case isTypeMemberOf(String, EntityUID)
}

/// One parsed policy.
public struct CedarPolicy: Sendable {
    /// Its id in the set (`policy0`, …).
    public let id: PolicyID
    /// `permit` or `forbid`.
    public let effect: PolicyEffect
    /// Annotations in source order (`@id("x")` gives `("id", "x")`; `@flag` gives `("flag", "")`).
    public let annotations: [(key: String, value: String)]
    /// The principal scope.
    public let principal: ScopeConstraint
    /// The action scope.
    public let action: ScopeConstraint
    /// The resource scope.
    public let resource: ScopeConstraint
    /// `when` (true) and `unless` (false) conditions, in order.
    let conditions: [(isWhen: Bool, expression: Expression)]
    /// Where the policy starts in the text (1-based line).
    public let line: Int

    /// The value of an annotation, or `nil`.
    public func annotation(_ key: String) -> String? {
        annotations.first { $0.key == key }?.value
    }

    /// The reason of a `@checkpoint("reason")` annotation on a `forbid`, or `nil` for ordinary policies.
    public var checkpointReason: String? {
        effect == .forbid ? annotation(ReauthorizationCheckpoint.annotationKey) : nil
    }
}

/// The evaluator's view of a policy: a reference, so the hot loop never copies the policy's fields, with the
/// checkpoint reason resolved once.
final class CompiledPolicy: Sendable {
    let id: PolicyID
    let isPermit: Bool
    let principal: ScopeConstraint
    let action: ScopeConstraint
    let resource: ScopeConstraint
    let conditions: [(isWhen: Bool, expression: Expression)]
    let checkpointReason: String?

    init(_ policy: CedarPolicy) {
        id = policy.id
        isPermit = policy.effect == .permit
        principal = policy.principal
        action = policy.action
        resource = policy.resource
        conditions = policy.conditions
        checkpointReason = policy.checkpointReason
    }
}
