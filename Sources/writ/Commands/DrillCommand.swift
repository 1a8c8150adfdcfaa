#if CLI
import ArgumentParser
import Foundation
import Writ
import WritTesting

/// `writ drill`: the revocation drill across every service of a deployment.
struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Verify that revocation, refresh and logging work on every service the agent can touch.",
        discussion: """
            Mints a canary token per service, uses it, refreshes it, revokes it, and confirms per service that
            (1) the revoked token is denied within the staleness bound and the service's watermark proves it
            applied the revocation, (2) the refreshed token works and the superseded one does not, (3) issuance,
            use, refresh and revocation appear in verified audit logs. Prints service × check with ✓/✗ and the
            time each took; exits 1 if any cell fails.

            The deployment is the demo's (repo, tickets, payments behind the broker), in process, with audit logs
            in the work directory. --deaf SERVICE simulates a service that stopped applying revocations, to see a
            failing drill.

            Examples:
              swift run writ drill
              swift run writ drill --json
              swift run writ drill --deaf tickets     # exits 1: tickets never applies the revocation
            """
    )

    @Option(name: .long, help: "Work directory for the deployment's audit logs.")
    var dir: String = "writ-demo/drill"

    @Option(name: .long, help: "Simulate a service that does not apply revocations.")
    var deaf: String?

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let deployment: DemoDeployment
        do {
            deployment = try await DemoDeployment.make(directory: dir, seed: nil)
        } catch {
            throw CLIError.input("cannot set up the deployment in '\(dir)': \(error)")
        }
        if let deaf, !deployment.services.contains(where: { $0.name == deaf }) {
            throw CLIError.input("unknown service '\(deaf)' (services: repo, tickets, payments)")
        }
        let canary = try await deployment.enroll("canary", instance: "drill")
        let drill = RevocationDrill(
            authority: deployment.authority,
            authorityAudit: deployment.authorityAudit,
            revocations: deployment.revocations,
            agent: canary.identity,
            agentKey: canary.key,
            clock: deployment.clock
        )
        let report = try await drill.run(
            on: deployment.services.map { service in
                let follows = service.name != deaf
                return RevocationDrill.Service(
                    name: service.name,
                    gatekeeper: service.gatekeeper,
                    auditStore: service.auditStore
                ) {
                    if follows { try await deployment.sync(service) }
                }
            }
        )
        if json {
            print(try jsonText(report))
        } else {
            print(report.table())
            print(report.passed ? "drill: every check held on every service" : "drill: FAILED")
        }
        if !report.passed { throw ExitCode(1) }
    }
}
#endif
