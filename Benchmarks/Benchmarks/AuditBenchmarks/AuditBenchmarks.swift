import Benchmark
import Foundation
import Writ
import WritAudit
import WritCrypto

/// A typical `used` event (≈ 230 encoded bytes).
func sampleEvent(_ i: Int = 0) -> AuditEvent {
    AuditEvent(
        .used,
        agent: "spiffe://corp.example/agent/coder/42",
        task: "task-7f3a",
        step: "step-\(i & 7)",
        tokenID: "tok-9c2e41d7a0b5",
        parentTokenID: "tok-1b77c0de",
        revocationID: RevocationID(high: 1, low: 2),
        audience: "billing.corp.example",
        action: "invoice.read",
        resource: "/invoices/2026/11",
        decision: .allow,
        reason: "policy0",
        traceID: "4bf92f3577b34da6a3ce929d0e0e4736"
    )
}

/// A small `used` event (≈ 110 encoded bytes): kind, agent, token id, decision.
func smallEvent() -> AuditEvent {
    AuditEvent(.used, agent: "spiffe://corp/agent/c/1", tokenID: "tok-9c2e41d7", decision: .allow)
}

func encoded(_ event: AuditEvent) -> [UInt8] {
    var event = event
    event.time = Timestamp(millisecondsSinceEpoch: 1_767_225_600_000)
    event.service = "billing"
    return (try? AuditEntry(index: 1, previousHash: AuditEntry.genesisHash, event: event).encoded()) ?? []
}

func openLog(_ store: some AuditStore) async throws -> AuditLog {
    try await AuditLog.open(store: store, service: "billing", signingKey: Ed25519.PrivateKey(), salt: AuditSalt())
}

/// A log of `count` entries, as canonical bytes.
func entries(count: Int) async throws -> [[UInt8]] {
    let store = InMemoryAuditStore()
    let log = try await openLog(store)
    for i in 0..<count { _ = try await log.record(sampleEvent(i)) }
    return try await store.readAll()
}

/// A verified log for the verification benchmark.
struct VerifyFixture: Sendable {
    let entries: [[UInt8]]
    let checkpoint: SignedCheckpoint
    let key: Ed25519.PublicKey
}

func temporaryPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("writ-audit-bench-\(UUID().uuidString).writ").path
}

let benchmarks: @Sendable () -> Void = {
    let fast = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo)

    // Physical limit of an append: SHA-256 over the entry (leaf) plus about one 64-byte node hash.
    for (label, event) in [("typical", sampleEvent()), ("small", smallEvent())] {
        let entry = [0] + encoded(event)
        let node = [UInt8](repeating: 1, count: 65)
        Benchmark(
            "Audit: raw libsodium SHA-256 leaf + node, \(label) entry (\(entry.count - 1) B) (baseline)",
            configuration: fast
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(SHA256.hash(entry))
                blackHole(SHA256.hash(node))
            }
        }

        Benchmark("Audit: append in memory, \(label) entry (one appender)", configuration: fast) { benchmark in
            let log = try await openLog(InMemoryAuditStore())
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try await log.record(event)) }
            benchmark.stopMeasurement()
        }
    }

    Benchmark("Audit: encode an entry (canonical binary)", configuration: fast) { benchmark in
        var event = sampleEvent()
        event.time = Timestamp(millisecondsSinceEpoch: 1_767_225_600_000)
        event.service = "billing"
        let entry = try AuditEntry(index: 1, previousHash: AuditEntry.genesisHash, event: event)
        for _ in benchmark.scaledIterations { blackHole(try entry.encoded()) }
    }

    Benchmark(
        "Audit: append to file store, 1 appender (one fdatasync per entry)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .one, maxDuration: .seconds(3))
    ) { benchmark in
        let path = temporaryPath()
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: FileAuditStore.checkpointFilePath(forLogAt: path))
        }
        let log = try await openLog(try FileAuditStore.open(path: path))
        let event = sampleEvent()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await log.record(event)) }
        benchmark.stopMeasurement()
    }

    // 1,000 durable entries per iteration, one from each of 1,000 concurrent appenders (a busy service): group
    // commit writes them in a few batches, one fdatasync each.
    Benchmark(
        "Audit: append to file store, 1000 concurrent appenders (group commit)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(5))
    ) { benchmark in
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try await openLog(try FileAuditStore.open(path: path))
        let event = sampleEvent()
        benchmark.startMeasurement()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in benchmark.scaledIterations {
                group.addTask { _ = try await log.record(event) }
            }
            try await group.waitForAll()
        }
        benchmark.stopMeasurement()
    }

    // The issue-10 budget: 64 closed-loop appenders, each waiting for its append before the next; every batch
    // carries its signed checkpoint frame in the same pwrite + fdatasync. Beside it, the physical floor of the same
    // bytes: one pwrite of 64 typical frames and one fdatasync, in a loop. The before/after comparison with the
    // code before per-batch checkpoints runs in one process in Benchmarks/Peers/audit-before-after.
    Benchmark(
        "Audit: append to file store, 64 concurrent appenders (signed checkpoint per batch)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(5))
    ) { benchmark in
        let path = temporaryPath()
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: FileAuditStore.checkpointFilePath(forLogAt: path))
        }
        let log = try await openLog(try FileAuditStore.open(path: path))
        let event = sampleEvent()
        let total = benchmark.scaledIterations.count
        benchmark.startMeasurement()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for appender in 0..<64 {
                // Exactly `total` entries in all, as the throughput metric counts.
                let share = total / 64 + (appender < total % 64 ? 1 : 0)
                group.addTask { for _ in 0..<share { _ = try await log.record(event) } }
            }
            try await group.waitForAll()
        }
        benchmark.stopMeasurement()
    }

    Benchmark(
        "Audit: raw pwrite + fdatasync of 64-entry batches (baseline)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(5))
    ) { benchmark in
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let frame = encoded(sampleEvent()).count + 8
        let batch = [UInt8](repeating: 7, count: 64 * frame)
        var offset: off_t = 0
        var left = benchmark.scaledIterations.count  // entries, as the throughput metric counts
        benchmark.startMeasurement()
        while left > 0 {
            let bytes = min(left, 64) * frame
            _ = batch.withUnsafeBytes { pwrite(fd, $0.baseAddress, bytes, offset) }
            offset += off_t(bytes)
            _ = fdatasync(fd)
            left -= min(left, 64)
        }
        benchmark.stopMeasurement()
    }

    Benchmark(
        "Audit: verify a 1M-entry log (decode, chain, tree, checkpoint)",
        configuration: .init(
            metrics: [.wallClock, .throughput],
            scalingFactor: .one,
            maxDuration: .seconds(20),
            maxIterations: 3
        )
    ) { (benchmark: Benchmark, fixture: VerifyFixture) in
        for _ in benchmark.scaledIterations {
            let report = AuditVerifier.verify(
                entries: fixture.entries,
                checkpoints: [fixture.checkpoint],
                logKey: fixture.key
            )
            precondition(report.isValid)
            blackHole(report)
        }
    } setup: {
        let store = InMemoryAuditStore()
        let key = Ed25519.PrivateKey()
        let log = try await AuditLog.open(store: store, service: "billing", signingKey: key, salt: AuditSalt())
        for i in 0..<1_000_000 { _ = try await log.record(sampleEvent(i)) }
        return VerifyFixture(entries: try await store.readAll(), checkpoint: try log.checkpoint(), key: key.publicKey)
    }

    Benchmark(
        "Audit: inclusion proof in a 1M-entry tree (generate + verify)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo)
    ) { (benchmark: Benchmark, tree: MerkleTree) in
        let root = (try? tree.root()) ?? []
        var index: UInt64 = 12_345
        for _ in benchmark.scaledIterations {
            index = (index &* 6_364_136_223_846_793_005 &+ 1) % tree.size
            let proof = (try? tree.inclusionProof(index: index)) ?? []
            blackHole(
                (try? MerkleProof.verifyInclusion(
                    index: index,
                    treeSize: tree.size,
                    leafHash: tree.leafHash(at: index),
                    proof: proof,
                    root: root
                )) != nil
            )
        }
    } setup: {
        var tree = MerkleTree()
        for i in 0..<1_000_000 { tree.append(leafHash: SHA256.hash(withUnsafeBytes(of: i) { Array($0) })) }
        return tree
    }
}
