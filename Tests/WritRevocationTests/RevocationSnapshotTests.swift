import Testing
import WritCrypto
import WritRevocation
import WritTesting

@Suite("Revocation snapshot")
struct RevocationSnapshotTests {
    let clock = ManualClock()
    let issuer = try! KeyID(bytes: [1, 1, 2, 3, 5, 8, 13, 21])

    func entry(
        _ sequence: UInt64,
        _ target: RevocationTarget,
        _ reason: RevocationReason = .manual,
        coversFor seconds: Int64 = 600
    ) -> RevocationEntry {
        RevocationEntry(
            sequence: sequence,
            target: target,
            reason: reason,
            revokedAt: clock.now(),
            coversUntil: clock.now().advanced(by: .seconds(seconds))
        )
    }

    func id(_ n: UInt64) -> RevocationID { RevocationID(high: n &* 0x9E37_79B9_7F4A_7C15, low: ~n) }

    @Test("a snapshot that never heard from its store fails closed")
    func neverHeard() {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
        #expect(snapshot.status(blocks: [id(1)], now: clock.now()) == .stale(lastHeard: nil, bound: .seconds(30)))
        #expect(snapshot.isStale(at: clock.now()))
        #expect(throws: RevocationError(.stale, "")) {
            try snapshot.status(of: id(1), now: clock.now()).requireNotRevoked()
        }
    }

    @Test("a stale snapshot fails closed and recovers when it hears from the store again")
    func staleAndRecover() throws {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
        snapshot.apply([], heardAt: clock.now())
        let heard = clock.now()
        #expect(snapshot.status(blocks: [id(1)], now: clock.now()) == .notRevoked)
        clock.advance(by: .seconds(30))
        #expect(snapshot.status(blocks: [id(1)], now: clock.now()) == .notRevoked, "exactly at the bound is fresh")
        clock.advance(by: .milliseconds(1))
        let stale = snapshot.status(blocks: [id(1)], now: clock.now())
        #expect(stale == .stale(lastHeard: heard, bound: .seconds(30)))
        #expect(!stale.permitsUse)
        #expect(throws: RevocationError(.stale, "")) { try stale.requireNotRevoked() }
        // Entries alone (a page of several) do not make it fresh.
        snapshot.apply([entry(1, .block(id(9)))])
        #expect(snapshot.status(blocks: [id(1)], now: clock.now()) == .stale(lastHeard: heard, bound: .seconds(30)))
        snapshot.apply([], heardAt: clock.now())
        #expect(snapshot.status(blocks: [id(1)], now: clock.now()) == .notRevoked)
        #expect(snapshot.lastHeard == clock.now())
        // An older report never moves freshness backwards.
        snapshot.apply([], heardAt: heard)
        #expect(snapshot.lastHeard == clock.now())
    }

    @Test("a revocation is reported even when the snapshot is stale")
    func revokedBeatsStale() {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(5))
        let revoked = entry(1, .block(id(3)), .anomaly)
        snapshot.apply([revoked], heardAt: clock.now())
        clock.advance(by: .seconds(60))
        #expect(snapshot.status(blocks: [id(3)], now: clock.now()) == .revoked(revoked))
    }

    @Test("revoking a block revokes every token whose chain contains it", arguments: 0..<4)
    func cascade(revokedPosition: Int) {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
        // A root token, a delegation from it, and two further delegations: chains share prefixes.
        let chain = (1...4).map { id(UInt64($0)) }
        let sibling = [chain[0], chain[1], id(77)]
        let unrelated = [id(100), id(101)]
        let revoked = entry(1, .block(chain[revokedPosition]), .handedOff)
        snapshot.apply([revoked], heardAt: clock.now())
        for length in 1...4 {
            let token = Array(chain.prefix(length))
            let expected: RevocationLookup = length > revokedPosition ? .revoked(revoked) : .notRevoked
            #expect(snapshot.status(blocks: token, now: clock.now()) == expected, "chain of \(length)")
        }
        let siblingExpected: RevocationLookup = revokedPosition < 2 ? .revoked(revoked) : .notRevoked
        #expect(snapshot.status(blocks: sibling, now: clock.now()) == siblingExpected)
        #expect(snapshot.status(blocks: unrelated, now: clock.now()) == .notRevoked)
    }

    @Test("task, agent and issuer-key revocations cover every token that names them")
    func widerTargets() {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
        let task = entry(1, .task("t-1"), .completed)
        let agent = entry(2, .agent("spiffe://example.org/agent/a/1"), .anomaly)
        let key = entry(3, .issuerKey(issuer), .keyCompromised)
        snapshot.apply([task, agent, key], heardAt: clock.now())
        let now = clock.now()
        #expect(snapshot.status(blocks: [id(1)], task: "t-1", now: now) == .revoked(task))
        #expect(snapshot.status(blocks: [id(1)], task: "t-2", now: now) == .notRevoked)
        #expect(
            snapshot.status(blocks: [id(1)], agents: ["spiffe://example.org/agent/b/1", agent.target.value], now: now)
                == .revoked(agent)
        )
        #expect(snapshot.status(blocks: [id(1)], issuerKey: issuer, now: now) == .revoked(key))
        let other = try! KeyID(bytes: [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(snapshot.status(blocks: [id(1)], task: "t-2", issuerKey: other, now: now) == .notRevoked)
        // When several revocations apply, the earliest is reported.
        #expect(
            snapshot.status(blocks: [id(1)], task: "t-1", agents: [agent.target.value], issuerKey: issuer, now: now)
                == .revoked(task)
        )
        #expect(snapshot.entry(for: .issuerKey(issuer)) == key)
    }

    @Test("applying is idempotent, moves the watermark, and keeps the longest coverage")
    func applyMerges() {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
        let first = entry(1, .block(id(1)), coversFor: 100)
        #expect(snapshot.apply([first], heardAt: clock.now()) == 1)
        #expect(snapshot.apply([first], heardAt: clock.now()) == 0)
        #expect(snapshot.watermark == 1)
        let shorter = entry(2, .block(id(1)), .anomaly, coversFor: 50)
        let longer = entry(5, .block(id(1)), .anomaly, coversFor: 500)
        #expect(snapshot.apply([shorter]) == 0)
        #expect(snapshot.entry(for: .block(id(1))) == first)
        #expect(snapshot.apply([longer]) == 1)
        #expect(snapshot.entry(for: .block(id(1))) == longer)
        #expect(snapshot.watermark == 5)
        snapshot.apply([entry(3, .task("late"))])
        #expect(snapshot.watermark == 5, "the watermark never moves backwards")
    }

    @Test("pruning drops only entries whose coverage ended")
    func prune() {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
        snapshot.apply(
            [
                entry(1, .block(id(1)), coversFor: 10), entry(2, .block(id(2)), coversFor: 100),
                entry(3, .task("t"), coversFor: 10), entry(4, .agent("a"), coversFor: 100),
                entry(5, .issuerKey(issuer), coversFor: 10),
                entry(6, .block(RevocationID(high: 0, low: 0)), coversFor: 10),
            ],
            heardAt: clock.now()
        )
        #expect(snapshot.prune(expiredBefore: clock.now().advanced(by: .seconds(50))) == 4)
        #expect(!snapshot.contains(block: id(1)) && snapshot.contains(block: id(2)))
        #expect(!snapshot.contains(block: RevocationID(high: 0, low: 0)))
        #expect(snapshot.entry(for: .task("t")) == nil && snapshot.entry(for: .agent("a")) != nil)
        #expect(snapshot.entry(for: .issuerKey(issuer)) == nil)
        #expect(snapshot.watermark == 6)
        let stats = snapshot.statistics
        #expect(stats.blockCount == 1 && stats.taskCount == 0 && stats.agentCount == 1 && stats.issuerKeyCount == 0)
    }

    @Test("the block table finds every revoked id and no other, through growth and removal")
    func tableAtScale() {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
        let count: UInt64 = 50_000
        snapshot.apply(
            (1...count).map { entry($0, .block(id($0)), coversFor: Int64($0 % 2 == 0 ? 10 : 1000)) },
            heardAt: clock.now()
        )
        #expect(snapshot.statistics.blockCount == Int(count))
        #expect((1...count).allSatisfy { snapshot.contains(block: id($0)) })
        #expect(!(count + 1...count + 50_000).contains { snapshot.contains(block: id($0)) })
        #expect(snapshot.statistics.blockTableByteCount <= 64 * Int(count))
        let bytesBefore = snapshot.statistics.blockTableByteCount
        #expect(snapshot.prune(expiredBefore: clock.now().advanced(by: .seconds(100))) == Int(count / 2))
        #expect(snapshot.statistics.blockTableByteCount < bytesBefore, "pruning rebuilds a smaller table")
        #expect(snapshot.statistics.blockCount == Int(count / 2))
        // A small prune removes in place and keeps the table.
        let bytesAfter = snapshot.statistics.blockTableByteCount
        snapshot.apply([entry(count + 1, .block(id(count + 1)), coversFor: 1)])
        #expect(snapshot.prune(expiredBefore: clock.now().advanced(by: .seconds(2))) == 1)
        #expect(snapshot.statistics.blockTableByteCount == bytesAfter)
        #expect(!snapshot.contains(block: id(count + 1)) && snapshot.contains(block: id(1)))
        #expect((1...count).allSatisfy { snapshot.contains(block: id($0)) == ($0 % 2 == 1) })
        if case .revoked(let found) = snapshot.status(of: id(7), now: clock.now()) {
            #expect(found.sequence == 7 && found.target == .block(id(7)))
        } else {
            Issue.record("id 7 should be revoked")
        }
    }

    @Test("the all-zero id can be revoked like any other")
    func zeroID() {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
        let zero = RevocationID(high: 0, low: 0)
        snapshot.apply([], heardAt: clock.now())
        #expect(snapshot.status(of: zero, now: clock.now()) == .notRevoked)
        let revoked = entry(1, .block(zero))
        snapshot.apply([revoked], heardAt: clock.now())
        #expect(snapshot.status(blocks: [id(1), zero], now: clock.now()) == .revoked(revoked))
    }
}
