import Benchmark
import Foundation
import Synchronization
import Writ
import WritRevocation

// The signed revocation feed, beside its physical limits measured in the same run:
// - a verifier's sync costs at least one Ed25519 verify per entry (raw libsodium over the entries' own signed bytes);
// - a publisher's revoke costs at least two signatures (the entry and the head over it);
// - a durable file-store revoke costs at least the disk's sync latency (its append is `fdatasync`ed, and its head
//   is replaced through a synced temporary file, a rename and a directory sync).
// The disk's and the CPU's speed drift within a run on these machines, so each signed-feed benchmark also runs its
// raw limit right before every measured iteration, outside the measured region, and records the ratio of the two
// iteration by iteration (custom metrics, in per cent).

/// The bytes a feed record's signature covers: the signing tag, then every byte before the 64-byte signature
/// (`Docs/RevocationFeed.md`, "Common rules").
func signedMessage(of record: [UInt8]) -> [UInt8] {
    Array("writ.revocation-feed.v1\0".utf8) + record.dropLast(64)
}

/// A wall clock standing on the benchmarks' epoch.
struct FixedClock: WallClock {
    func now() -> Timestamp { epoch }
}

/// A value built by a benchmark's (async) setup hook and dropped by its teardown.
final class Slot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    var current: Value { value.withLock { $0! } }

    func set(_ new: Value?) { value.withLock { $0 = new } }
}

/// A signed in-memory feed of `feedLength` block revocations and a head, built once per benchmark process.
struct SignedFeed: Sendable {
    let store: InMemoryRevocationStore
    let key: Ed25519.PublicKey
    /// Every entry's signed message and signature, for the raw-verify limit.
    let signed: [(message: [UInt8], signature: [UInt8])]

    static func make(entries count: Int) async throws -> SignedFeed {
        let store = InMemoryRevocationStore()
        let key = Ed25519.PrivateKey()
        let publisher = RevocationPublisher(store: store, signer: key, clock: FixedClock())
        var stream = IDStream(state: 99)
        let requests = (0..<count).map { _ in
            RevocationRequest(
                .block(stream.id()),
                reason: .completed,
                at: epoch,
                coversUntil: epoch.advanced(by: .seconds(900))
            )
        }
        let entries = try await publisher.revoke(requests)
        precondition(entries.count == count && publisher.tip?.sequence == UInt64(count), "feed not built")
        let signed = entries.map { (signedMessage(of: $0.bytes), Array($0.bytes.suffix(64))) }
        return SignedFeed(store: store, key: key.publicKey, signed: signed)
    }

    /// Verifies every entry's signature with raw libsodium; returns how many verified.
    func rawVerifyAll() -> Int {
        var valid = 0
        for (message, signature) in signed where key.isValidSignature(signature, for: message) { valid += 1 }
        return valid
    }
}

/// A publisher with its store, and the raw-limit inputs of the same shape.
final class PublisherBench: Sendable {
    let publisher: RevocationPublisher
    let key: Ed25519.PrivateKey
    /// An entry's and a head's signed messages (same sizes as what the publisher signs).
    let entryMessage: [UInt8]
    let headMessage: [UInt8]
    let ids: Mutex<IDStream>
    /// For the file store: the directory holding the feed, and a file for the raw sync loop beside it.
    let directory: String?
    let rawFile: Int32

    private init(
        publisher: RevocationPublisher,
        key: Ed25519.PrivateKey,
        entryMessage: [UInt8],
        headMessage: [UInt8],
        ids: IDStream,
        directory: String?,
        rawFile: Int32
    ) {
        self.publisher = publisher
        self.key = key
        self.entryMessage = entryMessage
        self.headMessage = headMessage
        self.ids = Mutex(ids)
        self.directory = directory
        self.rawFile = rawFile
    }

    static func make(store: some RevocationStore, directory: String? = nil) async throws -> PublisherBench {
        let key = Ed25519.PrivateKey()
        let publisher = RevocationPublisher(store: store, signer: key, clock: FixedClock())
        var stream = IDStream(state: 2024)
        let entry = try await publisher.revoke(
            .block(stream.id()),
            reason: .completed,
            coversUntil: epoch.advanced(by: .seconds(900))
        )
        let head = try await publisher.publishHead()
        var rawFile: Int32 = -1
        if let directory {
            rawFile = open(directory + "/raw-sync", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            precondition(rawFile >= 0, "cannot create the raw sync file in \(directory)")
        }
        return PublisherBench(
            publisher: publisher,
            key: key,
            entryMessage: signedMessage(of: entry.bytes),
            headMessage: signedMessage(of: head.bytes),
            ids: stream,
            directory: directory,
            rawFile: rawFile
        )
    }

    func nextTarget() -> RevocationTarget { .block(ids.withLock { $0.id() }) }

    /// One revocation through the publisher: a signed entry appended, then a signed head over it.
    func revoke(_ target: RevocationTarget) async throws {
        try await publisher.revoke(target, reason: .completed, coversUntil: epoch.advanced(by: .seconds(900)))
    }

    /// The raw limit of a revoke's signing: an entry signature and a head signature.
    func rawSignTwice() {
        blackHole(key.signature(for: entryMessage))
        blackHole(key.signature(for: headMessage))
    }

    /// The raw limit of a durable append: one entry-sized `pwrite` at the end of a file, then `fdatasync`.
    func rawSync() {
        let record = [UInt8](repeating: 0x5A, count: 154)  // a framed 150-byte entry
        let end = lseek(rawFile, 0, SEEK_END)
        let written = record.withUnsafeBytes { pwrite(rawFile, $0.baseAddress, $0.count, end) }
        precondition(written == record.count && fdatasync(rawFile) == 0, "raw pwrite + fdatasync failed")
    }

    func tearDown() {
        guard let directory else { return }
        close(rawFile)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Nanoseconds `work` took.
func nanoseconds(_ work: () throws -> Void) rethrows -> Int {
    let clock = ContinuousClock()
    let start = clock.now
    try work()
    let elapsed = start.duration(to: clock.now)
    return Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000)
}

/// Nanoseconds the async `work` took.
func awaitedNanoseconds(_ work: () async throws -> Void) async rethrows -> Int {
    let clock = ContinuousClock()
    let start = clock.now
    try await work()
    let elapsed = start.duration(to: clock.now)
    return Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000)
}

let feedLength = 1000
let feedSlot = Slot<SignedFeed>()
let publisherSlot = Slot<PublisherBench>()

/// The signed feed's benchmarks (registered by `benchmarks` in RevocationBenchmarks.swift).
func signedFeedBenchmarks() {
    // Feed sync: a new verifier catches up with a 1,000-entry feed (every entry's signature and chain link, the
    // floor-less start, the head), reported per entry (scaling factor 1,000 = the feed's length).
    let perEntry = Benchmark.Configuration(
        metrics: [
            .wallClock, .mallocCountTotal,
            .custom("raw verify, same iteration (ns per entry)", useScalingFactor: false),
            .custom("ratio to raw verify, same iteration (%)", useScalingFactor: false),
        ],
        warmupIterations: 2,
        scalingFactor: .kilo,
        maxDuration: .seconds(4),
        maxIterations: 60
    )
    let feedSetUp: Benchmark.BenchmarkSetupHook = { feedSlot.set(try await SignedFeed.make(entries: feedLength)) }
    let feedTearDown: Benchmark.BenchmarkTeardownHook = { feedSlot.set(nil) }

    Benchmark(
        "Revocation: feed sync: verify + apply 1,000 signed entries",
        configuration: perEntry,
        closure: { benchmark in
            let feed = feedSlot.current
            precondition(benchmark.scaledIterations.count == feedLength, "scaling factor is not the feed's length")
            let raw = nanoseconds { precondition(feed.rawVerifyAll() == feedLength, "raw verify failed") }
            let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
            let follower = try! RevocationFeedFollower(
                verifier: "bench",
                store: feed.store,
                trustedKeys: [feed.key],
                snapshot: snapshot,
                clock: FixedClock()
            )
            var result: RevocationFeedFollower.SyncResult?
            benchmark.startMeasurement()
            let synced = try! await awaitedNanoseconds { result = try await follower.syncOnce() }
            benchmark.stopMeasurement()
            precondition(
                result?.fetched == feedLength && result?.caughtUp == true && !snapshot.isStale(at: epoch),
                "the follower did not catch up: \(String(describing: result))"
            )
            benchmark.measurement(.custom("raw verify, same iteration (ns per entry)"), raw / feedLength)
            benchmark.measurement(.custom("ratio to raw verify, same iteration (%)"), synced * 100 / raw)
        },
        setup: feedSetUp,
        teardown: feedTearDown
    )

    Benchmark(
        "Revocation: raw libsodium Ed25519 verify x1,000 (the feed's entries; limit of feed sync)",
        configuration: .init(metrics: [.wallClock], warmupIterations: 2, scalingFactor: .kilo, maxIterations: 60),
        closure: { benchmark in
            let feed = feedSlot.current
            benchmark.startMeasurement()
            let valid = feed.rawVerifyAll()
            benchmark.stopMeasurement()
            precondition(valid == feedLength, "raw verify failed")
        },
        setup: feedSetUp,
        teardown: feedTearDown
    )

    // Publisher revoke, in memory: sign and append one entry, then sign and store a head over it. The store
    // grows by one entry per iteration (a new block id each time).
    let perRevoke = Benchmark.Configuration(
        metrics: [
            .wallClock, .mallocCountTotal, .custom("raw sign x2, same iteration (ns)", useScalingFactor: false),
            .custom("ratio to raw sign x2, same iteration (%)", useScalingFactor: false),
        ],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 20_000
    )
    Benchmark(
        "Revocation: publisher revoke (sign + append + head), in-memory",
        configuration: perRevoke,
        closure: { benchmark in
            let bench = publisherSlot.current
            let raw = nanoseconds { bench.rawSignTwice() }
            let target = bench.nextTarget()
            benchmark.startMeasurement()
            let revoked = try! await awaitedNanoseconds { try await bench.revoke(target) }
            benchmark.stopMeasurement()
            benchmark.measurement(.custom("raw sign x2, same iteration (ns)"), raw)
            benchmark.measurement(.custom("ratio to raw sign x2, same iteration (%)"), revoked * 100 / raw)
        },
        setup: { publisherSlot.set(try await PublisherBench.make(store: InMemoryRevocationStore())) },
        teardown: { publisherSlot.set(nil) }
    )

    Benchmark(
        "Revocation: raw libsodium Ed25519 sign x2 (entry + head; limit of publisher revoke)",
        configuration: .init(metrics: [.wallClock], warmupIterations: 10, maxDuration: .seconds(2)),
        closure: { benchmark in
            let bench = publisherSlot.current
            for _ in benchmark.scaledIterations { bench.rawSignTwice() }
        },
        setup: { publisherSlot.set(try await PublisherBench.make(store: InMemoryRevocationStore())) },
        teardown: { publisherSlot.set(nil) }
    )

    // The durable file store, in a fresh directory under the system's temporary directory: append + fdatasync,
    // then the head through a synced temporary file, a rename and a directory sync. The raw loop syncs a file in
    // the same directory.
    let fileSetUp: Benchmark.BenchmarkSetupHook = {
        let directory = NSTemporaryDirectory() + "writ-revocation-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try FileRevocationStore.open(path: directory + "/feed", mode: .create)
        publisherSlot.set(try await PublisherBench.make(store: store, directory: directory))
    }
    let fileTearDown: Benchmark.BenchmarkTeardownHook = {
        publisherSlot.current.tearDown()
        publisherSlot.set(nil)
    }
    let durable = Benchmark.Configuration(
        metrics: [
            .wallClock, .custom("raw pwrite+fdatasync, same iteration (ns)", useScalingFactor: false),
            .custom("ratio to raw pwrite+fdatasync, same iteration (%)", useScalingFactor: false),
        ],
        warmupIterations: 3,
        maxDuration: .seconds(4),
        maxIterations: 1000
    )
    Benchmark(
        "Revocation: FileRevocationStore revoke (durable: fdatasync + head rename)",
        configuration: durable,
        closure: { benchmark in
            let bench = publisherSlot.current
            let raw = nanoseconds { bench.rawSync() }
            let target = bench.nextTarget()
            benchmark.startMeasurement()
            let revoked = try! await awaitedNanoseconds { try await bench.revoke(target) }
            benchmark.stopMeasurement()
            benchmark.measurement(.custom("raw pwrite+fdatasync, same iteration (ns)"), raw)
            benchmark.measurement(.custom("ratio to raw pwrite+fdatasync, same iteration (%)"), revoked * 100 / raw)
        },
        setup: fileSetUp,
        teardown: fileTearDown
    )

    Benchmark(
        "Revocation: raw pwrite+fdatasync, same directory (limit of a durable revoke)",
        configuration: .init(metrics: [.wallClock], warmupIterations: 3, maxDuration: .seconds(3), maxIterations: 1000),
        closure: { benchmark in
            let bench = publisherSlot.current
            for _ in benchmark.scaledIterations { bench.rawSync() }
        },
        setup: fileSetUp,
        teardown: fileTearDown
    )
}
