import Writ

/// A realistic agent policy set: four global policies (token hygiene, risk, sub-agent supervision, a delete
/// checkpoint) and, per project, four policies (researchers read/list with a research intent, writers write
/// drafts with enough token life, the project's own agent works on its task, exports need an approval).
///
/// `Benchmarks/Peers/cedarpy_compare.py` generates the same text for the cedarpy comparison.
enum PolicyWorkload {
    static func policyText(count: Int) -> String {
        var policies = [
            """
            @id("token-hygiene")
            forbid(principal is Agent, action, resource)
            when { context.token.remainingSeconds < 30 || context.token.delegationDepth > 2 };
            """,
            """
            @id("risk")
            forbid(principal, action, resource) when { context.risk.score >= 80 || context.risk.signals.contains("anomaly") };
            """,
            """
            @checkpoint("sub-agent without supervisor")
            forbid(principal is Agent, action, resource)
            when { context.token.delegationDepth > 0 && !(principal has supervisor) };
            """,
            """
            @checkpoint("deletion needs approval")
            forbid(principal, action == Action::"delete", resource) unless { context.approvals.contains("delete") };
            """,
        ]
        var i = 0
        while policies.count < count {
            let project = i / 4
            switch i % 4 {
            case 0:
                policies.append(
                    """
                    permit(principal in AgentClass::"researcher", action in [Action::"read", Action::"list"], resource in Project::"p\(project)")
                    when { context.intent == "summarise" || context.intent == "cite" };
                    """
                )
            case 1:
                policies.append(
                    """
                    permit(principal in AgentClass::"writer", action == Action::"write", resource in Project::"p\(project)")
                    when { context.token.remainingSeconds > 60 && context.step like "draft-*" };
                    """
                )
            case 2:
                policies.append(
                    """
                    permit(principal == Agent::"agent-\(project)", action, resource in Project::"p\(project)")
                    when { context.task == "task-\(project)" };
                    """
                )
            default:
                policies.append(
                    """
                    @checkpoint("export of p\(project) needs approval")
                    forbid(principal, action == Action::"export", resource in Project::"p\(project)")
                    unless { context.approvals.contains("export-p\(project)") };
                    """
                )
            }
            i += 1
        }
        return policies.joined(separator: "\n")
    }

    /// Projects, one folder and one document per project, and the two agent classes.
    static func entities(count: Int) throws -> PolicyEntities {
        let projects = max(1, (count - 4 + 3) / 4)
        var list = [
            PolicyEntity(uid: EntityUID(type: "AgentClass", id: "researcher")),
            PolicyEntity(uid: EntityUID(type: "AgentClass", id: "writer")),
        ]
        for p in 0..<projects {
            list.append(PolicyEntity(uid: EntityUID(type: "Project", id: "p\(p)")))
            list.append(
                PolicyEntity(
                    uid: EntityUID(type: "Folder", id: "f\(p)"),
                    parents: [EntityUID(type: "Project", id: "p\(p)")]
                )
            )
            list.append(
                PolicyEntity(
                    uid: EntityUID(type: "Document", id: "d\(p)"),
                    attributes: ["owner": "team-\(p)"],
                    parents: [EntityUID(type: "Folder", id: "f\(p)")]
                )
            )
        }
        return try PolicyEntities(list)
    }

    /// Four requests in rotation: a researcher reads (allow), a writer writes a draft (allow), the project's own
    /// agent exports (re-authorise), a researcher reads under high risk (deny). All target the middle one of the projects that have all four policies.
    static func requests(count: Int) -> [AgentRequest] {
        let completeProjects = max(1, (count - 4) / 4)
        let p = completeProjects / 2
        let doc = EntityUID(type: "Document", id: "d\(p)")
        let token = AgentRequest.TokenFacts(remainingSeconds: 300, delegationDepth: 0, audience: "docs.example.org")
        return [
            AgentRequest(
                agentID: "r-1",
                agentClass: "researcher",
                action: EntityUID(type: "Action", id: "read"),
                resource: doc,
                intent: "summarise",
                task: "task-x",
                step: "read-1",
                token: token
            ),
            AgentRequest(
                agentID: "w-1",
                agentClass: "writer",
                action: EntityUID(type: "Action", id: "write"),
                resource: doc,
                intent: "edit",
                task: "task-y",
                step: "draft-2",
                token: token
            ),
            AgentRequest(
                agentID: "agent-\(p)",
                agentClass: "writer",
                action: EntityUID(type: "Action", id: "export"),
                resource: doc,
                intent: "publish",
                task: "task-\(p)",
                step: "export-1",
                token: token
            ),
            AgentRequest(
                agentID: "r-2",
                agentClass: "researcher",
                action: EntityUID(type: "Action", id: "read"),
                resource: doc,
                intent: "summarise",
                task: "task-x",
                step: "read-1",
                token: token,
                risk: .init(score: 95)
            ),
        ]
    }
}
