/// A decision in the agent vocabulary: allow, deny, or re-authorise first.
public enum AgentDecision: Hashable, Sendable {
    /// Allowed.
    case allow
    /// Denied; `reasons` are the satisfied forbids (empty when no permit applied).
    case deny(reasons: [PolicyID])
    /// Denied only by a re-authorisation checkpoint: obtain the approval named by `reason`, then retry with it
    /// in `context.approvals`.
    case reauthorize(reason: String, policy: PolicyID)

    /// Reads a Cedar decision in the agent vocabulary.
    public init(_ decision: PolicyDecision) {
        if decision.isAllowed {
            self = .allow
        } else if let checkpoint = decision.checkpoint {
            self = .reauthorize(reason: checkpoint.reason, policy: checkpoint.policy)
        } else {
            self = .deny(reasons: decision.reasons)
        }
    }
}

extension PolicyDecision {
    /// This decision in the agent vocabulary.
    public var agentDecision: AgentDecision { AgentDecision(self) }
}
