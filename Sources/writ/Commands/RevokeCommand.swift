import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritRevocation

/// `writ revoke (--token-block HEX | --task ID | --agent SPIFFE-ID | --issuer-key HEX) [--reason R]
/// [--covers-until SECONDS] [--store FILE] [--json]`, or `writ revoke --list [--store FILE] [--json]`.
///
/// Appends to a ``FileRevocationStore``, the file the embedded deployment (`writ demo`) follows, so a revocation
/// made from a shell reaches a running process. Exit 0 on success, 1 when the store refuses (a damaged file),
/// 2 for usage errors or a file that cannot be opened.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a token block, a task, an agent or an issuer key in a revocation file, or list the file.",
        discussion: """
            Exactly one target: --token-block (a block's revocation id; everything delegated from it goes with \
            it), --task, --agent or --issuer-key. The entry is durable when the command returns, and verifiers \
            that follow the file apply it on their next sync. Several processes may append to the same file.

            --covers-until is when every token the target covers has expired, in seconds from now; after it (and \
            the verifiers' clock skew) the entry may be pruned. Too long is safe; too short un-revokes early. It \
            is rounded up to a whole minute, so repeating a command within the minute shows the entry it \
            recorded instead of appending another.

            Examples:
              writ revoke --task t-42 --reason completed
              writ revoke --token-block 0102030405060708090a0b0c0d0e0f10 --reason anomaly
              writ revoke --agent spiffe://acme.dev/agent/researcher/7 --covers-until 3600
              writ revoke --issuer-key 0908070605040302 --reason key-compromised --json
              writ revoke --task t-42 --store /var/lib/writ/revocations.log
              writ revoke --list
              writ revoke --list --json --store /tmp/writ-demo/revocations.log

            Exit status: 0 done · 1 the store refused (damaged file, named by line) · 2 usage error or unreadable file.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The revocation file; created (with its directory) when missing, except for --list.",
            valueName: "file"
        )
    )
    var store = "writ-demo/revocations.log"

    @Option(
        name: .customLong("token-block"),
        help: ArgumentHelp("A token block's revocation id (32 hex digits).", valueName: "hex")
    )
    var tokenBlock: String?

    @Option(help: ArgumentHelp("A task id: revokes every token minted for the task.", valueName: "id"))
    var task: String?

    @Option(help: ArgumentHelp("An agent's SPIFFE id: revokes every token the agent holds.", valueName: "spiffe-id"))
    var agent: String?

    @Option(
        name: .customLong("issuer-key"),
        help: ArgumentHelp("An issuer key id (16 hex digits): revokes every token it signed.", valueName: "hex")
    )
    var issuerKey: String?

    @Option(help: "Why: \(RevocationReason.allCases.map(\.rawValue).joined(separator: ", ")) (default manual).")
    var reason: String?

    @Option(
        name: .customLong("covers-until"),
        help: ArgumentHelp(
            "Seconds from now until every token the target covers has expired (default 86400, one day).",
            valueName: "seconds"
        )
    )
    var coversUntil: Int64?

    @Flag(help: "Show the file's entries and verifier watermarks instead of revoking.")
    var list = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    /// The longest coverage accepted: ten years.
    static let maximumCoverSeconds: Int64 = 10 * 366 * 86_400

    func run() async throws {
        if list { return try await runList() }
        let target = try parseTarget()
        guard let reason = RevocationReason(rawValue: reason ?? RevocationReason.manual.rawValue) else {
            throw CLIError.input(
                "unknown reason '\(reason ?? "")': use one of \(RevocationReason.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let coversUntil = coversUntil ?? 86_400
        guard (0...Self.maximumCoverSeconds).contains(coversUntil) else {
            throw CLIError.input("--covers-until must be 0...\(Self.maximumCoverSeconds) seconds, got \(coversUntil)")
        }
        let directory = (store as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw CLIError.input("cannot create the directory '\(directory)': \(error.localizedDescription)")
            }
        }
        let revocations = try openStore()
        let now = SystemClock().now()
        // Rounded up to a whole minute (longer is safe), so that repeating the command within the minute finds the
        // existing entry instead of appending one that covers a few milliseconds longer.
        let minute: Int64 = 60_000
        let end = now.advanced(by: .seconds(coversUntil)).millisecondsSinceEpoch
        let remainder = end % minute  // `end` is after 1970 and at most ten years ahead: no overflow
        let until = Timestamp(millisecondsSinceEpoch: remainder > 0 ? end + minute - remainder : end)
        let before = try await storeCall { try await revocations.latestSequence() }
        let entry = try await storeCall {
            try await revocations.revoke(target, reason: reason, at: now, coversUntil: until)
        }
        let isNew = entry.sequence > before
        if json {
            print(try jsonText(Revoked(entry: EntryJSON(entry), new: isNew, store: store)))
        } else {
            print("\(isNew ? "revoked" : "already revoked") #\(entry.sequence) \(entry.target) (\(entry.reason))")
            print("  revoked at \(entry.revokedAt), covers until \(entry.coversUntil)")
            print("  store \(store)")
        }
    }

    private func runList() async throws {
        guard tokenBlock == nil, task == nil, agent == nil, issuerKey == nil, reason == nil, coversUntil == nil else {
            throw CLIError.input("--list takes no target, --reason or --covers-until")
        }
        guard FileManager.default.fileExists(atPath: store) else { throw CLIError.input("cannot read '\(store)'") }
        let revocations = try openStore()
        var entries: [RevocationEntry] = []
        while true {
            let after = entries.last?.sequence ?? 0
            let page = try await storeCall { try await revocations.entries(after: after, limit: 1000) }
            entries += page
            if page.count < 1000 { break }
        }
        let latest = try await storeCall { try await revocations.latestSequence() }
        let marks = try await storeCall { try await revocations.watermarks() }
        if json {
            print(
                try jsonText(
                    Listing(
                        store: store,
                        latestSequence: latest,
                        entries: entries.map(EntryJSON.init),
                        watermarks: marks.map(WatermarkJSON.init)
                    )
                )
            )
            return
        }
        print("\(store): \(entries.count) entries, latest sequence \(latest)")
        for entry in entries {
            print(
                "  #\(entry.sequence)  \(entry.target)  \(entry.reason)  at \(entry.revokedAt)  covers until \(entry.coversUntil)"
            )
        }
        print(marks.isEmpty ? "no verifier watermarks" : "verifier watermarks:")
        for mark in marks {
            let lag = latest > mark.sequence ? "  (\(latest - mark.sequence) behind)" : ""
            print("  \(mark.verifier)  @\(mark.sequence)  reported \(mark.recordedAt)\(lag)")
        }
    }

    /// The one target given, validated (a usage error names what is wrong).
    private func parseTarget() throws -> RevocationTarget {
        let given = [tokenBlock, task, agent, issuerKey].compactMap { $0 }
        guard given.count == 1 else {
            throw CLIError.input(
                given.isEmpty
                    ? "give a target: --token-block, --task, --agent or --issuer-key (or --list)"
                    : "give only one target, got \(given.count)"
            )
        }
        let target: RevocationTarget
        if let tokenBlock {
            guard let id = RevocationID(hex: tokenBlock.lowercased()),
                tokenBlock.utf8.count == 2 * RevocationID.byteCount
            else { throw CLIError.input("--token-block must be \(2 * RevocationID.byteCount) hex digits") }
            target = .block(id)
        } else if let issuerKey {
            guard let key = KeyID(hex: issuerKey.lowercased()), issuerKey.utf8.count == 2 * KeyID.byteCount else {
                throw CLIError.input("--issuer-key must be \(2 * KeyID.byteCount) hex digits")
            }
            target = .issuerKey(key)
        } else if let agent {
            do {
                _ = try AgentIdentity(agent)
            } catch {
                throw CLIError.input("--agent is not a SPIFFE id: \(error)")
            }
            target = .agent(agent)
        } else {
            target = .task(task!)
        }
        do {
            try target.validate()
        } catch {
            throw CLIError.input("\(error.context)")
        }
        return target
    }

    private func openStore() throws -> FileRevocationStore {
        do {
            return try FileRevocationStore.open(path: store)
        } catch {
            throw cliError(error)
        }
    }

    /// Runs a store call, mapping its errors to the CLI's exit codes.
    private func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RevocationError {
            throw cliError(error)
        }
    }

    /// A file that cannot be opened or written is exit 2; a damaged one the store refuses is exit 1.
    private func cliError(_ error: RevocationError) -> CLIError {
        switch error.code {
        case .storeUnavailable, .invalidArgument: .input(error.context)
        default: .rejected("\(error.context) (refused: \(error.code.rawValue))")
        }
    }
}

/// A revocation entry as JSON.
private struct EntryJSON: Encodable {
    let sequence: UInt64
    let target: String
    let kind: String
    let value: String
    let reason: String
    let revokedAt: String
    let revokedAtMs: Int64
    let coversUntil: String
    let coversUntilMs: Int64

    init(_ entry: RevocationEntry) {
        sequence = entry.sequence
        target = entry.target.description
        kind = entry.target.kind.rawValue
        value = entry.target.value
        reason = entry.reason.rawValue
        revokedAt = entry.revokedAt.description
        revokedAtMs = entry.revokedAt.millisecondsSinceEpoch
        coversUntil = entry.coversUntil.description
        coversUntilMs = entry.coversUntil.millisecondsSinceEpoch
    }
}

/// A verifier watermark as JSON.
private struct WatermarkJSON: Encodable {
    let verifier: String
    let sequence: UInt64
    let recordedAt: String
    let recordedAtMs: Int64

    init(_ mark: VerifierWatermark) {
        verifier = mark.verifier
        sequence = mark.sequence
        recordedAt = mark.recordedAt.description
        recordedAtMs = mark.recordedAt.millisecondsSinceEpoch
    }
}

/// `writ revoke --json`.
private struct Revoked: Encodable {
    let entry: EntryJSON
    /// False when the same revocation was already recorded and the existing entry is shown.
    let new: Bool
    let store: String
}

/// `writ revoke --list --json`.
private struct Listing: Encodable {
    let store: String
    let latestSequence: UInt64
    let entries: [EntryJSON]
    let watermarks: [WatermarkJSON]
}
