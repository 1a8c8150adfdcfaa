public import WritCrypto
public import WritIdentity
import WritTokens

/// A registered agent as an ``AuthorityStore`` keeps it.
///
/// Stable field names: `identity`, `public_key` (base64url of the raw Ed25519 key), `agent_class`, `supervisor`,
/// `revoked`, `version`.
public struct AgentRecord: Hashable, Sendable, Codable {
    /// The agent's identity (the record's key).
    public var identity: AgentIdentity
    /// The key its tokens are bound to.
    public var publicKey: Ed25519.PublicKey
    /// Its class's name.
    public var agentClass: String
    /// The supervising agent, for sub-agents.
    public var supervisor: AgentIdentity?
    /// Whether the agent was revoked (it then never gets tokens or a registration again).
    public var isRevoked: Bool
    /// The record's version in its store (1 once inserted; each update adds 1).
    public var version: UInt64

    /// Creates a record.
    public init(
        identity: AgentIdentity,
        publicKey: Ed25519.PublicKey,
        agentClass: String,
        supervisor: AgentIdentity?,
        isRevoked: Bool,
        version: UInt64 = 0
    ) {
        self.identity = identity
        self.publicKey = publicKey
        self.agentClass = agentClass
        self.supervisor = supervisor
        self.isRevoked = isRevoked
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case identity
        case publicKey = "public_key"
        case agentClass = "agent_class"
        case supervisor
        case isRevoked = "revoked"
        case version
    }

    /// Decodes the stable field names.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        identity = try c.decode(AgentIdentity.self, forKey: .identity)
        let key = try c.decode(String.self, forKey: .publicKey)
        guard let raw = Base64URL.decode(key) else {
            throw DecodingError.dataCorruptedError(forKey: .publicKey, in: c, debugDescription: "not base64url")
        }
        publicKey = try Ed25519.PublicKey(rawRepresentation: raw)
        agentClass = try c.decode(String.self, forKey: .agentClass)
        supervisor = try c.decodeIfPresent(AgentIdentity.self, forKey: .supervisor)
        isRevoked = try c.decode(Bool.self, forKey: .isRevoked)
        version = try c.decode(UInt64.self, forKey: .version)
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(identity, forKey: .identity)
        try c.encode(Base64URL.encode(publicKey.rawRepresentation), forKey: .publicKey)
        try c.encode(agentClass, forKey: .agentClass)
        try c.encodeIfPresent(supervisor, forKey: .supervisor)
        try c.encode(isRevoked, forKey: .isRevoked)
        try c.encode(version, forKey: .version)
    }
}

/// A task as an ``AuthorityStore`` keeps it (its steps are separate ``StepRecord``s).
///
/// Stable field names: `id`, `agent`, `objective`, `intent`, `deadline_ms`, `state`, `plan`, `handed_off_to`,
/// `latest_expiry_ms`, `next_step_number`, `version`. Times are milliseconds since the epoch.
public struct TaskRecord: Hashable, Sendable, Codable {
    /// The task id (the record's key).
    public var id: String
    /// The agent it belongs to.
    public var agent: AgentIdentity
    /// What the task is for, in words.
    public var objective: String
    /// The declared intent carried in its tokens.
    public var intent: String
    /// When it must be done.
    public var deadline: Timestamp
    /// Its state.
    public var state: CredentialAuthority.TaskState
    /// The planned steps, ordered by name; `nil` when the task was opened without a plan.
    public var plan: [StepGrant]?
    /// The task this one was handed off to, if any.
    public var handedOffTo: String?
    /// The latest expiry of any token issued for the task (what a task revocation must cover).
    public var latestExpiry: Timestamp?
    /// The step number the next new step gets.
    public var nextStepNumber: UInt64
    /// The record's version in its store (1 once inserted; each update adds 1).
    public var version: UInt64

    /// Creates a record.
    public init(
        id: String,
        agent: AgentIdentity,
        objective: String,
        intent: String,
        deadline: Timestamp,
        state: CredentialAuthority.TaskState = .open,
        plan: [StepGrant]? = nil,
        handedOffTo: String? = nil,
        latestExpiry: Timestamp? = nil,
        nextStepNumber: UInt64 = 1,
        version: UInt64 = 0
    ) {
        self.id = id
        self.agent = agent
        self.objective = objective
        self.intent = intent
        self.deadline = deadline
        self.state = state
        self.plan = plan
        self.handedOffTo = handedOffTo
        self.latestExpiry = latestExpiry
        self.nextStepNumber = nextStepNumber
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case id
        case agent
        case objective
        case intent
        case deadline = "deadline_ms"
        case state
        case plan
        case handedOffTo = "handed_off_to"
        case latestExpiry = "latest_expiry_ms"
        case nextStepNumber = "next_step_number"
        case version
    }

    /// Decodes the stable field names.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        agent = try c.decode(AgentIdentity.self, forKey: .agent)
        objective = try c.decode(String.self, forKey: .objective)
        intent = try c.decode(String.self, forKey: .intent)
        deadline = Timestamp(millisecondsSinceEpoch: try c.decode(Int64.self, forKey: .deadline))
        state = try c.decode(CredentialAuthority.TaskState.self, forKey: .state)
        plan = try c.decodeIfPresent([StepGrant].self, forKey: .plan)
        handedOffTo = try c.decodeIfPresent(String.self, forKey: .handedOffTo)
        latestExpiry = try c.decodeIfPresent(Int64.self, forKey: .latestExpiry).map {
            Timestamp(millisecondsSinceEpoch: $0)
        }
        nextStepNumber = try c.decode(UInt64.self, forKey: .nextStepNumber)
        version = try c.decode(UInt64.self, forKey: .version)
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(agent, forKey: .agent)
        try c.encode(objective, forKey: .objective)
        try c.encode(intent, forKey: .intent)
        try c.encode(deadline.millisecondsSinceEpoch, forKey: .deadline)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(plan, forKey: .plan)
        try c.encodeIfPresent(handedOffTo, forKey: .handedOffTo)
        try c.encodeIfPresent(latestExpiry?.millisecondsSinceEpoch, forKey: .latestExpiry)
        try c.encode(nextStepNumber, forKey: .nextStepNumber)
        try c.encode(version, forKey: .version)
    }
}

/// One step of a task as an ``AuthorityStore`` keeps it: its grant, number, live token and refresh count.
///
/// The live token is kept whole (its text form), so a restarted authority can refresh it, revoke it, or hand
/// it out again. Stable field names: `task`, `name`, `grant`, `number`, `live`, `refresh_count`, `version`.
public struct StepRecord: Hashable, Sendable, Codable {
    /// The task the step belongs to.
    public var taskID: String
    /// The step's name, unique within its task.
    public var name: String
    /// What the step was granted.
    public var grant: StepGrant
    /// The step number carried in its tokens.
    public var number: UInt64
    /// The live token, if any: at most one per step.
    public var live: IssuedToken?
    /// Refreshes so far (kept when the step is completed and issued again).
    public var refreshCount: Int
    /// The record's version in its store (1 once inserted; each update adds 1).
    public var version: UInt64

    /// Creates a record.
    public init(
        taskID: String,
        name: String,
        grant: StepGrant,
        number: UInt64,
        live: IssuedToken?,
        refreshCount: Int,
        version: UInt64 = 0
    ) {
        self.taskID = taskID
        self.name = name
        self.grant = grant
        self.number = number
        self.live = live
        self.refreshCount = refreshCount
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task"
        case name
        case grant
        case number
        case live
        case refreshCount = "refresh_count"
        case version
    }
}

/// Anomaly memory: a token id that already had an anomaly, so a second one escalates.
///
/// Stable field names: `token_id`, `first_seen_ms`, `version`.
public struct AnomalyRecord: Hashable, Sendable, Codable {
    /// The token's id (the record's key).
    public var tokenID: String
    /// When its first anomaly was reported.
    public var firstSeen: Timestamp
    /// The record's version in its store (1 once inserted).
    public var version: UInt64

    /// Creates a record.
    public init(tokenID: String, firstSeen: Timestamp, version: UInt64 = 0) {
        self.tokenID = tokenID
        self.firstSeen = firstSeen
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case tokenID = "token_id"
        case firstSeen = "first_seen_ms"
        case version
    }

    /// Decodes the stable field names.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tokenID = try c.decode(String.self, forKey: .tokenID)
        firstSeen = Timestamp(millisecondsSinceEpoch: try c.decode(Int64.self, forKey: .firstSeen))
        version = try c.decode(UInt64.self, forKey: .version)
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tokenID, forKey: .tokenID)
        try c.encode(firstSeen.millisecondsSinceEpoch, forKey: .firstSeen)
        try c.encode(version, forKey: .version)
    }
}

extension IssuedToken: Codable {
    enum CodingKeys: String, CodingKey {
        case token
        case tokenID = "token_id"
        case taskID = "task"
        case step
        case issuedAt = "issued_at_ms"
        case expiresAt = "expires_at_ms"
        case refreshCount = "refresh_count"
    }

    /// Decodes the stable field names; the token from its text form (`token_id` is informational).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            token: try CapabilityToken(text: try c.decode(String.self, forKey: .token)),
            taskID: try c.decode(String.self, forKey: .taskID),
            step: try c.decode(String.self, forKey: .step),
            issuedAt: Timestamp(millisecondsSinceEpoch: try c.decode(Int64.self, forKey: .issuedAt)),
            expiresAt: Timestamp(millisecondsSinceEpoch: try c.decode(Int64.self, forKey: .expiresAt)),
            refreshCount: try c.decode(Int.self, forKey: .refreshCount)
        )
    }

    /// Encodes the stable field names: the token's text form and its id, times as milliseconds since the epoch.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(token.text, forKey: .token)
        try c.encode(token.id.description, forKey: .tokenID)
        try c.encode(taskID, forKey: .taskID)
        try c.encode(step, forKey: .step)
        try c.encode(issuedAt.millisecondsSinceEpoch, forKey: .issuedAt)
        try c.encode(expiresAt.millisecondsSinceEpoch, forKey: .expiresAt)
        try c.encode(refreshCount, forKey: .refreshCount)
    }
}

extension StepGrant: Codable {
    enum CodingKeys: String, CodingKey {
        case name
        case audience
        case actions
        case resources
        case durationSeconds = "duration_s"
        case durationAttoseconds = "duration_as"
    }

    /// Decodes the stable field names (`duration_s` and `duration_as` together give the exact duration).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var duration: Duration?
        if let seconds = try c.decodeIfPresent(Int64.self, forKey: .durationSeconds) {
            let attoseconds = try c.decodeIfPresent(Int64.self, forKey: .durationAttoseconds) ?? 0
            duration = Duration(secondsComponent: seconds, attosecondsComponent: attoseconds)
        }
        self.init(
            name: try c.decode(String.self, forKey: .name),
            audience: try c.decode(String.self, forKey: .audience),
            actions: try c.decode([String].self, forKey: .actions),
            resources: try c.decode([ResourcePattern].self, forKey: .resources),
            duration: duration
        )
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(audience, forKey: .audience)
        try c.encode(actions, forKey: .actions)
        try c.encode(resources, forKey: .resources)
        if let duration {
            try c.encode(duration.components.seconds, forKey: .durationSeconds)
            try c.encode(duration.components.attoseconds, forKey: .durationAttoseconds)
        }
    }
}
