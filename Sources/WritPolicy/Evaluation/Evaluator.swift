/// Why an expression failed to evaluate. The policy is skipped and reported.
struct EvaluationFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Walks policy expressions for one request.
struct Evaluator {
    let request: PolicyRequest
    let entities: PolicyEntities
    /// The ancestors of the request's principal, action and resource, looked up once per request.
    let principalAncestors: Set<EntityUID>
    let actionAncestors: Set<EntityUID>
    let resourceAncestors: Set<EntityUID>

    init(request: PolicyRequest, entities: PolicyEntities) {
        self.request = request
        self.entities = entities
        principalAncestors = entities.ancestors(of: request.principal)
        actionAncestors = entities.ancestors(of: request.action)
        resourceAncestors = entities.ancestors(of: request.resource)
    }

    // MARK: Scope

    @inline(__always)
    private func matches(_ constraint: ScopeConstraint, _ uid: EntityUID, _ ancestors: Set<EntityUID>) -> Bool {
        switch constraint {
        case .any: true
        case .equal(let target): uid == target
        case .memberOf(let target): uid == target || ancestors.contains(target)
        case .memberOfAny(let targets): targets.contains { uid == $0 || ancestors.contains($0) }
        case .isType(let type): ScalarText.equal(uid.type, type)
        case .isTypeMemberOf(let type, let target):
            ScalarText.equal(uid.type, type) && (uid == target || ancestors.contains(target))
        }
    }

    /// Whether the policy's scope matches the request (scope checks never fail).
    @inline(__always)
    func scopeMatches(_ policy: CompiledPolicy) -> Bool {
        matches(policy.action, request.action, actionAncestors)
            && matches(policy.principal, request.principal, principalAncestors)
            && matches(policy.resource, request.resource, resourceAncestors)
    }

    /// Whether every `when` holds and every `unless` does not, in order, stopping at the first that fails.
    @inline(__always)
    func conditionsHold(_ policy: CompiledPolicy) throws(EvaluationFailure) -> Bool {
        for condition in policy.conditions {
            let value = try bool(condition.expression, "a condition")
            if value != condition.isWhen { return false }
        }
        return true
    }

    // MARK: Expressions

    private func typeError(_ expected: String, _ value: CedarValue) -> EvaluationFailure {
        EvaluationFailure("type error: expected \(expected), got \(value.typeName)")
    }

    @inline(__always)
    private func bool(_ expression: Expression, _ what: String) throws(EvaluationFailure) -> Bool {
        let value = try evaluate(expression)
        guard case .bool(let b) = value else { throw typeError("Bool for \(what)", value) }
        return b
    }

    @inline(__always)
    private func long(_ value: CedarValue) throws(EvaluationFailure) -> Int64 {
        guard case .long(let n) = value else { throw typeError("Long", value) }
        return n
    }

    private func set(_ value: CedarValue) throws(EvaluationFailure) -> CedarSet {
        guard case .set(let s) = value else { throw typeError("Set", value) }
        return s
    }

    private func entity(_ value: CedarValue) throws(EvaluationFailure) -> EntityUID {
        guard case .entity(let uid) = value else { throw typeError("entity", value) }
        return uid
    }

    private func string(_ value: CedarValue) throws(EvaluationFailure) -> String {
        guard case .string(let s) = value else { throw typeError("String", value) }
        return s
    }

    func evaluate(_ expression: Expression) throws(EvaluationFailure) -> CedarValue {
        switch expression {
        case .literal(let value):
            return value
        case .variable(let variable):
            switch variable {
            case .principal: return .entity(request.principal)
            case .action: return .entity(request.action)
            case .resource: return .entity(request.resource)
            case .context: return .record(request.context)
            }
        case .ifThenElse(let c, let t, let e):
            return try bool(c, "the 'if' condition") ? try evaluate(t) : try evaluate(e)
        case .and(let operands):
            for operand in operands where !(try bool(operand, "'&&'")) { return .bool(false) }
            return .bool(true)
        case .or(let operands):
            for operand in operands where try bool(operand, "'||'") { return .bool(true) }
            return .bool(false)
        case .not(let operand):
            return .bool(!(try bool(operand, "'!'")))
        case .negate(let operand):
            let n = try long(try evaluate(operand))
            guard n != .min else { throw EvaluationFailure("overflow: negation of \(n)") }
            return .long(-n)
        case .binary(let op, let lhs, let rhs):
            return try binary(op, try evaluate(lhs), try evaluate(rhs))
        case .hasAttribute(let target, let name):
            switch try evaluate(target) {
            case .record(let record): return .bool(record.contains(name))
            case .entity(let uid): return .bool(entities.lookup(uid)?.entity.attributes.contains(name) ?? false)
            case let other: throw typeError("entity or record for 'has'", other)
            }
        case .getAttribute(.variable(.context), let name):
            // The most common access: read the context record without wrapping it in a value first.
            guard let value = request.context[name] else {
                throw EvaluationFailure("record does not have the attribute `\(name)`")
            }
            return value
        case .getAttribute(let target, let name):
            switch try evaluate(target) {
            case .record(let record):
                guard let value = record[name] else {
                    throw EvaluationFailure("record does not have the attribute `\(name)`")
                }
                return value
            case .entity(let uid):
                guard let stored = entities.lookup(uid) else {
                    throw EvaluationFailure("entity \(uid) does not exist")
                }
                guard let value = stored.entity.attributes[name] else {
                    throw EvaluationFailure("\(uid) does not have the attribute `\(name)`")
                }
                return value
            case let other:
                throw typeError("entity or record for attribute access", other)
            }
        case .like(let target, let pattern):
            return .bool(Wildcard.matches(try string(try evaluate(target)), pattern))
        case .isType(let target, let type):
            return .bool(ScalarText.equal(try entity(try evaluate(target)).type, type))
        case .isEmpty(let target):
            return .bool(try set(try evaluate(target)).isEmpty)
        case .set(let elements):
            var values: [CedarValue] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try evaluate(element)) }
            return .set(CedarSet(values))
        case .record(let entries):
            var pairs: [(String, CedarValue)] = []
            pairs.reserveCapacity(entries.count)
            for (key, value) in entries { pairs.append((key, try evaluate(value))) }
            return .record(CedarRecord(pairs))
        case .call(let function, let arguments):
            var values: [CedarValue] = []
            values.reserveCapacity(arguments.count)
            for argument in arguments { values.append(try evaluate(argument)) }
            return try ExtensionCall.call(function, values)
        }
    }

    private func binary(_ op: BinaryOperator, _ a: CedarValue, _ b: CedarValue) throws(EvaluationFailure) -> CedarValue
    {
        switch op {
        case .equal:
            return .bool(a == b)
        case .less, .lessOrEqual:
            let strict = op == .less
            switch (a, b) {
            case (.long(let x), .long(let y)): return .bool(strict ? x < y : x <= y)
            case (.datetime(let x), .datetime(let y)): return .bool(strict ? x < y : x <= y)
            case (.duration(let x), .duration(let y)): return .bool(strict ? x < y : x <= y)
            default: throw EvaluationFailure("type error: cannot compare \(a.typeName) with \(b.typeName)")
            }
        case .add, .subtract, .multiply:
            let x = try long(a)
            let y = try long(b)
            let (result, overflow) =
                switch op {
                case .add: x.addingReportingOverflow(y)
                case .subtract: x.subtractingReportingOverflow(y)
                default: x.multipliedReportingOverflow(by: y)
                }
            guard !overflow else { throw EvaluationFailure("overflow: \(x) and \(y)") }
            return .long(result)
        case .memberOf:
            let uid = try entity(a)
            switch b {
            case .entity(let target):
                return .bool(entities.isEntity(uid, in: target))
            case .set(let targets):
                var targetUIDs: [EntityUID] = []
                targetUIDs.reserveCapacity(targets.count)
                for element in targets { targetUIDs.append(try entity(element)) }
                return .bool(targetUIDs.contains { entities.isEntity(uid, in: $0) })
            default:
                throw typeError("entity or set of entities on the right of 'in'", b)
            }
        case .contains:
            return .bool(try set(a).contains(b))
        case .containsAll:
            return .bool(try set(a).isSuperset(of: try set(b)))
        case .containsAny:
            return .bool(try set(a).intersects(try set(b)))
        case .hasTag:
            let uid = try entity(a)
            let key = try string(b)
            return .bool(entities.lookup(uid)?.entity.tags.contains(key) ?? false)
        case .getTag:
            let uid = try entity(a)
            let key = try string(b)
            guard let value = entities.lookup(uid)?.entity.tags[key] else {
                throw EvaluationFailure("\(uid) does not have the tag `\(key)`")
            }
            return value
        }
    }
}

/// Cedar `like` matching over Unicode scalars: `*` matches any run of scalars.
enum Wildcard {
    static func matches(_ text: String, _ pattern: [PatternElement]) -> Bool {
        let scalars = Array(text.unicodeScalars)
        var s = 0
        var p = 0
        var starP = -1
        var starS = 0
        while s < scalars.count {
            if p < pattern.count, case .scalar(let c) = pattern[p], c == scalars[s] {
                s += 1
                p += 1
            } else if p < pattern.count, pattern[p] == .wildcard {
                starP = p
                starS = s
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starS += 1
                s = starS
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == .wildcard { p += 1 }
        return p == pattern.count
    }
}
