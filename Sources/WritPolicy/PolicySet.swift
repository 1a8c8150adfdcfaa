/// An immutable, parsed set of Cedar policies, indexed by scope, evaluated synchronously per request.
///
/// ```swift
/// let policies = try PolicySet(text: """
///     permit(principal == User::"alice", action == Action::"view", resource in Album::"trip");
///     """)
/// let decision = policies.evaluate(request, entities: entities)
/// ```
///
/// Semantics are Cedar's: default deny; any satisfied `forbid` wins; otherwise any satisfied `permit` allows;
/// a policy whose evaluation fails is skipped and reported in ``Decision/errors``. Policies are indexed by the
/// entities their scope names (principal `==`, resource `==`, action, principal/resource `in`), so a request
/// only evaluates the policies whose scope could match it.
public struct PolicySet: Sendable {
    /// Caps that keep hostile policy text from exhausting memory or the stack.
    public struct Limits: Sendable {
        /// Largest accepted policy text, in UTF-8 bytes.
        public var maxTextBytes: Int
        /// Deepest accepted expression nesting.
        public var maxNestingDepth: Int

        /// Creates limits.
        public init(maxTextBytes: Int = 8 << 20, maxNestingDepth: Int = 64) {
            self.maxTextBytes = maxTextBytes
            self.maxNestingDepth = maxNestingDepth
        }

        /// The defaults: 8 MiB of text, nesting depth 64.
        public static let standard = Limits()
    }

    /// The policies, in text order (`policies[i].id == "policy\(i)"`).
    public let policies: [Policy]
    private let index: ScopeIndex

    /// Parses and indexes Cedar policy text.
    /// - Parameters:
    ///   - text: Zero or more Cedar policies.
    ///   - limits: Size and nesting caps.
    /// - Throws: ``PolicyError`` with code `syntax` (with line and column), `limitExceeded` or
    ///   `invalidAnnotation`.
    public init(text: String, limits: Limits = .standard) throws(PolicyError) {
        guard text.utf8.count <= limits.maxTextBytes else {
            throw PolicyError(.limitExceeded, "policy text is \(text.utf8.count) bytes; the limit is \(limits.maxTextBytes)")
        }
        var lexer = Lexer(text)
        var parser = Parser(tokens: try lexer.tokenize(), maxDepth: limits.maxNestingDepth)
        policies = try parser.parsePolicies()
        index = ScopeIndex(policies)
    }

    /// Evaluates a request.
    /// - Parameters:
    ///   - request: Principal, action, resource and context.
    ///   - entities: The entity store that attribute access and `in` consult.
    /// - Returns: The decision, with determining policies, evaluation errors and any checkpoint.
    public func evaluate(_ request: Request, entities: Entities) -> Decision {
        let evaluator = Evaluator(request: request, entities: entities)
        var permits: [Int] = []
        var forbids: [Int] = []
        var checkpointIndex: Int?
        var plainForbid = false
        var errors: [EvaluationError] = []
        index.forEachCandidate(request, entities) { i in
            let policy = policies[i]
            guard evaluator.scopeMatches(policy) else { return }
            do throws(EvaluationFailure) {
                guard try evaluator.conditionsHold(policy) else { return }
                if policy.effect == .permit {
                    permits.append(i)
                } else {
                    forbids.append(i)
                    if policy.checkpointReason != nil {
                        if checkpointIndex.map({ i < $0 }) ?? true { checkpointIndex = i }
                    } else {
                        plainForbid = true
                    }
                }
            } catch {
                errors.append(EvaluationError(policy: policy.id, message: error.message))
            }
        }
        if errors.count > 1 { errors.sort { $0.policy < $1.policy } }
        if !forbids.isEmpty {
            var checkpoint: Checkpoint?
            if !plainForbid, !permits.isEmpty, let c = checkpointIndex {
                checkpoint = Checkpoint(policy: policies[c].id, reason: policies[c].checkpointReason ?? "")
            }
            return Decision(outcome: .deny, reasons: forbids.sorted().map { policies[$0].id }, errors: errors, checkpoint: checkpoint)
        }
        if !permits.isEmpty {
            return Decision(outcome: .allow, reasons: permits.sorted().map { policies[$0].id }, errors: errors)
        }
        return Decision(outcome: .deny, reasons: [], errors: errors)
    }

    /// The number of policies.
    public var count: Int { policies.count }
}
