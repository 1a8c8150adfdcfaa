#if CLI
import Writ
import WritTesting

/// The demo's script: a realistic agent workflow end to end, every outcome checked.
///
/// Each scene is a method in its own file under `Scenes/` (attestation, per-step tokens, delegation, refresh,
/// checkpoint, replay, anomaly, broker, hand-off, completion, then the drill and the audit logs); this file runs
/// them in order and hands each what the earlier ones made.
struct DemoScenario {
    let deployment: DemoDeployment
    let report: DemoReport

    var clock: ManualClock { deployment.clock }
    var authority: CredentialAuthority { deployment.authority }

    /// The agents of the workflow, and the planner's credential provider.
    struct Cast {
        let planner: DemoDeployment.Agent
        let reader: DemoDeployment.Agent
        let ticketer: DemoDeployment.Agent
        let provider: CredentialProvider
    }

    func run() async throws {
        let forwarded = ForwardedAnomalies()
        try await withThrowingTaskGroup(of: Void.self) { group in
            let deployment = self.deployment
            group.addTask { await deployment.forwardAnomalies(into: forwarded) }
            defer { group.cancelAll() }
            try await workflow(forwarded: forwarded)
        }
        try await drill()
        try await verifyLogs()
        try timeline()
    }

    /// One task from start to end: "Fix bug #42 and refund the affected customer", handed off to release notes.
    private func workflow(forwarded: ForwardedAnomalies) async throws {
        let cast = try await attestation()
        let task = try await stepTokens(cast)
        try await delegation(cast)
        try await refresh(cast, task: task)
        try await checkpoint(cast, task: task)
        try await replay(cast)
        try await anomaly(cast, task: task, forwarded: forwarded)
        try await brokeredRefund(cast, task: task)
        let next = try await handOff(cast, task: task)
        try await completion(cast, task: next)
    }
}
#endif
