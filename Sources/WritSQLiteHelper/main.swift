// Test support only: the child process that WritSQLiteTests runs beside itself on one database file, and kills with
// SIGKILL in its crash tests. Modes (every one creates READY-MARKER once its stores are open, then works, printing
// one "ack …" line after each write has returned — so every acknowledged write is on the parent's pipe):
//
//   WritSQLiteHelper revoke DB MARKER COUNT TAG    appends COUNT revocations (0: until killed): "ack <sequence> <n>"
//   WritSQLiteHelper issue DB MARKER COUNT TASK    issues COUNT steps of TASK (0: until killed): "ack <step> <number>"
//   WritSQLiteHelper audit DB MARKER               records audit events from 6 tasks until killed: "ack <index>"
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
    default:
        say("unknown mode \(mode)", to: 2)
        exit(2)
    }
} catch {
    say("helper: \(error)", to: 2)
    exit(1)
}
#else
print("WritSQLiteHelper needs the SQLite package trait")
#endif
