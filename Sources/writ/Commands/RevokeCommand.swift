#if CLI
import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritRevocation
import WritTokens

/// `writ revoke (--token-block TOKEN | --revocation-id HEX | --task ID | --agent SPIFFE-ID | --issuer-key HEX)
/// --key FILE [--reason R] [--covers-until SECONDS] [--store STORE] [--json]`, or
/// `writ revoke --list [--trust FILE] [--store STORE] [--json]`.
///
/// Appends signed entries to the feed a ``StoreLocator`` names — an SQLite database (`sqlite:PATH`, what
/// `writ demo` uses by default) or a ``FileRevocationStore`` (`file:PATH` or a plain path) — so a revocation made
/// from a shell reaches a running process. `--list` opens the feed read-only and never modifies
/// it. Exit 0 on success, 1 when the feed is refused (tampered, malformed, or signed by another key), 2 for usage
/// errors or a file that cannot be opened.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a token block, a task, an agent or an issuer key in a signed revocation feed, or list it.",
        discussion: """
            Exactly one target: --token-block (the token itself, text or a file holding it: its last block and \
            everything delegated from it), --revocation-id (a block's revocation id, as `writ inspect` prints it), \
            --task, --agent or --issuer-key. Every entry is signed by the revocation key (--key) and chained to \
            the one before; the command also signs a new head. The entry is durable when the command returns, and \
            verifiers that follow the feed apply it on their next sync. Several processes may append to one feed.

            --covers-until is when every token the target covers has expired, in seconds from now; after it (and \
            the verifiers' clock skew) the entry may be pruned. Too long is safe; too short un-revokes early. It \
            is rounded up to a whole minute, so repeating a command within the minute shows the entry it \
            recorded instead of appending another.

            --list shows the entries, the signed head and the verifiers' reports; with --trust it verifies every \
            signature and says so, without it it says plainly that signatures were NOT checked.

            Examples:
              writ revoke --key writ-demo/feed-keys/revocation.key --task t-42 --reason completed
              writ revoke --key revocation.key --token-block token.txt --reason anomaly
              writ revoke --key revocation.key --revocation-id 0102030405060708090a0b0c0d0e0f10
              writ revoke --key revocation.key --agent spiffe://acme.dev/agent/researcher/7 --covers-until 3600
              writ revoke --key revocation.key --issuer-key 0908070605040302 --reason key-compromised --json
              writ revoke --list --trust writ-demo/feed-keys/revocation.pub
              writ revoke --list --json --store sqlite:/tmp/writ-demo/writ.sqlite
              writ revoke --list --store file:/tmp/writ-demo/revocations.log

            Exit status: 0 done · 1 the feed was refused (tampered, malformed) · 2 usage error or unreadable file.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The revocation feed: sqlite:PATH, file:PATH (or a plain path: a feed file); created (with its "
                + "directory) when missing, except for --list.",
            valueName: "store"
        )
    )
    var store = "sqlite:writ-demo/writ.sqlite"

    @Option(help: ArgumentHelp("The revocation key (private) that signs the feed.", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("With --list: the revocation public key to verify the feed with.", valueName: "file"))
    var trust: String?

    @Option(
        name: .customLong("token-block"),
        help: ArgumentHelp("A token (text, or a file holding it): revokes its last block.", valueName: "token")
    )
    var tokenBlock: String?

    @Option(
        name: .customLong("revocation-id"),
        help: ArgumentHelp("A token block's revocation id (32 hex digits, from `writ inspect`).", valueName: "hex")
    )
    var revocationID: String?

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
            "Seconds from now until every token the target covers has expired (default 86400, one day; at most ten years).",
            valueName: "seconds"
        )
    )
    var coversUntil: Int64?

    @Flag(help: "Show the feed's entries, head and verifier reports instead of revoking (read-only).")
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
        guard let key else { throw CLIError.input("give the revocation key that signs the feed: --key FILE") }
        let signer = try KeyFiles.readPrivate(key)
        let locator = try StoreLocator.parse(store, option: "--store")
        let directory = ((locator.path ?? "") as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw CLIError.input("cannot create the directory '\(directory)': \(error.localizedDescription)")
            }
        }
        let feed = try locator.revocationStores(create: true, option: "--store", command: "revoke").feed
        let publisher = RevocationPublisher(store: feed, signer: signer, clock: SystemClock())
        let now = SystemClock().now()
        // Rounded up to a whole minute (longer is safe), so that repeating the command within the minute finds the
        // existing entry instead of appending one that covers a few milliseconds longer.
        let minute: Int64 = 60_000
        let end = now.advanced(by: .seconds(coversUntil)).millisecondsSinceEpoch
        let remainder = end % minute  // `end` is after 1970 and at most ten years ahead: no overflow
        let until = Timestamp(millisecondsSinceEpoch: remainder > 0 ? end + minute - remainder : end)
        let before = try await storeCall { try await feed.contents().entries.last?.sequence ?? 0 }
        let signed = try await storeCall {
            try await publisher.revoke([RevocationRequest(target, reason: reason, at: now, coversUntil: until)])[0]
        }
        let entry = signed.entry
        let isNew = entry.sequence > before
        if json {
            print(try jsonText(Revoked(entry: EntryJSON(signed), new: isNew, store: store)))
        } else {
            print("\(isNew ? "revoked" : "already revoked") #\(entry.sequence) \(entry.target) (\(entry.reason))")
            print("  revoked at \(entry.revokedAt), covers until \(entry.coversUntil)")
            print("  signed by revocation key \(signed.keyID), store \(store)")
        }
    }

    private func runList() async throws {
        guard tokenBlock == nil, revocationID == nil, task == nil, agent == nil, issuerKey == nil, reason == nil,
            coversUntil == nil, key == nil
        else {
            throw CLIError.input("--list takes no target, --key, --reason or --covers-until")
        }
        let trusted = try trust.map { try KeyFiles.readPublic($0) }
        let (feed, watermarks) = try StoreLocator.parse(store, option: "--store")
            .revocationStores(create: false, option: "--store", command: "revoke")
        let contents = try await storeCall { try await feed.contents() }
        var verification = "signatures NOT checked (give --trust with the revocation public key)"
        if let trusted {
            let bad =
                contents.entries.first { !$0.isSigned(by: trusted) }.map { "entry #\($0.sequence)" }
                ?? (contents.head.map { $0.isSigned(by: trusted) } == false ? "the head" : nil)
                ?? (contents.floor.map { $0.isSigned(by: trusted) } == false ? "the floor" : nil)
            if let bad {
                throw CLIError.rejected("'\(store)': \(bad) is not signed by revocation key \(trusted.keyID) (refused)")
            }
            verification = "every signature verified with revocation key \(trusted.keyID)"
        }
        let reports = try await storeCall { try await watermarks?.reports() ?? [] }
        let latest = contents.entries.last?.sequence ?? contents.floor?.sequence ?? 0
        if json {
            print(
                try jsonText(
                    Listing(
                        store: store,
                        latestSequence: latest,
                        signaturesVerified: trusted != nil,
                        head: contents.head.map { HeadJSON(sequence: $0.sequence, issuedAt: $0.issuedAt.description) },
                        floor: contents.floor?.sequence,
                        entries: contents.entries.map(EntryJSON.init),
                        watermarks: reports.map(WatermarkJSON.init)
                    )
                )
            )
            return
        }
        print("\(store): \(contents.entries.count) entries, latest sequence \(latest); \(verification)")
        if let floor = contents.floor { print("  entries up to #\(floor.sequence) pruned (signed floor)") }
        print(contents.head.map { "  signed \($0)" } ?? "  no signed head: verifiers following this feed fail closed")
        for signed in contents.entries {
            let entry = signed.entry
            print(
                "  #\(entry.sequence)  \(entry.target)  \(entry.reason)  at \(entry.revokedAt)  covers until \(entry.coversUntil)"
            )
        }
        print(
            reports.isEmpty
                ? "no verifier reports" : "verifier reports (signed by each verifier's key; not checked here):"
        )
        for report in reports {
            let lag = latest > report.sequence ? "  (\(latest - report.sequence) behind)" : ""
            print("  \(report.verifier)  @\(report.sequence)  reported \(report.recordedAt)\(lag)")
        }
    }

    /// The one target given, validated (a usage error names what is wrong).
    private func parseTarget() throws -> RevocationTarget {
        let given = [tokenBlock, revocationID, task, agent, issuerKey].compactMap { $0 }
        guard given.count == 1 else {
            throw CLIError.input(
                given.isEmpty
                    ? "give a target: --token-block, --revocation-id, --task, --agent or --issuer-key (or --list)"
                    : "give only one target, got \(given.count)"
            )
        }
        let target: RevocationTarget
        if let tokenBlock {
            target = .block(try lastBlock(of: tokenBlock))
        } else if let revocationID {
            guard let id = RevocationID(hex: revocationID.lowercased()),
                revocationID.utf8.count == 2 * RevocationID.byteCount
            else { throw CLIError.input("--revocation-id must be \(2 * RevocationID.byteCount) hex digits") }
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

    /// The revocation id of the last block of a token given as text or in a file; anything else is refused.
    private func lastBlock(of argument: String) throws -> RevocationID {
        let text =
            argument.hasPrefix(TokenFormat.textPrefix)
            ? argument : (FileManager.default.fileExists(atPath: argument) ? try readText(argument) : argument)
        guard text.hasPrefix(TokenFormat.textPrefix) else {
            if text.utf8.count == 2 * RevocationID.byteCount, RevocationID(hex: text.lowercased()) != nil {
                throw CLIError.input(
                    "--token-block takes the token itself; 32 hex digits may be its token id, which revokes "
                        + "nothing: give the block's revocation id with --revocation-id (from `writ inspect`)"
                )
            }
            throw CLIError.input("--token-block is neither a token nor a file holding one")
        }
        do {
            return try CapabilityToken(text: text).revocationIDs.last!
        } catch {
            throw CLIError.input("--token-block is not a valid token: \(error)")
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
        default: .rejected("\(error.context) (refused: \(error.code))")
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

    init(_ signed: SignedRevocationEntry) {
        let entry = signed.entry
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

    init(_ mark: WatermarkReport) {
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
    let signaturesVerified: Bool
    let head: HeadJSON?
    let floor: UInt64?
    let entries: [EntryJSON]
    let watermarks: [WatermarkJSON]
}

/// A signed head as JSON.
private struct HeadJSON: Encodable {
    let sequence: UInt64
    let issuedAt: String
}
#endif
