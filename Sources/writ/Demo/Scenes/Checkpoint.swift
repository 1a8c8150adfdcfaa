#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// A re-authorisation checkpoint: a merge needs a human's approval first.
    func checkpoint(_ cast: Cast, task: String) async throws {
        let provider = cast.provider
        let repo = deployment.repo
        report.begin("Sensitive action: a re-authorisation checkpoint, then approval")
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "merge",
                audience: "repo",
                actions: ["merge"],
                resources: ["repo/writ/pr/*"],
                duration: .seconds(10)
            )
        )
        let checkpoint = try await call(provider, repo, "merge", "repo/writ/pr/42")
        if case .reauthorize(let reason, _) = checkpoint {
            report.expect("merge returns \"re-authorise first\"", true, reason)
        } else {
            report.expect("merge returns \"re-authorise first\"", false, "\(checkpoint)")
        }
        report.say("    (a human approves the merge)")
        let approved = try await call(provider, repo, "merge", "repo/writ/pr/42", approvals: ["merge"])
        report.expect("merge with approval is allowed", approved.isAllowed, "\(approved)")
    }
}
#endif
