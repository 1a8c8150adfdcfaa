#if CLI
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
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

            With --deployment FILE the drill runs against real endpoints (Docs/Drill.md): the authority and every
            service of the file, over HTTP, with the file's operator key and drill class. It exits 1 naming the
            failing service(s) and check(s), 2 for a bad deployment file (naming the key) or an unreachable
            authority. Every wait is bounded by --timeout, so a dead service fails its cells.

            Without it (or with --demo) the deployment is the demo's (repo, tickets, payments behind the broker), in
            process, with audit logs in the work directory. --deaf SERVICE simulates a service that stopped applying
            revocations, to see a failing drill.

            Examples:
              swift run writ drill --deployment deploy/drill.json
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

    @Option(name: .long, help: "Drill a running deployment described by this JSON file (see Docs/Drill.md).")
    var deployment: String?

    @Flag(name: .long, help: "Run the in-process demo drill (the default without --deployment).")
    var demo = false

    @Option(name: .long, help: "With --deployment: the longest wait for one outcome, in seconds (default 10).")
    var timeout: Int = 10

    func run() async throws {
        if let deployment, !demo {
            guard deaf == nil else { throw CLIError.input("--deaf: only for the in-process drill") }
            guard (1...600).contains(timeout) else { throw CLIError.input("--timeout: 1…600 seconds") }
            try await runRemote(deployment)
            return
        }
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

extension DrillCommand {
    /// `--deployment FILE`: the drill against real endpoints.
    func runRemote(_ path: String) async throws {
        let deployment = try DrillDeployment.load(path)
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(10))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let report: RemoteDrillReport
        do {
            report = try await RemoteDrill(deployment: deployment, timeout: .seconds(Int64(timeout)), http: http).run()
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
        if json {
            print(try jsonText(report))
        } else {
            print(report.table())
            if report.passed { print("drill: every check held on every service") }
        }
        if !report.passed { throw CLIError.rejected("drill FAILED on \(report.failureSummary)") }
    }
}
#endif
