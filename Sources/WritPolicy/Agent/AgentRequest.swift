/// A request made by an AI agent, in Writ's policy vocabulary (see `Docs/Policies.md`).
///
/// It becomes a Cedar ``PolicyRequest`` whose principal is `Agent::"<id>"` and an entity for that agent laid over the
/// caller's store:
///
/// - principal `Agent::"<id>"` with attributes `class` (String) and, when known, `supervisor` (entity), and
///   parent `AgentClass::"<class>"` — so `principal in AgentClass::"researcher"` works and is indexed;
/// - `context.intent` (String): what the agent declared it is trying to do;
/// - `context.task` (String) and `context.step` (String): the task and step the token was minted for;
/// - `context.token` (Record): `remainingSeconds` (Long), `delegationDepth` (Long, 0 for the root agent),
///   `audience` (String);
/// - `context.risk` (Record): `score` (Long, 0–100) and `signals` (Set of String);
/// - `context.approvals` (Set of String): checkpoint approvals already granted for this step;
/// - any `extra` entries, merged into the context (they cannot replace the keys above).
public struct AgentRequest: Sendable {
    /// Facts about the presented token.
    public struct TokenFacts: Sendable, Hashable {
        /// Seconds until the token expires.
        public var remainingSeconds: Int64
        /// How many delegation hops separate the holder from the root agent (0 for the root).
        public var delegationDepth: Int64
        /// The audience the token names.
        public var audience: String

        /// Creates token facts.
        public init(remainingSeconds: Int64, delegationDepth: Int64 = 0, audience: String) {
            self.remainingSeconds = remainingSeconds
            self.delegationDepth = delegationDepth
            self.audience = audience
        }
    }

    /// Risk signals computed by the host (anomaly detectors, rate limits, …).
    public struct RiskSignals: Sendable, Hashable {
        /// An overall score from 0 (none) to 100.
        public var score: Int64
        /// Named signals, such as `"denial-burst"` or `"outside-intent"`.
        public var signals: Set<String>

        /// Creates risk signals.
        public init(score: Int64 = 0, signals: Set<String> = []) {
            self.score = score
            self.signals = signals
        }

        /// No risk observed.
        public static let none = RiskSignals()
    }

    /// The agent's id (its SPIFFE-style identity URI, for example).
    public var agentID: String
    /// The agent class (`researcher`, `payments`, …).
    public var agentClass: String
    /// The supervising agent or user, when there is one.
    public var supervisor: EntityUID?
    /// The action (usually `Action::"…"`).
    public var action: EntityUID
    /// The resource acted upon.
    public var resource: EntityUID
    /// The declared intent.
    public var intent: String
    /// The task id.
    public var task: String
    /// The step id within the task.
    public var step: String
    /// Token facts.
    public var token: TokenFacts
    /// Risk signals.
    public var risk: RiskSignals
    /// Checkpoint approvals already granted for this step.
    public var approvals: Set<String>
    /// Further context entries (application facts such as an amount).
    public var extra: CedarRecord

    /// The entity type of agent principals.
    public static let agentType = "Agent"
    /// The entity type of agent classes (the agent entity's parent).
    public static let agentClassType = "AgentClass"

    /// Creates an agent request.
    public init(
        agentID: String,
        agentClass: String,
        supervisor: EntityUID? = nil,
        action: EntityUID,
        resource: EntityUID,
        intent: String,
        task: String,
        step: String,
        token: TokenFacts,
        risk: RiskSignals = .none,
        approvals: Set<String> = [],
        extra: CedarRecord = CedarRecord()
    ) {
        self.agentID = agentID
        self.agentClass = agentClass
        self.supervisor = supervisor
        self.action = action
        self.resource = resource
        self.intent = intent
        self.task = task
        self.step = step
        self.token = token
        self.risk = risk
        self.approvals = approvals
        self.extra = extra
    }

    /// The agent's entity identifier, `Agent::"<agentID>"`.
    public var principal: EntityUID { EntityUID(type: Self.agentType, id: agentID) }

    /// The agent entity: attributes `class` and `supervisor`, parent `AgentClass::"<class>"`.
    public var agentEntity: PolicyEntity {
        var attributes: [(String, CedarValue)] = [("class", .string(agentClass))]
        if let supervisor { attributes.append(("supervisor", .entity(supervisor))) }
        return PolicyEntity(
            uid: principal,
            attributes: CedarRecord(attributes),
            parents: [EntityUID(type: Self.agentClassType, id: agentClass)]
        )
    }

    private static func stringSet(_ strings: Set<String>) -> CedarValue {
        .set(CedarSet(distinct: strings.sorted().map(CedarValue.string)))
    }

    /// The context record in Writ's documented shape.
    public var context: CedarRecord {
        // Built directly in key order, so no sorting happens per request.
        let fixed: [(key: String, value: CedarValue)] = [
            ("approvals", Self.stringSet(approvals)),
            ("intent", .string(intent)),
            (
                "risk",
                .record(
                    CedarRecord(orderedEntries: [
                        ("score", .long(risk.score)), ("signals", Self.stringSet(risk.signals)),
                    ])
                )
            ),
            ("step", .string(step)),
            ("task", .string(task)),
            (
                "token",
                .record(
                    CedarRecord(orderedEntries: [
                        ("audience", .string(token.audience)), ("delegationDepth", .long(token.delegationDepth)),
                        ("remainingSeconds", .long(token.remainingSeconds)),
                    ])
                )
            ),
        ]
        if extra.count == 0 { return CedarRecord(orderedEntries: fixed) }
        var merged: [(key: String, value: CedarValue)] = []
        merged.reserveCapacity(fixed.count + extra.count)
        var f = 0
        for entry in extra.entries {
            while f < fixed.count, ScalarText.compare(fixed[f].key, entry.key) < 0 {
                merged.append(fixed[f])
                f += 1
            }
            if f < fixed.count, ScalarText.equal(fixed[f].key, entry.key) { continue }  // Writ's keys win.
            merged.append(entry)
        }
        merged.append(contentsOf: fixed[f...])
        return CedarRecord(orderedEntries: merged)
    }

    /// The Cedar request.
    public var cedarRequest: PolicyRequest {
        PolicyRequest(principal: principal, action: action, resource: resource, context: context)
    }
}

extension PolicySet {
    /// Evaluates an agent request: the agent entity is laid over `entities` for this request only.
    /// - Parameters:
    ///   - request: The agent request.
    ///   - entities: The shared store (resources, groups, supervisors, actions).
    /// - Returns: The Cedar decision; ``PolicyDecision/agentDecision`` reads it as allow, deny or re-authorise.
    public func evaluate(_ request: AgentRequest, entities: PolicyEntities) -> PolicyDecision {
        evaluate(request.cedarRequest, entities: entities.overlaying([request.agentEntity]))
    }
}
