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
/// a policy whose evaluation fails is skipped and reported in ``PolicyDecision/errors``. Policies are indexed by the
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
    public let policies: [CedarPolicy]
    private let compiled: [CompiledPolicy]
    private let index: ScopeIndex

    /// Parses and indexes Cedar policy text.
    /// - Parameters:
    ///   - text: Zero or more Cedar policies.
    ///   - limits: Size and nesting caps.
    /// - Throws: ``PolicyError`` with code `syntax` (with line and column), `limitExceeded` or
    ///   `invalidAnnotation`.
    public init(text: String, limits: Limits = .standard) throws(PolicyError) {
        guard text.utf8.count <= limits.maxTextBytes else {
            throw PolicyError(
                .limitExceeded,
                "policy text is \(text.utf8.count) bytes; the limit is \(limits.maxTextBytes)"
            )
        }
        var lexer = Lexer(text)
        var parser = Parser(tokens: try lexer.tokenize(), maxDepth: limits.maxNestingDepth)
        policies = try parser.parsePolicies()
        compiled = policies.map(CompiledPolicy.init)
        index = ScopeIndex(policies)
    }

    /// Evaluates a request.
    /// - Parameters:
    ///   - request: Principal, action, resource and context.
    ///   - entities: The entity store that attribute access and `in` consult.
    /// - Returns: The decision, with determining policies, evaluation errors and any checkpoint.
    public func evaluate(_ request: PolicyRequest, entities: PolicyEntities) -> PolicyDecision {
        let evaluator = Evaluator(request: request, entities: entities)
        // Candidates arrive in increasing position, so the id lists below are already in policy order.
        var permits: [PolicyID] = []
        var forbids: [PolicyID] = []
        var checkpoint: CompiledPolicy?
        var plainForbid = false
        var errors: [PolicyEvaluationError] = []
        for i in index.candidates(evaluator) {
            let policy = compiled[i]
            guard evaluator.scopeMatches(policy) else { continue }
            do throws(EvaluationFailure) {
                guard try evaluator.conditionsHold(policy) else { continue }
                if policy.isPermit {
                    permits.append(policy.id)
                } else {
                    forbids.append(policy.id)
                    if policy.checkpointReason == nil {
                        plainForbid = true
                    } else if checkpoint == nil {
                        checkpoint = policy
                    }
                }
            } catch {
                errors.append(PolicyEvaluationError(policy: policy.id, message: error.message))
            }
        }
        if !forbids.isEmpty {
            var reauthorize: ReauthorizationCheckpoint?
            if !plainForbid, !permits.isEmpty, let c = checkpoint {
                reauthorize = ReauthorizationCheckpoint(policy: c.id, reason: c.checkpointReason ?? "")
            }
            return PolicyDecision(outcome: .deny, reasons: forbids, errors: errors, checkpoint: reauthorize)
        }
        if !permits.isEmpty {
            return PolicyDecision(outcome: .allow, reasons: permits, errors: errors)
        }
        return PolicyDecision(outcome: .deny, reasons: [], errors: errors)
    }

    /// The number of policies.
    public var count: Int { policies.count }
}
