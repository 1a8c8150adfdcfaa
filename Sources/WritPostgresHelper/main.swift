// Test support for WritPostgresTests: child processes sharing one PostgreSQL schema (built with the Postgres trait).
//
//   WritPostgresHelper authority <schema>   reads `issue <task> <n>`, `refresh <task> <n>`, `attest <join-token> <n>`
//   WritPostgresHelper gate <schema> <aud>  reads `authorize <token> <proof> <action> <resource>`
//   WritPostgresHelper follow <schema>      reads `wait <n>`: prints when its follower has applied block n
//
// Each prints `ready` once connected, then one line per command. Keys come from the hex seeds in
// WRIT_HELPER_ISSUER_SEED and WRIT_HELPER_REVOCATION_SEED; the server from WRIT_POSTGRES_URL.
//
// Benchmark modes (build it in release: `swift build -c release --product WritPostgresHelper`; see
// Docs/Performance.md), each on a fresh schema it drops afterwards, printing one line per measurement:
//   WritPostgresHelper bench-propagation <schema> <followers> <revocations> [poll-ms]
//       starts <followers> `follow` processes of itself and revokes <revocations> blocks one at a time, timing each
//       from `revoke` returning to each follower holding it (stamped by the follower, CLOCK_MONOTONIC); with
//       poll-ms the followers only poll (LISTEN-less), every poll-ms.
//   WritPostgresHelper bench-stores <schema> <count>
//       nonce inserts/s (PostgreSQL one at a time and 16 in flight, SQLite, the file store) and
//       `CredentialAuthority.issue` latency on PostgreSQL and SQLite authority stores.
#if Postgres
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import Writ
import WritCrypto
import WritIdentity
@_spi(Testing) import WritPostgres
import WritRevocation
import WritSQLite
import WritTokens

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("WritPostgresHelper: \(message)\n".utf8))
    exit(2)
}

/// A benchmark run makes its own keys and hands them to the follower processes it starts.
let benchSeeds: [String: String] =
    CommandLine.arguments.count > 1 && CommandLine.arguments[1].hasPrefix("bench-")
    ? [
        "WRIT_HELPER_ISSUER_SEED": Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255) }),
        "WRIT_HELPER_REVOCATION_SEED": Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255) }),
    ] : [:]

func seed(_ name: String) -> Ed25519.PrivateKey {
    guard let hex = benchSeeds[name] ?? ProcessInfo.processInfo.environment[name], let bytes = Hex.decode(hex),
        let key = try? Ed25519.PrivateKey(seed: SecureBytes(bytes))
    else { fail("\(name) must be a 32-byte hex seed") }
    return key
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func errorCode(_ error: any Error) -> String {
    if let error = error as? AuthorityError { return "authority:\(error.code)" }
    return "untyped:\(String(describing: error).prefix(200))"
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: WritPostgresHelper authority|gate|follow <schema> [audience]") }
let mode = arguments[1]
let configuration: WritPostgresConfiguration
do {
    guard let url = ProcessInfo.processInfo.environment["WRIT_POSTGRES_URL"] else { fail("WRIT_POSTGRES_URL unset") }
    var c = try WritPostgresConfiguration(url: url, schema: arguments[2])
    c.maximumConnections = 4
    configuration = c
} catch {
    fail("\(error)")
}
let service: WritPostgresService
do { service = try WritPostgresService(configuration: configuration, pollInterval: .milliseconds(200)) } catch {
    fail("\(error)")
}
let running = Task { try? await service.run() }
let issuerKey = seed("WRIT_HELPER_ISSUER_SEED")
let revocationKey = seed("WRIT_HELPER_REVOCATION_SEED")

/// The agent classes and entitlements the test's own authority uses too.
let classes = [
    try! AgentClass(name: "canary", defaultTTL: .seconds(60), maximumTTL: .seconds(60), refreshLimit: 100),
    try! AgentClass(name: "limited", defaultTTL: .seconds(60), maximumTTL: .seconds(60), refreshLimit: 2),
]

func authority() async throws -> CredentialAuthority {
    let store = PostgresAuthorityStore(service: service)
    let log = try await AuditLog.open(
        store: InMemoryAuditStore(),
        service: "authority",
        signingKey: Ed25519.PrivateKey(),
        salt: AuditSalt()
    )
    return CredentialAuthority(
        .init(
            issuerKey: issuerKey,
            agentClasses: classes,
            entitlements: EntitlementTable([
                "canary": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])],
                "limited": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])],
            ]),
            revocations: RevocationPublisher(
                store: PostgresRevocationStore(service: service),
                signer: revocationKey,
                clock: SystemClock()
            ),
            audit: log,
            store: store,
            attestor: JoinTokenAttestor(clock: SystemClock(), store: store)
        )
    )
}

let step = StepGrant(name: "probe", audience: "repo", actions: ["read"], resources: ["repo/a"])

func runAuthority() async throws {
    let authority = try await authority()
    say("ready")
    while let line = readLine() {
        let words = line.split(separator: " ").map(String.init)
        guard words.count == 3, let count = Int(words[2]) else { fail("bad command '\(line)'") }
        let results = await withTaskGroup(of: String.self) { group in
            for _ in 0..<count {
                group.addTask {
                    do {
                        switch words[0] {
                        case "issue":
                            return "ok \(try await authority.issue(task: words[1], step: step).token.id)"
                        case "refresh":
                            return "ok \(try await authority.refresh(task: words[1], step: "probe").token.id)"
                        case "attest":
                            let join = try JoinToken(text: words[1])
                            _ = try await authority.attest(join.evidence(signingKey: Ed25519.PrivateKey()))
                            return "ok"
                        default: fail("unknown command \(words[0])")
                        }
                    } catch {
                        return "err \(errorCode(error))"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        say(results.joined(separator: ";"))
    }
}

func runGate(audience: String) async throws {
    let snapshot = RevocationSnapshot(maxStaleness: .seconds(300))
    let follower = try RevocationFeedFollower(
        verifier: "gate-\(ProcessInfo.processInfo.processIdentifier)",
        store: PostgresRevocationStore(service: service),
        trustedKeys: [revocationKey.publicKey],
        snapshot: snapshot,
        clock: SystemClock(),
        configuration: .init(pollInterval: .milliseconds(200))
    )
    _ = try await follower.syncOnce()
    let following = Task { await follower.run() }
    defer { following.cancel() }
    let gatekeeper = Gatekeeper(
        .init(
            audience: audience,
            trustBundle: TrustBundle(trusting: issuerKey.publicKey),
            agentClasses: classes,
            policies: try PolicySet(text: "permit (principal, action, resource);"),
            revocation: snapshot,
            sharedNonces: PostgresNonceStore(service: service),
            audit: try await AuditLog.open(
                store: InMemoryAuditStore(),
                service: audience,
                signingKey: Ed25519.PrivateKey(),
                salt: AuditSalt()
            )
        )
    )
    say("ready")
    while let line = readLine() {
        let words = line.split(separator: " ").map(String.init)
        guard words.count == 5, words[0] == "authorize" else { fail("bad command '\(line)'") }
        let decision = await gatekeeper.authorize(
            Gatekeeper.Request(token: words[1], proof: words[2], action: words[3], resource: words[4])
        )
        switch decision {
        case .allow: say("allow")
        case .deny(let denial): say("deny \(denial.code)")
        case .reauthorize: say("reauthorize")
        }
    }
}

/// A store that never announces: its followers only poll (the LISTEN-less fallback, for the propagation numbers).
struct PollingOnly: RevocationStore {
    let base: PostgresRevocationStore
    func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        try await base.append(revocations, signer: signer, minimum: minimum)
    }
    func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> SignedFeedMark {
        try await base.publishHead(at: time, signer: signer, minimum: minimum)
    }
    func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        try await base.page(after: sequence, limit: limit)
    }
    func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        try await base.prune(expiredBefore: time, at: now, signer: signer)
    }
    func announcements() -> AsyncStream<UInt64>? { nil }
}

/// A verifier process: says `applied <n>` as soon as its follower holds block (n, n); `wait <n>` arms it.
func runFollower() async throws {
    let pollMilliseconds = ProcessInfo.processInfo.environment["WRIT_HELPER_POLL_MS"].flatMap { Int64($0) } ?? 1000
    let snapshot = RevocationSnapshot(maxStaleness: .seconds(300))
    let base = PostgresRevocationStore(service: service)
    let store: any RevocationStore =
        ProcessInfo.processInfo.environment["WRIT_HELPER_NO_LISTEN"] == "1" ? PollingOnly(base: base) : base
    let follower = try RevocationFeedFollower(
        verifier: "follower-\(ProcessInfo.processInfo.processIdentifier)",
        store: store,
        trustedKeys: [revocationKey.publicKey],
        snapshot: snapshot,
        clock: SystemClock(),
        configuration: .init(pollInterval: .milliseconds(pollMilliseconds))
    )
    _ = try await follower.syncOnce()
    let following = Task { await follower.run() }
    defer { following.cancel() }
    while !service.isListening { try await Task.sleep(for: .milliseconds(10)) }
    say("ready")
    while let line = readLine() {
        let words = line.split(separator: " ")
        guard words.count == 2, words[0] == "wait", let n = UInt64(words[1]) else { fail("bad command '\(line)'") }
        let id = RevocationID(high: n, low: n)
        while !snapshot.contains(block: id) { try await Task.sleep(for: .microseconds(200)) }
        say("applied \(n) \(monotonicNanoseconds())")
    }
}

// MARK: Benchmarks

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// `p50 / p99 / max` of samples in milliseconds.
func summary(_ values: [Double]) -> String {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return "no samples" }
    func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
    return String(format: "p50 %.2f / p99 %.2f / max %.2f ms", at(0.5), at(0.99), sorted[sorted.count - 1])
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
        .joined(separator: " ") ?? "?"
}

/// A `follow` process of this executable, its `applied <n> <ns>` lines collected as they come.
final class FollowerProcess: Sendable {
    let process: Process
    private let input: FileHandle
    typealias Inbox = (stamps: [UInt64: UInt64], ready: Bool, ended: Bool)
    private final class Box: Sendable {
        let state = Mutex<Inbox>(([:], false, false))
    }
    private let box = Box()

    init(schema: String, pollMilliseconds: Int?) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["follow", schema]
        var environment = ProcessInfo.processInfo.environment.merging(benchSeeds) { $1 }
        environment["WRIT_HELPER_POLL_MS"] = String(pollMilliseconds ?? 1000)
        if pollMilliseconds != nil { environment["WRIT_HELPER_NO_LISTEN"] = "1" }
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        input = stdin.fileHandleForWriting
        let reading = stdout.fileHandleForReading
        let box = self.box
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let words = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                        .split(separator: " ")
                    buffer.removeSubrange(buffer.startIndex...newline)
                    box.state.withLock { state in
                        if words == ["ready"] { state.ready = true }
                        if words.count == 3, words[0] == "applied", let n = UInt64(words[1]),
                            let stamp = UInt64(words[2])
                        {
                            state.stamps[n] = stamp
                        }
                    }
                }
            }
            box.state.withLock { $0.ended = true }
        }
        try process.run()
    }

    func send(_ line: String) { input.write(Data((line + "\n").utf8)) }

    /// Waits (polling every 0.2 ms: the follower stamps the time itself) for what `read` finds, or fails after 60 s.
    func wait<T: Sendable>(
        _ what: String,
        _ read: @Sendable (inout Inbox) -> T?
    ) async -> T {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let (value, ended) = box.state.withLock { state in (read(&state), state.ended) }
            if let value { return value }
            if ended { fail("a follower process ended while waiting for \(what)") }
            try? await Task.sleep(for: .microseconds(200))
        }
        fail("a follower process did not report \(what) within 60 s")
    }

    func stop() {
        try? input.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// `bench-propagation <schema> <followers> <revocations> [poll-ms]`.
func benchPropagation() async throws {
    guard arguments.count >= 5, let followers = Int(arguments[3]), let count = Int(arguments[4]), followers > 0,
        count > 0
    else { fail("usage: WritPostgresHelper bench-propagation <schema> <followers> <revocations> [poll-ms]") }
    let pollMilliseconds = arguments.count > 5 ? Int(arguments[5]) : nil
    try await service.migrate()
    let publisher = RevocationPublisher(
        store: PostgresRevocationStore(service: service),
        signer: revocationKey,
        clock: SystemClock()
    )
    _ = try await publisher.publishHead()
    let loadBefore = loadAverage()
    let processes = try (0..<followers).map { _ in
        try FollowerProcess(schema: arguments[2], pollMilliseconds: pollMilliseconds)
    }
    defer { for process in processes { process.stop() } }
    for process in processes { _ = await process.wait("ready") { $0.ready ? true : nil } }
    var fromReturn: [Double] = []
    var fromCall: [Double] = []
    let coversUntil = SystemClock().now().advanced(by: .seconds(3600))
    for n in 1...count {
        for process in processes { process.send("wait \(n)") }
        try await Task.sleep(for: .milliseconds(5))  // every follower armed and idle again
        let called = monotonicNanoseconds()
        _ = try await publisher.revoke(
            .block(RevocationID(high: UInt64(n), low: UInt64(n))),
            reason: .manual,
            coversUntil: coversUntil
        )
        let returned = monotonicNanoseconds()
        for process in processes {
            let stamp = await process.wait("applied \(n)") { $0.stamps.removeValue(forKey: UInt64(n)) }
            fromReturn.append(Double(stamp > returned ? stamp - returned : 0) / 1e6)
            fromCall.append(Double(stamp > called ? stamp - called : 0) / 1e6)
        }
    }
    let mode = pollMilliseconds.map { "polling only (every \($0) ms)" } ?? "LISTEN/NOTIFY (poll 1 s)"
    say(
        "propagation \(mode), \(followers) follower process(es), \(fromReturn.count) samples: "
            + "after revoke returned \(summary(fromReturn)); after revoke was called \(summary(fromCall)); "
            + "load average before \(loadBefore), after \(loadAverage())"
    )
}

/// Times `count` runs of `body` and prints the rate.
func rate(
    _ label: String,
    _ count: Int,
    concurrency: Int = 1,
    _ body: @escaping @Sendable () async throws -> Void
)
    async throws
{
    let started = monotonicNanoseconds()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            let share = count / concurrency + (worker < count % concurrency ? 1 : 0)
            group.addTask { for _ in 0..<share { try await body() } }
        }
        try await group.waitForAll()
    }
    let seconds = Double(monotonicNanoseconds() - started) / 1e9
    say(
        "\(label): \(count) in \(String(format: "%.2f", seconds)) s = \(String(format: "%.0f", Double(count) / seconds))/s"
    )
}

/// `issue` latency with `store` as the authority store (`count` fresh steps of one task, after 20 warm-up issues).
func issueLatency(
    _ label: String,
    _ count: Int,
    store: some AuthorityStore,
    revocations: some RevocationStore
) async throws {
    let authority = CredentialAuthority(
        .init(
            issuerKey: issuerKey,
            agentClasses: classes,
            entitlements: EntitlementTable([
                "canary": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])]
            ]),
            revocations: RevocationPublisher(store: revocations, signer: revocationKey, clock: SystemClock()),
            audit: try await AuditLog.open(
                store: InMemoryAuditStore(),
                service: "authority",
                signingKey: Ed25519.PrivateKey(),
                salt: AuditSalt()
            ),
            store: store
        )
    )
    let agent = try AgentIdentity("spiffe://acme.test/agent/canary/bench")
    try await authority.register(agent, publicKey: Ed25519.PrivateKey().publicKey, agentClass: "canary")
    let task = try await authority.openTask(for: agent, objective: "o", intent: "i", deadline: .seconds(3000))
    var samples: [Double] = []
    for i in 0..<(count + 20) {
        let grant = StepGrant(name: "s\(i)", audience: "repo", actions: ["read"], resources: ["repo/a"])
        let started = monotonicNanoseconds()
        _ = try await authority.issue(task: task, step: grant)
        if i >= 20 { samples.append(Double(monotonicNanoseconds() - started) / 1e6) }
    }
    say("CredentialAuthority.issue on \(label), \(samples.count) fresh steps: \(summary(samples))")
}

/// `bench-stores <schema> <count>`.
func benchStores() async throws {
    guard arguments.count >= 4, let count = Int(arguments[3]), count > 0 else {
        fail("usage: WritPostgresHelper bench-stores <schema> <count>")
    }
    try await service.migrate()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("writ-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    say("load average \(loadAverage())")
    let far = SystemClock().now().advanced(by: .seconds(3600))
    let postgres = PostgresNonceStore(service: service)
    try await rate("PostgresNonceStore inserts, one at a time", count) {
        _ = try await postgres.insertIfAbsent(.random(), expiresAt: far)
    }
    try await rate("PostgresNonceStore inserts, 16 in flight", count, concurrency: 16) {
        _ = try await postgres.insertIfAbsent(.random(), expiresAt: far)
    }
    #if SQLite
    let sqlite = try SQLiteNonceStore(path: directory.appendingPathComponent("nonces.sqlite").path)
    try await rate("SQLiteNonceStore inserts, one at a time", count) {
        _ = try await sqlite.insertIfAbsent(.random(), expiresAt: far)
    }
    try await rate("SQLiteNonceStore inserts, 16 in flight", count, concurrency: 16) {
        _ = try await sqlite.insertIfAbsent(.random(), expiresAt: far)
    }
    #endif
    let file = try FileNonceStore(path: directory.appendingPathComponent("nonces").path)
    try await rate("FileNonceStore inserts, one at a time", count) {
        _ = try await file.insertIfAbsent(.random(), expiresAt: far)
    }
    let issues = max(50, count / 4)
    try await issueLatency(
        "PostgreSQL",
        issues,
        store: PostgresAuthorityStore(service: service),
        revocations: PostgresRevocationStore(service: service)
    )
    #if SQLite
    try await issueLatency(
        "SQLite",
        issues,
        store: try SQLiteAuthorityStore(path: directory.appendingPathComponent("authority.sqlite").path),
        revocations: try SQLiteRevocationStore(path: directory.appendingPathComponent("feed.sqlite").path)
    )
    #endif
    try await issueLatency(
        "the in-memory store",
        issues,
        store: InMemoryAuthorityStore(),
        revocations: InMemoryRevocationStore()
    )
    say("load average \(loadAverage())")
}

let done = Task {
    do {
        switch mode {
        case "authority": try await runAuthority()
        case "gate": try await runGate(audience: arguments.count > 3 ? arguments[3] : "repo")
        case "follow": try await runFollower()
        case "bench-propagation": try await benchPropagation()
        case "bench-stores": try await benchStores()
        default: fail("unknown mode \(mode)")
        }
    } catch {
        fail("\(String(reflecting: error))")
    }
}
await done.value
running.cancel()
#endif
