#if CLI
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

/// The trusted keys of `writ audit verify` and `writ audit timeline`.
struct AuditKeyOptions: ParsableArguments {
    @Option(
        name: .customLong("key"),
        help: """
            A trusted key: a signed-note verifier key (log key, or witness key), or a log's 32-byte public key as \
            base64url or hex; inline or a file. Repeatable.
            """
    )
    var keys: [String] = []
    @Option(name: .customLong("keys"), help: "A folder of trusted keys: every *.pub file in it (verifier keys).")
    var keyFolder: String?
    @Option(help: "A signed checkpoint of a log held elsewhere (C2SP signed note); repeatable.")
    var checkpoint: [String] = []
    @Flag(help: "Check the chain only, without keys: nothing is verified, and the output says so.")
    var noKey = false

    func validate() throws {
        if noKey, !keys.isEmpty || keyFolder != nil {
            throw ValidationError("--no-key cannot be combined with --key or --keys")
        }
        if !noKey, keys.isEmpty, keyFolder == nil {
            throw ValidationError(
                "give the logs' public keys with --key or --keys (signatures are checked only against keys you "
                    + "give), or --no-key for a chain-only check that verifies nothing"
            )
        }
    }

    /// The keyring from `--key` and `--keys`.
    func keyring() throws -> AuditKeyring {
        var ring = AuditKeyring()
        var texts = keys
        if let keyFolder {
            let names = try FileManager.default.contentsOfDirectory(atPath: keyFolder).filter { $0.hasSuffix(".pub") }
            guard !names.isEmpty else { throw CLIError.input("'\(keyFolder)' holds no *.pub key") }
            texts += names.sorted().map { keyFolder + "/" + $0 }
        }
        for argument in texts {
            let text = FileManager.default.fileExists(atPath: argument) ? try readText(argument) : argument
            if text.contains("+"), (try? ring.add(verifierKey: text)) != nil { continue }
            ring.add(logKey: try loadPublicKey(text))
        }
        return ring
    }

    /// The `--checkpoint` files.
    func checkpoints() throws -> [CheckpointEvidence] {
        try checkpoint.map { CheckpointEvidence(try loadCheckpoint($0), source: .elsewhere($0)) }
    }
}

/// `writ audit verify LOG (--key KEY... | --keys DIR | --no-key) [--checkpoint FILE]...`
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a log file: chain, Merkle tree, and signed checkpoints, against keys you give.",
        discussion: """
            Reads the log's checkpoint frames, the checkpoint file beside it (<log>.checkpoint) and every witness \
            copy (<log>.witness-*.checkpoint) by itself, plus --checkpoint files. Signatures are checked only \
            against the keys given; a checkpoint signed by any other key is reported as unverified and covers \
            nothing. Prints which entries no verified signature covers.

            Exit 0 when every entry is covered by a verified signature and nothing failed; exit 1 naming the \
            first bad entry, or the entries no verified signature covers; exit 2 for bad usage. With --no-key \
            the chain is checked alone and the output says UNVERIFIED (exit 0 when the chain is intact).

            Without a witness (a checkpoint held elsewhere), whole trailing batches dropped together with their \
            checkpoints and the checkpoint file rolled back with them cannot be detected.

            Examples:
              writ audit verify writ-demo/audit/repo.log --keys writ-demo/keys
              writ audit verify repo.log --key repo.pub --checkpoint repo-from-witness.checkpoint
            """
    )

    @Argument(help: "The audit log file.") var log: String
    @OptionGroup var keys: AuditKeyOptions

    func run() async throws {
        let report: AuditVerificationReport
        do {
            report = try AuditVerifier.verify(
                fileAt: log,
                keys: try keys.noKey ? AuditKeyring() : keys.keyring(),
                checkpoints: try keys.checkpoints()
            )
        } catch let error as AuditError {
            throw CLIError.input(error.context)
        }
        for result in report.checkpoints { print("  \(result)") }
        if report.tornTailBytes > 0 {
            print("  \(report.tornTailBytes) bytes after the last frame: an unacknowledged torn write")
        }
        if let uncovered = report.uncovered {
            print("  entries \(uncovered.lowerBound)..<\(uncovered.upperBound): covered by NO verified signature")
        }
        print("  note: \(AuditVerificationReport.witnessCaveat)")
        if let failure = report.failure { throw CLIError.rejected("\(log): \(failure)") }
        if report.isVerified {
            print("\(log): \(report)")
            return
        }
        guard report.signaturesChecked else {
            print("\(log): \(report)")
            return
        }
        throw CLIError.rejected("\(log): \(report)")
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
        let report = AuditVerifier.verify(scan: scan, keys: AuditKeyring())
        if let failure = report.failure { throw CLIError.rejected("\(log): \(failure); refusing to sign") }
        guard let name = report.origin ?? origin else {
            throw CLIError.input("'\(log)' is empty: give --origin")
        }
        let privateKey = try loadPrivateKey(key)
        let checkpoint = try LogCheckpoint(origin: name, size: report.entryCount, rootHash: report.rootHash)
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
        let report = AuditVerifier.verify(scan: scan, keys: AuditKeyring())
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

/// `writ audit timeline LOG... (--key KEY... | --keys DIR | --no-key) [--task T] [--agent A] [--token ID] [--json]`
struct AuditTimelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Verify several services' logs and print one merged, filtered timeline.",
        discussion: """
            Each log is verified as by `writ audit verify` with the same keys and checkpoints. A log that fails \
            is refused (exit 1); so is one with entries no verified signature covers, unless --allow-unverified, \
            which keeps it and marks those rows SIG NONE. With --no-key every row is marked NONE. A token filter \
            keeps the token and every token delegated from it.

            Examples:
              writ audit timeline writ-demo/audit/*.log --keys writ-demo/keys --task task-0ca2ddde4d88
              writ audit timeline authority.log repo.log --key authority.pub --key repo.pub --json
            """
    )

    @Argument(help: "Audit log files, one per service.") var logs: [String]
    @OptionGroup var keys: AuditKeyOptions
    @Flag(help: "Keep logs with entries that no verified signature covers (their rows say SIG NONE).")
    var allowUnverified = false
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Only this agent.") var agent: String?
    @Option(help: "Only this token and its delegations.") var token: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        guard !logs.isEmpty else { throw CLIError.input("give at least one log file") }
        let keyring = try keys.noKey ? AuditKeyring() : keys.keyring()
        let checkpoints = try keys.checkpoints()
        let sources = try logs.map { path in
            do {
                return try ForensicTimeline.Source(fileAt: path, keys: keyring, checkpoints: checkpoints)
            } catch let error as AuditError {
                throw CLIError.input(error.context)
            }
        }
        let timeline: ForensicTimeline
        do {
            timeline = try ForensicTimeline(sources: sources, requireVerified: !keys.noKey && !allowUnverified)
                .filtered(task: task, agent: agent, token: token)
        } catch let error as AuditError {
            throw CLIError.rejected(error.context + (error.code == .invalidSignature ? " (--allow-unverified)" : ""))
        }
        for source in sources where !source.report.isVerified {
            printError("warning: \(source.name): \(source.report)")
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
    guard !text.isEmpty else { throw CLIError.input("--key is empty") }
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
#endif
