import Testing
import Writ
import WritTesting

@Suite("Revocation drill")
struct DrillTests {
    func drill(_ world: World) -> RevocationDrill {
        RevocationDrill(
            authority: world.authority,
            authorityAudit: world.authorityStore,
            revocations: world.revocations,
            agent: world.canary,
            agentKey: world.canaryKey,
            clock: world.clock
        )
    }

    @Test("every check holds on services that follow the feed")
    func passes() async throws {
        let world = try await World()
        let services = try await [world.service("repo"), world.service("tickets", policies: World.permissive)]
        let report = try await drill(world).run(
            on: services.map { service in
                RevocationDrill.Service(
                    name: service.name,
                    gatekeeper: service.gatekeeper,
                    auditStore: service.auditStore
                ) {
                    try await service.sync()
                }
            }
        )
        #expect(report.passed, "\(report.table())")
        #expect(report.rows.map(\.service) == ["repo", "tickets"])
        #expect(report.table().contains("✓"))
    }

    @Test("a service that does not apply revocations fails the revocation and refresh checks")
    func deafService() async throws {
        let world = try await World()
        let deaf = try await world.service("tickets", policies: World.permissive)
        let report = try await drill(world).run(on: [
            RevocationDrill.Service(name: "tickets", gatekeeper: deaf.gatekeeper, auditStore: deaf.auditStore) {}
        ])
        #expect(!report.passed)
        #expect(!report.rows[0].revocation.passed)
        #expect(!report.rows[0].refresh.passed)
        #expect(report.table().contains("✗ tickets revocation"))
    }
}
