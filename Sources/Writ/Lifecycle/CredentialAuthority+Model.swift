public import WritCrypto
public import WritIdentity

extension CredentialAuthority {
    /// What the authority revokes when an anomaly is reported.
    public enum AnomalyResponse: String, Hashable, Sendable {
        /// The presented token's last block (and so everything delegated from it).
        case revokeToken = "token"
        /// The agent that presented it: none of its tokens work any more.
        case revokeAgent = "agent"
        /// The whole task the token belongs to.
        case revokeTask = "task"
    }

    /// A registered agent.
    public struct Agent: Sendable, Hashable {
        /// Its identity.
        public let identity: AgentIdentity
        /// The key its tokens are bound to.
        public let publicKey: Ed25519.PublicKey
        /// Its class.
        public let agentClass: AgentClass
        /// The supervising agent, for sub-agents.
        public let supervisor: AgentIdentity?
        /// Whether the agent has been revoked.
        public internal(set) var isRevoked: Bool
    }

    /// The state of a task.
    public enum TaskState: String, Sendable, Hashable, Codable {
        /// Steps may be minted and refreshed.
        case open
        /// Finished; its tokens are revoked.
        case completed
        /// Handed off to another objective; its tokens are revoked.
        case handedOff = "handed-off"
        /// Its deadline passed; its tokens are revoked.
        case timedOut = "timed-out"
        /// Revoked by an operator or an anomaly response.
        case revoked
    }

    /// A task as the authority tracks it.
    public struct TaskInfo: Sendable, Hashable {
        /// The task id.
        public let id: String
        /// The agent it belongs to.
        public let agent: AgentIdentity
        /// What the task is for, in words.
        public let objective: String
        /// The declared intent carried in its tokens (e.g. `fix-bug`).
        public let intent: String
        /// When it must be done.
        public let deadline: Timestamp
        /// Its state.
        public internal(set) var state: TaskState
        /// Its steps, by name.
        public internal(set) var steps: [String: StepInfo]
        /// The task this one was handed off to, if any.
        public internal(set) var handedOffTo: String?
        /// The latest expiry of any token issued for the task (what a task revocation must cover).
        public internal(set) var latestExpiry: Timestamp?
        /// The steps planned when the task was opened, by name; `nil` when the task was opened without a plan.
        /// With a plan, only planned steps can be issued, and only within their planned grant.
        public internal(set) var plan: [String: StepGrant]?

        init(_ record: TaskRecord, steps: [StepRecord]) {
            id = record.id
            agent = record.agent
            objective = record.objective
            intent = record.intent
            deadline = record.deadline
            state = record.state
            handedOffTo = record.handedOffTo
            latestExpiry = record.latestExpiry
            plan = record.plan.map { Dictionary($0.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }) }
            var byName: [String: StepInfo] = [:]
            for step in steps {
                byName[step.name] = StepInfo(
                    grant: step.grant,
                    number: step.number,
                    live: record.state == .open ? step.live : nil,
                    refreshCount: step.refreshCount
                )
            }
            self.steps = byName
        }
    }

    /// One step of a task.
    public struct StepInfo: Sendable, Hashable {
        /// What the step was granted.
        public let grant: StepGrant
        /// The step number carried in its tokens: distinct within the task and increasing in the order numbers
        /// are taken (1, 2, …). A number can be skipped when two replicas issue the same new step at once.
        public let number: UInt64
        /// The live token, if any.
        public internal(set) var live: IssuedToken?
        /// Refreshes so far.
        public internal(set) var refreshCount: Int
    }
}
