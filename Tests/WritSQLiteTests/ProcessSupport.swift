#if SQLite
import Dispatch
import Foundation
import Testing
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

/// The authority the helper process runs (same keys, class and entitlements), for the test's side of a file.
enum SharedAuthority {
    static func key(_ byte: UInt8) throws -> Ed25519.PrivateKey {
        try Ed25519.PrivateKey(seed: SecureBytes([UInt8](repeating: byte, count: 32)))
    }
    static let worker = try! AgentIdentity("spiffe://sqlite.test/agent/worker/1")
    static let workerKey = try! key(0x57)
    static var revocationKey: Ed25519.PrivateKey { try! key(0x52) }

    static func publisher(_ database: SQLiteDatabase) throws -> RevocationPublisher {
        RevocationPublisher(
            store: SQLiteRevocationStore(database: database),
            signer: try key(0x52),
            clock: SystemClock()
        )
    }

    static func authority(
        _ database: SQLiteDatabase,
        log name: String = "authority-test"
    ) async throws
        -> CredentialAuthority
    {
        let log = try await AuditLog.open(
            store: SQLiteAuditStore(database: database, log: name),
            service: "authority",
            signingKey: try key(0x41),
            salt: AuditSalt()
        )
        return CredentialAuthority(
            .init(
                issuerKey: try key(0x49),
                agentClasses: [try AgentClass(name: "worker", defaultTTL: .seconds(60), maximumTTL: .seconds(600))],
                entitlements: EntitlementTable([
                    "worker": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])]
                ]),
                revocations: try publisher(database),
                audit: log,
                store: SQLiteAuthorityStore(database: database),
                clock: SystemClock()
            )
        )
    }

    /// Registers the worker and opens a task on `database`; returns the task id.
    static func openTask(_ authority: CredentialAuthority) async throws -> String {
        try await authority.register(worker, publicKey: workerKey.publicKey, agentClass: "worker")
        return try await authority.openTask(
            for: worker,
            objective: "multi-process",
            intent: "test",
            deadline: .seconds(3600)
        )
    }

    static func grant(_ name: String) -> StepGrant {
        StepGrant(name: name, audience: "repo", actions: ["read"], resources: ["repo/a"])
    }
}

/// Runs `WritSQLiteHelper` (built beside the test bundle) and collects its "ack" lines.
struct Helper {
    static var executable: URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent("WritSQLiteHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    let process = Process()
    let output = Pipe()
    let errors = Pipe()
    let marker: String

    /// Starts the helper with `arguments` (mode, database, then the mode's own) and waits until it is ready.
    init(_ mode: String, database: String, _ more: [String] = [], marker: String) async throws {
        let executable = try #require(Self.executable, "WritSQLiteHelper not found beside \(CommandLine.arguments[0])")
        self.marker = marker
        process.executableURL = executable
        process.arguments = [mode, database, marker] + more
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Waits (bounded) until the helper has opened its stores.
    func waitUntilReady() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: marker), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Kills the helper with SIGKILL and returns its acknowledgements.
    func kill() async -> [[Substring]] {
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        return await finish()
    }

    /// Waits for the helper to exit and returns its acknowledgements (each line's words after "ack").
    func finish() async -> [[Substring]] {
        let data = await Self.drain(output.fileHandleForReading)
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            return words.first == "ack" ? Array(words.dropFirst()) : nil
        }
    }

    var errorText: String {
        get async { String(decoding: await Self.drain(errors.fileHandleForReading), as: UTF8.self) }
    }

    /// Reads a pipe to its end on a Dispatch thread (never blocking the cooperative pool).
    static func drain(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }
}
#endif
