/// The result of evaluating a request against a ``PolicySet``.
///
/// Cedar semantics: a satisfied `forbid` denies; otherwise a satisfied `permit` allows; otherwise deny.
/// ``reasons`` names the policies that determined the outcome; ``errors`` names policies skipped because
/// their evaluation failed.
public struct PolicyDecision: Hashable, Sendable {
    /// Allow or deny.
    public enum Outcome: String, Hashable, Sendable {
        /// Some permit held and no forbid held.
        case allow
        /// A forbid held, or no permit did.
        case deny
    }

    /// The outcome.
    public let outcome: Outcome
    /// The determining policies: the satisfied forbids on deny, the satisfied permits on allow (by position).
    public let reasons: [PolicyID]
    /// Policies whose evaluation failed (and which were therefore skipped).
    public let errors: [PolicyEvaluationError]
    /// Set when the deny comes only from `@checkpoint` forbids while a permit held: the agent must re-authorise
    /// (obtain the approval the checkpoint names) rather than treat this as a refusal.
    public let checkpoint: ReauthorizationCheckpoint?

    /// Whether the request is allowed.
    public var isAllowed: Bool { outcome == .allow }

    /// Creates a decision.
    public init(
        outcome: Outcome,
        reasons: [PolicyID],
        errors: [PolicyEvaluationError],
        checkpoint: ReauthorizationCheckpoint? = nil
    ) {
        self.outcome = outcome
        self.reasons = reasons
        self.errors = errors
        self.checkpoint = checkpoint
    }
}

/// A policy skipped because its evaluation failed (type error, missing attribute, overflow, …).
public struct PolicyEvaluationError: Hashable, Sendable, CustomStringConvertible {
    /// The policy that failed.
    public let policy: PolicyID
    /// What failed.
    public let message: String

    /// Creates an evaluation error report.
    public init(policy: PolicyID, message: String) {
        self.policy = policy
        self.message = message
    }

    public var description: String { "\(policy): \(message)" }
}

/// A re-authorisation checkpoint: a satisfied `forbid` annotated `@checkpoint("reason")`.
public struct ReauthorizationCheckpoint: Hashable, Sendable {
    /// The annotation key that marks a checkpoint forbid.
    public static let annotationKey = "checkpoint"

    /// The checkpoint policy.
    public let policy: PolicyID
    /// The annotation's reason text.
    public let reason: String

    /// Creates a checkpoint.
    public init(policy: PolicyID, reason: String) {
        self.policy = policy
        self.reason = reason
    }
}
