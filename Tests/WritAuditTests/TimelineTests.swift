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

    /// Logs whose events all share one millisecond: services named so that the old service-name order puts every
    /// effect before its cause.
    static func sameMillisecond(_ events: [(String, AuditEvent)]) async throws -> [ForensicTimeline.Source] {
        let clock = ManualClock()
        var stores: [String: InMemoryAuditStore] = [:]
        var logs: [String: AuditLog] = [:]
        for (service, event) in events {
            if logs[service] == nil {
                let store = InMemoryAuditStore()
                stores[service] = store
                logs[service] = try await AuditLog.open(
                    store: store,
                    service: service,
                    signingKey: Ed25519.PrivateKey(),
                    salt: AuditSalt(),
                    clock: clock
                )
            }
            _ = try await logs[service]!.record(event)
        }
        var sources: [ForensicTimeline.Source] = []
        for (service, store) in stores.sorted(by: { $0.key < $1.key }) {
            sources.append(.init(name: service, entries: try await store.readAll()))
        }
        return sources
    }

    @Test("events of one millisecond are ordered by cause, not by service name")
    func causalTieBreak() async throws {
        let block = RevocationID(high: 0x0123_4567_89ab_cdef, low: 42)
        let agent = "spiffe://corp/agent/coder/1"
        let sources = try await Self.sameMillisecond([
            ("zz-authority", AuditEvent(.taskOpened, agent: agent, task: "T1")),
            ("zz-authority", AuditEvent(.issued, agent: agent, task: "T1", tokenID: "tok-A", revocationID: block)),
            ("aa-gateway", AuditEvent(.used, agent: agent, task: "T1", tokenID: "tok-A", decision: .allow)),
            ("mm-db", AuditEvent(.delegated, agent: agent, task: "T1", tokenID: "tok-B", parentTokenID: "tok-A")),
            ("bb-tickets", AuditEvent(.anomaly, agent: agent, task: "T1", tokenID: "tok-A", revocationID: block)),
            ("zz-authority", AuditEvent(.revoked, agent: agent, task: "T1", revocationID: block, reason: "anomaly")),
            (
                "aa-gateway",
                AuditEvent(.denied, agent: agent, task: "T1", tokenID: "tok-A", revocationID: block, decision: .deny)
            ),
        ])
        let timeline = try ForensicTimeline(sources: sources)
        let kinds = timeline.rows.map(\.event.kind)
        func position(_ kind: AuditEvent.Kind) throws -> Int { try #require(kinds.firstIndex(of: kind)) }
        #expect(try position(.taskOpened) < position(.issued), "\(kinds)")
        #expect(try position(.issued) < position(.used), "issue before use: \(kinds)")
        #expect(try position(.issued) < position(.delegated), "parent's issue before the delegation: \(kinds)")
        #expect(try position(.anomaly) < position(.revoked), "anomaly before its revocation: \(kinds)")
        #expect(try position(.revoked) < position(.denied), "revocation before the denial it causes: \(kinds)")
        #expect(Set(timeline.rows.map(\.event.time)).count == 1, "the test needs one shared millisecond")
        // One log's order is kept.
        let gateway = timeline.rows.filter { $0.service == "aa-gateway" }.map(\.index)
        #expect(gateway == gateway.sorted())
    }

    @Test("contradictory links (a cycle) are broken deterministically; every row is kept")
    func causalCycle() async throws {
        // In one log the token is used before it is issued; another log issues it: the links form a cycle.
        let sources = try await Self.sameMillisecond([
            ("b", AuditEvent(.used, tokenID: "tok-X", decision: .allow)),
            ("b", AuditEvent(.issued, tokenID: "tok-Y")),
            ("a", AuditEvent(.used, tokenID: "tok-Y", decision: .allow)),
            ("a", AuditEvent(.issued, tokenID: "tok-X")),
        ])
        let first = try ForensicTimeline(sources: sources)
        let second = try ForensicTimeline(sources: sources.reversed())
        #expect(first.rows.count == 4)
        #expect(first.rows == second.rows, "the order does not depend on the order the sources were given")
        for service in ["a", "b"] {
            let indices = first.rows.filter { $0.service == service }.map(\.index)
            #expect(indices == indices.sorted(), "one log's order is kept even in a cycle")
        }
    }
}
