#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// Per-step tokens: the task opens and its first step gets a narrow, short-lived token; a write with it is denied,
    /// and a step beyond the class's entitlements is refused. Returns the task.
    func stepTokens(_ cast: Cast) async throws -> String {
        let planner = cast.planner
        let provider = cast.provider
        let repo = deployment.repo
        report.begin("Task: \"Fix bug #42 and refund the affected customer\" — one narrow token per step")
        let task = try await authority.openTask(
            for: planner.identity,
            objective: "Fix bug #42 and refund the affected customer",
            intent: "fix-bug",
            deadline: .seconds(300)
        )
        report.taskIDs.append(task)
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "read-code",
                audience: "repo",
                actions: ["read"],
                resources: ["repo/writ/*"],
                duration: .seconds(5)
            )
        )
        let life = await provider.expiresAt.map { clock.now().duration(to: $0) } ?? .zero
        report.expect("step token minted for repo: read repo/writ/*", life == .seconds(5), "TTL \(life)")
        try await expectAllowed(
            "planner reads repo/writ/src/Parser.swift",
            provider,
            repo,
            "read",
            "repo/writ/src/Parser.swift"
        )
        try await expectDenied(
            "planner tries to write with a read-only step token",
            provider,
            repo,
            "write",
            "repo/writ/src/Parser.swift",
            code: .tokenRejected
        )
        let notEntitled = await attempt {
            try await authority.issue(
                task: task,
                step: StepGrant(name: "grab", audience: "repo", actions: ["delete"], resources: ["repo/*"])
            )
        }
        report.expect("a step asking beyond the class's entitlements is refused", notEntitled != nil, notEntitled ?? "")
        return task
    }
}
#endif
