#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// Completion: the task ends, everything it held is revoked, and every service proves it applied the revocation.
    func completion(_ cast: Cast, task: String) async throws {
        let provider = cast.provider
        let repo = deployment.repo
        report.begin("Completion: the task ends and everything it held is revoked")
        try await authority.complete(task: task)
        let sequence = deployment.revocations.tip?.sequence ?? 0
        try await deployment.syncAll()
        let proof = try await deployment.revocations.revocationProof(
            for: sequence,
            expecting: deployment.services.map(\.name)
        )
        report.expect(
            "every service applied revocation #\(sequence) (watermark proof)",
            proof.isComplete,
            proof.watermarks.map { "\($0.verifier)@\($0.sequence)" }.joined(separator: " ")
        )
        let final = await attempt {
            try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/CHANGELOG.md")
        }
        if final == nil {
            try await expectDenied(
                "planner's token denied after completion",
                provider,
                repo,
                "read",
                "repo/writ/CHANGELOG.md",
                code: .revoked
            )
        } else {
            report.expect("planner's token denied after completion", true, "provider refused: \(final!)")
        }
    }
}
#endif
