// Test support only: the child process that WritSQLiteTests runs beside itself on one database file, and kills with
// SIGKILL in its crash tests. Modes (every one creates READY-MARKER once its stores are open, then works, printing
// one "ack …" line after each write has returned — so every acknowledged write is on the parent's pipe):
//
//   WritSQLiteHelper revoke DB MARKER COUNT TAG    appends COUNT revocations (0: until killed): "ack <sequence> <n>"
//   WritSQLiteHelper issue DB MARKER COUNT TASK    issues COUNT steps of TASK (0: until killed): "ack <step> <number>"
//   WritSQLiteHelper audit DB MARKER               records audit events from 6 tasks until killed: "ack <index>"
//   WritSQLiteHelper bench DB MARKER [N]           prints latencies (not a test): raw pwrite+fdatasync, revoke and
//                                                  CredentialAuthority.issue on SQLite vs in memory, interleaved
//
// The keys, class and entitlements are fixed (WritSQLiteTests' `SharedAuthority` uses the same ones).
#if SQLite
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritRevocation
import WritSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one line with a single write (< PIPE_BUF bytes, so atomic on a pipe).
func say(_ line: String, to fd: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

func key(_ byte: UInt8) throws -> Ed25519.PrivateKey {
    try Ed25519.PrivateKey(seed: SecureBytes([UInt8](repeating: byte, count: 32)))
}

func ready(_ marker: String) {
    close(open(marker, O_WRONLY | O_CREAT | O_TRUNC, 0o600))
}

let arguments = CommandLine.arguments
guard arguments.count >= 4 else {
    say("usage: WritSQLiteHelper revoke|issue|audit DB MARKER [COUNT TAG|TASK]", to: 2)
    exit(2)
}
let (mode, path, marker) = (arguments[1], arguments[2], arguments[3])
let count = arguments.count > 4 ? Int(arguments[4]) ?? 0 : 0
let pid = getpid()

do {
    let database = try SQLiteDatabase.open(path: path, busyTimeout: .seconds(30))
    let clock = SystemClock()
    let publisher = RevocationPublisher(
        store: SQLiteRevocationStore(database: database),
        signer: try key(0x52),
        clock: clock
    )
    switch mode {
    case "revoke":
        let tag = UInt64(arguments.count > 5 ? arguments[5] : "0") ?? 0
        ready(marker)
        var n: UInt64 = 0
        while count == 0 || n < UInt64(count) {
            n += 1
            let entry = try await publisher.revoke(
                .block(RevocationID(high: tag, low: n)),
                reason: .manual,
                coversUntil: clock.now().advanced(by: .seconds(600))
            )
            say("ack \(entry.sequence) \(n)")
        }
    case "issue":
        let task = arguments.count > 5 ? arguments[5] : ""
        let log = try await AuditLog.open(
            store: SQLiteAuditStore(database: database, log: "authority-\(pid)"),
            service: "authority",
            signingKey: try key(0x41),
            salt: AuditSalt()
        )
        let authority = CredentialAuthority(
            .init(
                issuerKey: try key(0x49),
                agentClasses: [try AgentClass(name: "worker", defaultTTL: .seconds(60), maximumTTL: .seconds(600))],
                entitlements: EntitlementTable([
                    "worker": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])]
                ]),
                revocations: publisher,
                audit: log,
                store: SQLiteAuthorityStore(database: database),
                clock: clock
            )
        )
        ready(marker)
        var n = 0
        while count == 0 || n < count {
            n += 1
            let name = "p\(pid)-\(n)"
            let issued = try await authority.issue(
                task: task,
                step: StepGrant(name: name, audience: "repo", actions: ["read"], resources: ["repo/a"])
            )
            say("ack \(name) \(issued.token.root.claims.step ?? 0)")
        }
    case "audit":
        let log = try await AuditLog.open(
            store: SQLiteAuditStore(database: database),
            service: "crash-test",
            signingKey: try key(0x42),
            salt: AuditSalt()
        )
        ready(marker)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var n = 0
                    while true {
                        n += 1
                        let index = try await log.record(
                            AuditEvent(.used, agent: "agent-\(worker)", task: "crash", tokenID: "tok-\(worker)-\(n)")
                        )
                        say("ack \(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
    case "bench":
        ready(marker)
        try await bench(database: database, rounds: max(count, 1))
    default:
        say("unknown mode \(mode)", to: 2)
        exit(2)
    }
} catch {
    say("helper: \(error)", to: 2)
    exit(1)
}

/// Medians and 90th percentiles, in microseconds, of `rounds` interleaved chunks of 50 operations of each kind.
func bench(database: SQLiteDatabase, rounds: Int) async throws {
    let clock = SystemClock()
    let chunk = 50
    func measure(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        let (s, a) = start.duration(to: .now).components
        return Double(s) * 1e6 + Double(a) / 1e12
    }
    // The raw limit: one pwrite + fdatasync of 200 bytes, on the same disk.
    let rawPath = database.path + ".raw"
    let fd = open(rawPath, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    defer { close(fd) }
    let block = [UInt8](repeating: 7, count: 200)
    var offset: off_t = 0
    func sync() {
        _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
        offset += 200
        _ = fdatasync(fd)
    }
    // Revocations: SQLite file vs memory (publisher.revoke = append + signed head, two transactions).
    let fileFeed = RevocationPublisher(
        store: SQLiteRevocationStore(database: database),
        signer: try key(0x52),
        clock: clock
    )
    let memoryFeed = RevocationPublisher(store: InMemoryRevocationStore(), signer: try key(0x52), clock: clock)
    // Issuance: the authority's store on the SQLite file vs in memory (feed and audit in memory for both).
    func authority(_ store: any AuthorityStore) async throws -> (CredentialAuthority, String) {
        let log = try await AuditLog.open(
            store: InMemoryAuditStore(),
            service: "authority",
            signingKey: try key(0x41),
            salt: AuditSalt()
        )
        let authority = CredentialAuthority(
            .init(
                issuerKey: try key(0x49),
                agentClasses: [try AgentClass(name: "worker", defaultTTL: .seconds(60), maximumTTL: .seconds(600))],
                entitlements: EntitlementTable([
                    "worker": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])]
                ]),
                revocations: RevocationPublisher(store: InMemoryRevocationStore(), signer: try key(0x52), clock: clock),
                audit: log,
                store: store,
                clock: clock
            )
        )
        let agent = try AgentIdentity("spiffe://bench.test/agent/worker/1")
        try await authority.register(agent, publicKey: try key(0x57).publicKey, agentClass: "worker")
        let task = try await authority.openTask(
            for: agent,
            objective: "bench",
            intent: "bench",
            deadline: .seconds(3600)
        )
        return (authority, task)
    }
    let (fileAuthority, fileTask) = try await authority(SQLiteAuthorityStore(database: database))
    let (memoryAuthority, memoryTask) = try await authority(InMemoryAuthorityStore())
    var samples: [String: [Double]] = [:]
    var n: UInt64 = 0
    for round in 0..<rounds {
        for _ in 0..<chunk {
            n += 1
            samples["raw pwrite+fdatasync", default: []].append(await measure { sync() })
            let target = RevocationTarget.block(RevocationID(high: 9, low: n))
            let until = clock.now().advanced(by: .seconds(600))
            samples["revoke, SQLite file", default: []].append(
                try await measure { try await fileFeed.revoke(target, reason: .manual, coversUntil: until) }
            )
            samples["revoke, in memory", default: []].append(
                try await measure { try await memoryFeed.revoke(target, reason: .manual, coversUntil: until) }
            )
            let grant = StepGrant(name: "s\(round)-\(n)", audience: "repo", actions: ["read"], resources: ["repo/a"])
            samples["issue, SQLite file", default: []].append(
                try await measure { _ = try await fileAuthority.issue(task: fileTask, step: grant) }
            )
            samples["issue, in memory", default: []].append(
                try await measure { _ = try await memoryAuthority.issue(task: memoryTask, step: grant) }
            )
        }
    }
    for name in [
        "raw pwrite+fdatasync", "revoke, SQLite file", "revoke, in memory", "issue, SQLite file", "issue, in memory",
    ] {
        let sorted = (samples[name] ?? []).sorted()
        guard !sorted.isEmpty else { continue }
        let median = sorted[sorted.count / 2]
        let p90 = sorted[sorted.count * 9 / 10]
        say("\(name): n=\(sorted.count) median \(Int(median)) µs, p90 \(Int(p90)) µs")
    }
}
#else
print("WritSQLiteHelper needs the SQLite package trait")
#endif
