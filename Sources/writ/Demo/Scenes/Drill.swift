#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// The revocation drill on every service: a canary token is used, refreshed and revoked, and the logs checked.
    func drill() async throws {
        report.begin("Revocation drill on every service (canary token: use, refresh, revoke, logs)")
        let canary = try await deployment.enroll("canary", instance: "drill")
        let drill = RevocationDrill(
            authority: authority,
            authorityAudit: deployment.authorityAudit,
            revocations: deployment.revocations,
            agent: canary.identity,
            agentKey: canary.key,
            clock: clock
        )
        let result = try await drill.run(
            on: deployment.services.map { [deployment] service in
                RevocationDrill.Service(
                    name: service.name,
                    gatekeeper: service.gatekeeper,
                    auditStore: service.auditStore
                ) {
                    try await deployment.sync(service)
                }
            }
        )
        report.drill = result
        for line in result.table().split(separator: "\n") { report.say("  " + line) }
        report.say("  (measured: wall-clock time inside this one process, from the action to its observed effect)")
    }
}
#endif
