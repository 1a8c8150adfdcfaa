import Testing
import WritPolicy

@Suite("Agent vocabulary and checkpoints")
struct AgentTests {
    static let policies = """
        // Research agents may read documents in their project, for a declared research intent.
        @id("research-read")
        permit(principal in AgentClass::"researcher", action == Action::"read", resource in Project::"atlas")
        when { context.intent == "summarise" || context.intent == "cite" };

        // Payment agents may pay.
        @id("payments")
        permit(principal in AgentClass::"payments", action == Action::"pay", resource);

        // Nothing with under 30 s of token life left, or delegated more than twice.
        @id("token-hygiene")
        forbid(principal is Agent, action, resource)
        when { context.token.remainingSeconds < 30 || context.token.delegationDepth > 2 };

        // High risk stops everything.
        @id("risk")
        forbid(principal, action, resource) when { context.risk.score >= 80 || context.risk.signals.contains("anomaly") };

        // Large payments need a human approval first.
        @id("large-payment")
        @checkpoint("payment over 1000 needs human approval")
        forbid(principal is Agent, action == Action::"pay", resource)
        when { context has amount && context.amount > 1000 }
        unless { context.approvals.contains("large-payment") };

        // Sub-agents must have a supervisor.
        @checkpoint("sub-agent without supervisor")
        forbid(principal is Agent, action, resource)
        when { context.token.delegationDepth > 0 && !(principal has supervisor) };
        """

    // Force-try is safe: fixed, valid literals.
    static let store = try! PolicyEntities([
        PolicyEntity(uid: EntityUID(type: "Document", id: "d1"), parents: [EntityUID(type: "Project", id: "atlas")]),
        PolicyEntity(uid: EntityUID(type: "Project", id: "atlas")),
    ])

    private func request(
        agentClass: String = "researcher",
        action: String = "read",
        resource: EntityUID = EntityUID(type: "Document", id: "d1"),
        intent: String = "summarise",
        remaining: Int64 = 300,
        depth: Int64 = 0,
        supervisor: EntityUID? = nil,
        risk: AgentRequest.RiskSignals = .none,
        approvals: Set<String> = [],
        extra: CedarRecord = CedarRecord()
    ) -> AgentRequest {
        AgentRequest(
            agentID: "spiffe://example.org/agent/\(agentClass)/1",
            agentClass: agentClass,
            supervisor: supervisor,
            action: EntityUID(type: "Action", id: action),
            resource: resource,
            intent: intent,
            task: "t-1",
            step: "s-1",
            token: .init(remainingSeconds: remaining, delegationDepth: depth, audience: "docs.example.org"),
            risk: risk,
            approvals: approvals,
            extra: extra
        )
    }

    private func decide(_ request: AgentRequest) throws -> PolicyDecision {
        try PolicySet(text: Self.policies).evaluate(request, entities: Self.store)
    }

    @Test("the agent's class is its parent, and intent is matched")
    func intent() throws {
        #expect(try decide(request()).agentDecision == .allow)
        #expect(try decide(request(intent: "exfiltrate")).agentDecision == .deny(reasons: []))
        #expect(try decide(request(agentClass: "payments")).agentDecision == .deny(reasons: []))
    }

    @Test("token facts and risk signals forbid")
    func tokenAndRisk() throws {
        #expect(try decide(request(remaining: 10)).agentDecision == .deny(reasons: ["policy2"]))
        #expect(
            try decide(request(depth: 3, supervisor: EntityUID(type: "Agent", id: "root"))).agentDecision
                == .deny(reasons: ["policy2"])
        )
        #expect(try decide(request(risk: .init(score: 90))).agentDecision == .deny(reasons: ["policy3"]))
        #expect(
            try decide(request(risk: .init(score: 10, signals: ["anomaly"]))).agentDecision
                == .deny(reasons: ["policy3"])
        )
    }

    @Test("a checkpoint asks for re-authorisation, with its reason and policy")
    func checkpoint() throws {
        let d = try decide(request(agentClass: "payments", action: "pay", extra: ["amount": 5000]))
        #expect(d.outcome == .deny)
        #expect(
            d.checkpoint
                == ReauthorizationCheckpoint(policy: "policy4", reason: "payment over 1000 needs human approval")
        )
        #expect(d.agentDecision == .reauthorize(reason: "payment over 1000 needs human approval", policy: "policy4"))
    }

    @Test("an approval in the context lifts the checkpoint")
    func approvalLifts() throws {
        let d = try decide(
            request(agentClass: "payments", action: "pay", approvals: ["large-payment"], extra: ["amount": 5000])
        )
        #expect(d.agentDecision == .allow)
        #expect(
            try decide(request(agentClass: "payments", action: "pay", extra: ["amount": 10])).agentDecision == .allow
        )
    }

    @Test("a plain forbid that also holds makes it a plain deny, not a checkpoint")
    func plainForbidWins() throws {
        let d = try decide(
            request(agentClass: "payments", action: "pay", risk: .init(score: 99), extra: ["amount": 5000])
        )
        #expect(d.checkpoint == nil)
        #expect(d.agentDecision == .deny(reasons: ["policy3", "policy4"]))
    }

    @Test("no checkpoint without a permit: re-authorising could not help")
    func noPermitNoCheckpoint() throws {
        let d = try decide(request(agentClass: "researcher", action: "pay", extra: ["amount": 5000]))
        #expect(d.checkpoint == nil)
        #expect(d.agentDecision == .deny(reasons: ["policy4"]))
    }

    @Test("the supervisor attribute is visible; a sub-agent without one hits a checkpoint")
    func supervisor() throws {
        #expect(
            try decide(request(depth: 1)).agentDecision
                == .reauthorize(reason: "sub-agent without supervisor", policy: "policy5")
        )
        #expect(try decide(request(depth: 1, supervisor: EntityUID(type: "Agent", id: "root"))).agentDecision == .allow)
    }

    @Test("the context shape is documented: intent, task, step, token, risk, approvals; extra cannot override them")
    func contextShape() {
        let r = request(extra: ["intent": "spoofed", "amount": 1])
        let context = r.context
        #expect(context["intent"] == "summarise")
        #expect(context["task"] == "t-1")
        #expect(context["step"] == "s-1")
        #expect(context["amount"] == 1)
        #expect(context["token"] == ["remainingSeconds": 300, "delegationDepth": 0, "audience": "docs.example.org"])
        #expect(context["risk"] == ["score": 0, "signals": []])
        #expect(context["approvals"] == [])
        #expect(r.agentEntity.parents == [EntityUID(type: "AgentClass", id: "researcher")])
        #expect(r.agentEntity.attributes["class"] == "researcher")
    }

    @Test("an overlaid agent entity replaces a stored one with the same id, for that request only")
    func overlay() throws {
        let uid = EntityUID(type: "Agent", id: "x")
        let base = try PolicyEntities([
            PolicyEntity(uid: uid, attributes: ["class": "old"]), PolicyEntity(uid: EntityUID(type: "G", id: "g")),
        ])
        let overlaid = base.overlaying([
            PolicyEntity(uid: uid, attributes: ["class": "new"], parents: [EntityUID(type: "G", id: "g")])
        ])
        #expect(overlaid[uid]?.attributes["class"] == "new")
        #expect(base[uid]?.attributes["class"] == "old")
        #expect(overlaid.isEntity(uid, in: EntityUID(type: "G", id: "g")))
        #expect(!base.isEntity(uid, in: EntityUID(type: "G", id: "g")))
    }
}
