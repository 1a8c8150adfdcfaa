import ArgumentParser
import Foundation
import WritAudit
import WritCrypto

/// `writ audit …`: verify audit logs, sign checkpoints, prove inclusion, and build a forensic timeline.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify audit logs, sign checkpoints, prove inclusion, build a cross-service timeline.",
        subcommands: [
            AuditVerifyCommand.self, AuditCheckpointCommand.self, AuditProveCommand.self,
            AuditTimelineCommand.self,
        ]
    )
}

/// `writ audit verify LOG [--checkpoint FILE]... [--key PUBKEY]`
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a log file: chain, Merkle tree, and checkpoints held elsewhere.",
        discussion: """
            Exit 0 when the log verifies; exit 1 naming the first bad entry.

            Examples:
              writ audit verify writ-demo/audit/repo.log
              writ audit verify repo.log --checkpoint repo.log.checkpoint --key repo-log.pub
            """
    )

    @Argument(help: "The audit log file.") var log: String
    @Option(help: "A signed checkpoint of this log (C2SP signed note); repeatable.") var checkpoint: [String] = []
    @Option(help: "The log's public key: a signed-note verifier key, or 32 bytes as base64url or hex (text or file).")
    var key: String?

    func run() async throws {
        let scan = try scanLog(log)
        let checkpoints = try checkpoint.map(loadCheckpoint)
        let publicKey = try key.map(loadPublicKey)
        let report = AuditVerifier.verify(
            entries: scan.entries,
            checkpoints: checkpoints,
            logKey: publicKey,
            damage: scan.damage
        )
        if scan.tornTailBytes > 0, report.isValid {
            printError(
                "warning: '\(log)' ends with a torn, unacknowledged write of \(scan.tornTailBytes) bytes "
                    + "(repaired on next open)"
            )
        }
        guard let failure = report.failure else {
            print(
                "OK \(log): \(report.entryCount) entries, root \(Hex.encode(report.rootHash)), "
                    + "\(report.checkpointsVerified) checkpoint(s) verified"
            )
            return
        }
        throw CLIError.rejected("\(log): \(failure)")
    }
}

/// `writ audit checkpoint LOG --key KEY`
struct AuditCheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Verify a log file and print a checkpoint of it signed with the log's key (C2SP signed note).",
        discussion: """
            Examples:
              writ audit checkpoint repo.log --key repo-log.key > repo.log.checkpoint
            """
    )

    @Argument(help: "The audit log file.") var log: String
    @Option(help: "File holding the log's Ed25519 private key seed (32 bytes, base64url or hex).") var key: String
    @Option(help: "The log's origin, when the log is empty (otherwise its entries' service).") var origin: String?

    func run() async throws {
        let scan = try scanLog(log)
        let report = AuditVerifier.verify(entries: scan.entries, damage: scan.damage)
        if let failure = report.failure { throw CLIError.rejected("\(log): \(failure); refusing to sign") }
        guard let name = report.origin ?? origin else {
            throw CLIError.input("'\(log)' is empty: give --origin")
        }
        let privateKey = try loadPrivateKey(key)
        let checkpoint = try Checkpoint(origin: name, size: report.entryCount, rootHash: report.rootHash)
        print(SignedCheckpoint.sign(checkpoint, name: name, key: privateKey).text, terminator: "")
    }
}

/// `writ audit prove LOG --index N [--checkpoint FILE]`
struct AuditProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Print the Merkle inclusion proof of one entry.",
        discussion: """
            With --checkpoint, prints a c2sp.org/tlog-proof@v1 for the checkpoint's tree size; otherwise the proof
            for the whole log with its root.

            Examples:
              writ audit prove repo.log --index 3
              writ audit prove repo.log --index 3 --checkpoint repo.log.checkpoint
            """
    )

    @Argument(help: "The audit log file.") var log: String
    @Option(help: "The entry's index.") var index: UInt64
    @Option(help: "A signed checkpoint of this log to prove against.") var checkpoint: String?

    func run() async throws {
        let scan = try scanLog(log)
        let report = AuditVerifier.verify(entries: scan.entries, damage: scan.damage)
        if let failure = report.failure { throw CLIError.rejected("\(log): \(failure)") }
        var tree = MerkleTree()
        for entry in scan.entries { tree.append(leafHash: AuditEntry.leafHash(of: entry)) }
        let signed = try checkpoint.map(loadCheckpoint)
        let size = signed?.checkpoint.size ?? tree.size
        guard index < size, size <= tree.size else {
            throw CLIError.input("no entry \(index) in a tree of \(size) (the log holds \(tree.size))")
        }
        let proof = try tree.inclusionProof(index: index, size: size)
        let root = try tree.root(size: size)
        if let signed {
            guard signed.checkpoint.rootHash == root else {
                throw CLIError.rejected("\(log): entries 0..<\(size) do not match the checkpoint root")
            }
            var text = "c2sp.org/tlog-proof@v1\nindex \(index)\n"
            for hash in proof { text += Data(hash).base64EncodedString() + "\n" }
            print(text + "\n" + signed.text, terminator: "")
            return
        }
        print("index \(index)")
        print("size \(size)")
        print("leaf \(Data(tree.leafHash(at: index)).base64EncodedString())")
        print("root \(Data(root).base64EncodedString())")
        print("proof \(proof.count) hashes (\(proof.count * 32) bytes)")
        for hash in proof { print(Data(hash).base64EncodedString()) }
    }
}

/// `writ audit timeline LOG... [--task T] [--agent A] [--token ID] [--json]`
struct AuditTimelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Verify several services' logs and print one merged, filtered timeline.",
        discussion: """
            A token filter keeps the token and every token delegated from it. Exit 1 if any log fails.

            Examples:
              writ audit timeline writ-demo/audit/*.log --task task-0ca2ddde4d88
              writ audit timeline authority.log repo.log --agent spiffe://acme.example/agent/planner/1 --json
            """
    )

    @Argument(help: "Audit log files, one per service.") var logs: [String]
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Only this agent.") var agent: String?
    @Option(help: "Only this token and its delegations.") var token: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        guard !logs.isEmpty else { throw CLIError.input("give at least one log file") }
        let sources = try logs.map { path in
            let scan = try scanLog(path)
            return ForensicTimeline.Source(name: path, entries: scan.entries, damage: scan.damage)
        }
        let timeline: ForensicTimeline
        do {
            timeline = try ForensicTimeline(sources: sources).filtered(task: task, agent: agent, token: token)
        } catch let error as AuditError {
            throw CLIError.rejected(error.context)
        }
        if json {
            print(try jsonText(timeline.rows))
        } else {
            print(timeline.table(), terminator: "")
        }
    }
}

// MARK: Helpers

/// Reads a log file without changing it.
func scanLog(_ path: String) throws -> FileAuditStore.Scan {
    do {
        return try FileAuditStore.scan(path: path)
    } catch let error as AuditError {
        throw CLIError.input(error.context)
    }
}

/// Reads a signed checkpoint file.
func loadCheckpoint(_ path: String) throws -> SignedCheckpoint {
    guard let text = String(data: try readFile(path), encoding: .utf8) else {
        throw CLIError.input("'\(path)' is not UTF-8 text")
    }
    do {
        return try SignedCheckpoint(text: text)
    } catch let error as AuditError {
        throw CLIError.input("'\(path)': \(error.context)")
    }
}

/// Decodes 32 key bytes from base64url or hex.
private func keyBytes(_ text: String) -> [UInt8]? {
    if let bytes = Hex.decode(text), bytes.count == 32 { return bytes }
    if let bytes = Base64URL.decode(text), bytes.count == 32 { return bytes }
    return nil
}

/// A public key given as text or in a file: a signed-note verifier key, or 32 bytes in base64url or hex.
func loadPublicKey(_ argument: String) throws -> Ed25519.PublicKey {
    let text = FileManager.default.fileExists(atPath: argument) ? try readText(argument) : argument
    if text.contains("+"), let parsed = try? NoteKey.parse(text) { return parsed.key }
    guard let bytes = keyBytes(text) else {
        throw CLIError.input("--key is not a verifier key or 32 bytes of base64url or hex")
    }
    return try Ed25519.PublicKey(rawRepresentation: bytes)
}

/// A private key seed file (32 bytes in base64url or hex).
func loadPrivateKey(_ path: String) throws -> Ed25519.PrivateKey {
    guard let seed = keyBytes(try readText(path)) else {
        throw CLIError.input("'\(path)' does not hold a 32-byte seed in base64url or hex")
    }
    return try Ed25519.PrivateKey(seed: SecureBytes(seed))
}
