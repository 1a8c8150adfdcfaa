import Benchmark
import Foundation
import Synchronization
import Writ
import WritRevocation

// Revocation lookups with 1,000,000 revoked block ids, the snapshot's apply rate (entries already verified), and
// memory per revoked id; the signed feed (sync, publisher revoke, durable file store) is in SignedFeedBenchmarks.swift.
// Baselines measured in the same run: raw libsodium Ed25519 verify (the cost every request pays anyway) and the
// standard library's Set<RevocationID>.contains over the same ids.

/// Deterministic pseudo-random ids (splitmix64), so runs are comparable.
struct IDStream {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func id() -> RevocationID { RevocationID(high: next(), low: next()) }
}

let revokedCount = 1_000_000
let probeCount = 1 << 16
let epoch = Timestamp(secondsSinceEpoch: 1_767_225_600)

func entries(_ ids: [RevocationID], firstSequence: UInt64) -> [RevocationEntry] {
    ids.enumerated().map { i, id in
        RevocationEntry(
            sequence: firstSequence + UInt64(i),
            target: .block(id),
            reason: .completed,
            revokedAt: epoch,
            coversUntil: epoch.advanced(by: .seconds(900))
        )
    }
}

/// Resident memory of this process in bytes (Linux `/proc/self/statm`), or 0 where unavailable.
///
/// First returns freed heap memory to the system (glibc `malloc_trim`, found with `dlsym` because Swift's Glibc
/// module does not import `<malloc.h>`), so memory freed by earlier table rebuilds is not counted.
func residentBytes() -> Int {
    #if os(Linux)
    if let symbol = dlsym(nil, "malloc_trim") {
        let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        _ = trim(0)
    }
    #endif
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * 4096
}

final class Fixture: Sendable {
    let revokedIDs: [RevocationID]
    let missProbes: [RevocationID]
    let hitProbes: [RevocationID]
    /// Three-block chains of ids that are not revoked.
    let chains: [[RevocationID]]
    let snapshot: RevocationSnapshot
    let set: Set<RevocationID>
    let issuer: KeyID

    init() {
        var stream = IDStream(state: 42)
        let revoked = (0..<revokedCount).map { _ in stream.id() }
        revokedIDs = revoked
        missProbes = (0..<probeCount).map { _ in stream.id() }
        var pick = IDStream(state: 7)
        hitProbes = (0..<probeCount).map { _ in revoked[Int(pick.next() % UInt64(revokedCount))] }
        chains = (0..<4096).map { _ in [stream.id(), stream.id(), stream.id()] }
        snapshot = RevocationSnapshot(maxStaleness: .seconds(3600))
        snapshot.apply(entries(revoked, firstSequence: 1), heardAt: epoch)
        set = Set(revoked)
        issuer = Ed25519.PrivateKey().publicKey.keyID
    }
}

let fixture = Fixture()

/// Fresh ids and sequences for batches appended to the 1M snapshot.
final class GrowthState: Sendable {
    let state = Mutex((stream: IDStream(state: 5678), sequence: UInt64(revokedCount) + 1))
}

let benchmarks: @Sendable () -> Void = {
    let lookup = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3)
    )
    let setup: Benchmark.BenchmarkSetupHook = { _ = fixture.snapshot }

    // The physical floor every request pays anyway: one Ed25519 signature check in libsodium.
    let key = Ed25519.PrivateKey()
    let message = [UInt8](repeating: 7, count: 200)
    let signature = key.signature(for: message)
    Benchmark("Revocation: raw libsodium Ed25519 verify (baseline)", configuration: .init(metrics: [.wallClock])) {
        benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(key.publicKey.isValidSignature(signature, for: message))
        }
    }

    Benchmark(
        "Revocation: Set<RevocationID>.contains, 1M ids, miss (reference)",
        configuration: lookup,
        closure: { benchmark in
            let probes = fixture.missProbes
            let set = fixture.set
            for i in benchmark.scaledIterations { blackHole(set.contains(probes[i & (probeCount - 1)])) }
        },
        setup: setup
    )

    Benchmark(
        "Revocation: lookup one block id, 1M revoked, miss",
        configuration: lookup,
        closure: { benchmark in
            let probes = fixture.missProbes
            let snapshot = fixture.snapshot
            for i in benchmark.scaledIterations {
                blackHole(snapshot.status(of: probes[i & (probeCount - 1)], now: epoch))
            }
        },
        setup: setup
    )

    Benchmark(
        "Revocation: lookup one block id, 1M revoked, hit",
        configuration: lookup,
        closure: { benchmark in
            let probes = fixture.hitProbes
            let snapshot = fixture.snapshot
            for i in benchmark.scaledIterations {
                blackHole(snapshot.status(of: probes[i & (probeCount - 1)], now: epoch))
            }
        },
        setup: setup
    )

    Benchmark(
        "Revocation: token check (3 blocks, task, agent, issuer), 1M revoked",
        configuration: lookup,
        closure: { benchmark in
            let chains = fixture.chains
            let snapshot = fixture.snapshot
            let issuer = fixture.issuer
            let agents = ["spiffe://example.org/agent/planner/7"]
            for i in benchmark.scaledIterations {
                blackHole(
                    snapshot.status(
                        blocks: chains[i & 4095],
                        task: "task-0042",
                        agents: agents,
                        issuerKey: issuer,
                        now: epoch
                    )
                )
            }
        },
        setup: setup
    )

    // Feed apply rate: 10,000 entries into an empty snapshot, and 1,000-entry batches into the 1M snapshot.
    var stream = IDStream(state: 1234)
    let freshBatch = entries((0..<10_000).map { _ in stream.id() }, firstSequence: 1)
    Benchmark(
        "Revocation: feed apply, 10k entries into an empty snapshot",
        configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(3))
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let snapshot = RevocationSnapshot(maxStaleness: .seconds(60))
            blackHole(snapshot.apply(freshBatch, heardAt: epoch))
        }
    }

    let growth = GrowthState()
    Benchmark(
        "Revocation: feed apply, 1k-entry batch into the 1M snapshot",
        configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(3), maxIterations: 200),
        closure: { benchmark in
            let next = growth.state.withLock { state in
                let batch = entries((0..<1000).map { _ in state.stream.id() }, firstSequence: state.sequence)
                state.sequence += 1000
                return batch
            }
            benchmark.startMeasurement()
            blackHole(fixture.snapshot.apply(next, heardAt: epoch))
            benchmark.stopMeasurement()
        },
        setup: setup
    )

    // Memory per revoked id at 1M: resident-memory delta of building the set from empty through the feed (one
    // iteration, in a process that has not built the fixture; freed memory is trimmed before reading), and the
    // exact bytes of the block table. Entries are generated 1,000 at a time so no 1M-entry input is resident.
    let memory = Benchmark.Configuration(
        metrics: [.custom("resident bytes per revoked id"), .custom("table bytes per revoked id")],
        warmupIterations: 0,
        scalingFactor: .one,
        maxDuration: .seconds(30),
        maxIterations: 1
    )
    Benchmark(
        "Revocation: memory, 1M revoked ids, snapshot built by the feed",
        configuration: memory,
        closure: { benchmark in
            var stream = IDStream(state: 42)
            let before = residentBytes()
            let snapshot = RevocationSnapshot(maxStaleness: .seconds(60))
            for start in stride(from: 0, to: revokedCount, by: 1000) {
                snapshot.apply(entries((0..<1000).map { _ in stream.id() }, firstSequence: UInt64(start) + 1))
            }
            let after = residentBytes()
            benchmark.measurement(.custom("resident bytes per revoked id"), (after - before) / revokedCount)
            benchmark.measurement(
                .custom("table bytes per revoked id"),
                snapshot.statistics.blockTableByteCount / revokedCount
            )
            blackHole(snapshot)
        }
    )
    Benchmark(
        "Revocation: memory, 1M ids in Set<RevocationID> (reference)",
        configuration: memory,
        closure: { benchmark in
            var stream = IDStream(state: 42)
            let before = residentBytes()
            var set = Set<RevocationID>()
            for _ in 0..<revokedCount { set.insert(stream.id()) }
            let after = residentBytes()
            benchmark.measurement(.custom("resident bytes per revoked id"), (after - before) / revokedCount)
            // Swift's Set keeps 16-byte keys in a power-of-two bucket array at most 75% full, plus 1 bit per bucket.
            let buckets = 1 << (Int.bitWidth - Int((Double(set.capacity) / 0.75).rounded(.up) - 1).leadingZeroBitCount)
            benchmark.measurement(.custom("table bytes per revoked id"), (buckets * 16 + buckets / 8) / revokedCount)
            blackHole(set)
        }
    )

    signedFeedBenchmarks()
}
