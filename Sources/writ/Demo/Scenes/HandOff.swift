#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// Hand-off: the task moves to a new objective and the old task's tokens die. Returns the new task.
    func handOff(_ cast: Cast, task: String) async throws -> String {
        let provider = cast.provider
        let repo = deployment.repo
        report.begin("Hand-off: the task moves to a new objective; the old tokens die")
        let oldMerge = try await provider.credential(
            audience: "payments",
            action: "refund",
            resource: "payments/orders/9313"
        )
        let next = try await authority.handOff(
            task: task,
            toObjective: "Write the release notes for 1.4.2",
            intent: "release-notes",
            deadline: .seconds(120)
        )
        report.taskIDs.append(next)
        try await deployment.syncAll()
        let payments = deployment.payments.log
        let sizeBefore = payments.size
        let afterHandOff = await deployment.payments.gatekeeper.authorize(
            Gatekeeper.Request(
                token: oldMerge.token,
                proof: oldMerge.proof,
                action: "refund",
                resource: "payments/orders/9313"
            )
        )
        report.expect("old task's token denied after hand-off", afterHandOff.denialCode == .revoked, "\(afterHandOff)")
        // One late request after a close is a request that was already in flight: denied and logged, but not an
        // anomaly (the default response to an anomaly would revoke the planner's whole identity). A second one
        // would be reported by the use-after-close detector.
        let lateAnomalies = try await payments.entries(sizeBefore..<payments.size).filter { $0.event.kind == .anomaly }
        report.expect(
            "one late in-flight request is denied and logged, not treated as an anomaly (the planner keeps its identity)",
            lateAnomalies.isEmpty,
            lateAnomalies.map { $0.event.reason ?? "" }.joined(separator: "; ")
        )
        try await provider.begin(
            task: next,
            step: StepGrant(
                name: "notes",
                audience: "repo",
                actions: ["read"],
                resources: ["repo/writ/CHANGELOG.md"],
                duration: .seconds(10)
            )
        )
        try await expectAllowed(
            "new objective's token reads repo/writ/CHANGELOG.md",
            provider,
            repo,
            "read",
            "repo/writ/CHANGELOG.md"
        )
        return next
    }
}
#endif
