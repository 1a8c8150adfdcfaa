import WritAudit
import WritCrypto

// Test support only: the child process of WritAuditTests' crash test. It opens (and so repairs) the file log given
// as its first argument, creates the marker file given as its second once ready, then appends from several tasks
// in a loop, printing "ack <index>" after each append has returned, until the parent kills it with SIGKILL.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one line to a file descriptor with a single write (< PIPE_BUF bytes, so atomic on a pipe).
func say(_ line: String, to fd: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

/// The log key's seed, shared with the test so that every round reopens the log with the same key.
let crashTestSeed = [UInt8](repeating: 0x42, count: 32)

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    say("usage: WritAuditCrashHelper LOG READY-MARKER", to: 2)
    exit(2)
}

do {
    let store = try FileAuditStore.open(path: arguments[1])
    let log = try await AuditLog.open(
        store: store,
        service: "crash-test",
        signingKey: try Ed25519.PrivateKey(seed: SecureBytes(crashTestSeed)),
        salt: AuditSalt()
    )
    let marker = open(arguments[2], O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    close(marker)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<6 {
            group.addTask {
                var n = 0
                while true {
                    n += 1
                    let index = try await log.record(
                        AuditEvent(
                            .used,
                            agent: "agent-\(worker)",
                            task: "crash",
                            step: "\(n)",
                            tokenID: "tok-\(worker)-\(n)",
                            reason: String(repeating: "r", count: n % 50)
                        )
                    )
                    say("ack \(index)")
                }
            }
        }
        try await group.waitForAll()
    }
} catch {
    say("helper: \(error)", to: 2)
    exit(1)
}
