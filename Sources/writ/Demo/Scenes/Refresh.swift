#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// Refresh: a long step on short tokens, refreshed before expiry; the superseded token is denied.
    func refresh(_ cast: Cast, task: String) async throws {
        let planner = cast.planner
        let provider = cast.provider
        let repo = deployment.repo
        report.begin("Long step: the token refreshes before expiry (single-flight, capped, audited)")
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "run-tests",
                audience: "repo",
                actions: ["read", "write"],
                resources: ["repo/writ/*"],
                duration: .seconds(4)
            )
        )
        let firstTestToken = try await authority.task(task)?.steps["run-tests"]?.live?.token
        var allAllowed = true
        for second in stride(from: 2, through: 10, by: 2) {
            clock.advance(by: .seconds(2))
            try await deployment.syncAll()
            let decision = try await call(provider, repo, "write", "repo/writ/Tests/run-\(second).log")
            allAllowed = allAllowed && decision.isAllowed
        }
        let refreshes = await provider.refreshes
        report.expect("10 s of work on 4 s tokens: every call allowed", allAllowed, "\(refreshes) proactive refreshes")
        let currentID = await provider.tokenID
        report.expect(
            "refreshed before expiry, one live token per step",
            refreshes >= 2 && currentID != firstTestToken?.id
        )
        if let old = firstTestToken {
            let request = TokenRequest(audience: "repo", action: "read", resource: "repo/writ/README")
            let proof = ProofOfPossession.sign(token: old, request: request, holderKey: planner.key, at: clock.now())
            let decision = await repo.gatekeeper.authorize(
                Gatekeeper.Request(token: old.text, proof: proof.text, action: "read", resource: "repo/writ/README")
            )
            report.expect("the superseded token is denied", decision.denialCode == .revoked, "\(decision)")
        }
    }
}
#endif
