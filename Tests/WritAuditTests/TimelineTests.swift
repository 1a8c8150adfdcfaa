import Foundation
import Testing
import WritAudit
import WritCrypto
import WritTesting

@Suite("Forensic timeline")
struct TimelineTests {
    /// An authority, a gateway and a database service, each with its own log and clock offset.
    static func sources() async throws -> [ForensicTimeline.Source] {
        let clock = ManualClock()
        let authority = InMemoryAuditStore()
        let gateway = InMemoryAuditStore()
        let database = InMemoryAuditStore()
        func open(_ store: InMemoryAuditStore, _ name: String) async throws -> AuditLog {
            try await AuditLog.open(
                store: store,
                service: name,
                signingKey: Ed25519.PrivateKey(),
                salt: AuditSalt(),
                clock: clock
            )
        }
        let a = try await open(authority, "authority")
        let g = try await open(gateway, "gateway")
        let d = try await open(database, "database")
        let coder = "spiffe://corp/agent/coder/1"
        let helper = "spiffe://corp/agent/helper/7"
        func step(_ log: AuditLog, _ event: AuditEvent) async throws {
            clock.advance(by: .milliseconds(10))
            _ = try await log.record(event)
        }
        try await step(a, AuditEvent(.taskOpened, agent: coder, task: "T1"))
        try await step(
            a,
            AuditEvent(.issued, agent: coder, task: "T1", step: "1", tokenID: "tok-A", audience: "gateway")
        )
        try await step(
            g,
            AuditEvent(
                .used,
                agent: coder,
                task: "T1",
                step: "1",
                tokenID: "tok-A",
                action: "GET",
                resource: "/repo",
                decision: .allow
            )
        )
        try await step(a, AuditEvent(.delegated, agent: coder, task: "T1", tokenID: "tok-B", parentTokenID: "tok-A"))
        try await step(
            d,
            AuditEvent(
                .denied,
                agent: helper,
                task: "T1",
                tokenID: "tok-B",
                parentTokenID: "tok-A",
                action: "DROP",
                resource: "db/users",
                decision: .deny,
                reason: "forbid policy3"
            )
        )
        try await step(a, AuditEvent(.issued, agent: helper, task: "T2", tokenID: "tok-C"))
        try await step(g, AuditEvent(.used, agent: helper, task: "T2", tokenID: "tok-C", decision: .allow))
        try await step(a, AuditEvent(.revoked, agent: coder, task: "T1", tokenID: "tok-A", reason: "anomaly"))
        return [
            .init(
                name: "authority",
                entries: try await authority.readAll(),
                checkpoints: [try a.checkpoint()],
                logKey: a.publicKey
            ),
            .init(name: "gateway", entries: try await gateway.readAll()),
            .init(name: "database", entries: try await database.readAll()),
        ]
    }

    @Test("logs of three services merge in time order")
    func merge() async throws {
        let timeline = try ForensicTimeline(sources: try await Self.sources())
        #expect(timeline.rows.count == 8)
        #expect(
            timeline.rows.map(\.service) == [
                "authority", "authority", "gateway", "authority", "database",
                "authority", "gateway", "authority",
            ]
        )
        let times = timeline.rows.compactMap { $0.event.time }
        #expect(times == times.sorted())
        #expect(timeline.reports.allSatisfy { $0.report.isValid })
    }

    @Test("a token filter follows delegation to sub-agents; task and agent filters narrow")
    func filters() async throws {
        let timeline = try ForensicTimeline(sources: try await Self.sources())
        let tokenA = timeline.filtered(token: "tok-A")
        #expect(tokenA.rows.map { $0.event.tokenID } == ["tok-A", "tok-A", "tok-B", "tok-B", "tok-A"])
        let denial = try #require(tokenA.rows.first { $0.event.kind == .denied })
        #expect(denial.delegationChain == ["tok-A", "tok-B"])
        #expect(timeline.filtered(task: "T2").rows.count == 2)
        #expect(timeline.filtered(task: "T1", agent: "spiffe://corp/agent/helper/7").rows.count == 1)
        #expect(timeline.filtered(token: "tok-B").rows.count == 2)
    }

    @Test("the table and JSON name every event")
    func rendering() async throws {
        let timeline = try ForensicTimeline(sources: try await Self.sources()).filtered(task: "T1")
        let table = timeline.table()
        #expect(table.split(separator: "\n").count == 7)
        #expect(table.contains("database#0") && table.contains("denied") && table.contains("tok-B <- tok-A"))
        let json = try JSONEncoder().encode(timeline.rows)
        let decoded = try JSONDecoder().decode([ForensicTimeline.Row].self, from: json)
        #expect(decoded == timeline.rows)
    }

    @Test("a tampered source is refused and named")
    func tamperedSource() async throws {
        var sources = try await Self.sources()
        var entries = sources[1].entries
        entries.swapAt(0, 1)
        sources[1] = .init(name: "gateway", entries: entries)
        #expect(throws: AuditError(.tampered, "")) { try ForensicTimeline(sources: sources) }
        do {
            _ = try ForensicTimeline(sources: sources)
        } catch let error as AuditError {
            #expect(error.context.contains("gateway") && error.context.contains("entry 0"))
        }
    }
}
