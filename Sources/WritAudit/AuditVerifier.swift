public import WritCrypto

/// A signed checkpoint handed to the verifier, with where it came from.
public struct CheckpointEvidence: Sendable, Hashable {
    /// Where a checkpoint was found.
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        /// A checkpoint frame in the log file, at this byte offset.
        case logFrame(byteOffset: UInt64)
        /// The checkpoint file beside the log (`<log>.checkpoint`).
        case checkpointFile
        /// The checkpoint a store returned as its latest.
        case store
        /// A witness's copy, or any checkpoint held elsewhere (a file name or a description).
        case elsewhere(String)

        public var description: String {
            switch self {
            case .logFrame(let offset): "log frame at byte \(offset)"
            case .checkpointFile: "checkpoint file"
            case .store: "store"
            case .elsewhere(let name): name
            }
        }

        var isInLog: Bool {
            if case .logFrame = self { return true }
            return false
        }
    }

    /// The checkpoint.
    public let checkpoint: SignedCheckpoint
    /// Where it came from.
    public let source: Source

    /// Describes a checkpoint and its source.
    public init(_ checkpoint: SignedCheckpoint, source: Source) {
        self.checkpoint = checkpoint
        self.source = source
    }
}

/// The outcome of verifying a whole log: which entries a verified signature covers, and the first bad entry.
public struct AuditVerificationReport: Sendable, CustomStringConvertible {
    /// What kind of problem was found.
    public enum Problem: String, Sendable, Hashable {
        /// An entry's bytes could not be decoded (or its file frame was damaged): modified on disk.
        case modifiedEntry = "modified-entry"
        /// The entry at a position records another index: an entry was removed, inserted or reordered here.
        case misplacedEntry = "misplaced-entry"
        /// An entry's link does not match the hash of its predecessor.
        case brokenChain = "broken-chain"
        /// An entry names another service than the rest of the log.
        case foreignEntry = "foreign-entry"
        /// A checkpoint covers more entries than the log holds: the tail was cut off.
        case truncated
        /// The log's root at a checkpoint's size differs from the signed root: history was rewritten.
        case checkpointMismatch = "checkpoint-mismatch"
        /// A checkpoint is malformed, is for another log, carries a signature line of a trusted key that does not
        /// verify, or the checkpoint file beside the log is damaged or missing.
        case badCheckpoint = "bad-checkpoint"
    }

    /// The first failure found.
    public struct Failure: Sendable, CustomStringConvertible {
        /// The first bad entry, when one can be named.
        public let index: UInt64?
        /// What kind of problem.
        public let problem: Problem
        /// A sentence naming what is wrong.
        public let reason: String

        public var description: String {
            (index.map { "entry \($0): " } ?? "") + reason + " [\(problem.rawValue)]"
        }
    }

    /// What the verifier made of one checkpoint.
    public struct CheckpointResult: Sendable, CustomStringConvertible {
        /// What was established about it.
        public enum Status: Sendable, Hashable {
            /// Signed by these trusted log keys, and its root matches the log.
            case verified(keys: [String], witnesses: [String])
            /// No trusted key signed it (signature lines by these key ids); it covers nothing.
            case unknownKey([String])
            /// No keys were given: its signature was not checked; its size and root were compared only.
            case notChecked
            /// It failed: see the report's failure.
            case failed(String)
        }

        /// Where it came from.
        public let source: CheckpointEvidence.Source
        /// The size it claims.
        public let size: UInt64
        /// What was established.
        public let status: Status

        public var description: String {
            let what = "\(source) (size \(size))"
            switch status {
            case .verified(let keys, let witnesses):
                return "\(what): signature verified by \(keys.joined(separator: ", "))"
                    + (witnesses.isEmpty ? "" : "; cosigned by witness \(witnesses.joined(separator: ", "))")
            case .unknownKey(let ids):
                return "\(what): unverified: signed by unknown key \(ids.isEmpty ? "-" : ids.joined(separator: ", "))"
            case .notChecked: return "\(what): signature NOT checked (no key given)"
            case .failed(let reason): return "\(what): \(reason)"
            }
        }
    }

    /// The log's origin (service of its entries), when it has entries.
    public let origin: String?
    /// Number of entries examined.
    public let entryCount: UInt64
    /// The Merkle root of the examined entries.
    public let rootHash: [UInt8]
    /// Checkpoints whose signature by a trusted key and whose root were checked.
    public let checkpointsVerified: Int
    /// Whether any trusted log key was given (if not, no signature was checked).
    public let signaturesChecked: Bool
    /// Entries `0 ..< coveredSize` are covered by a checkpoint whose signature by a trusted key verified.
    public let coveredSize: UInt64
    /// The largest size a trusted witness cosigned (a verified checkpoint), when any.
    public let witnessedSize: UInt64?
    /// What was made of each checkpoint examined (checkpoint frames in the log are checked newest first, until one
    /// verifies).
    public let checkpoints: [CheckpointResult]
    /// Bytes at the end of the file that form no frame: an unacknowledged torn write.
    public let tornTailBytes: Int
    /// The first failure, or `nil` when none was found.
    public let failure: Failure?

    /// Whether no tampering was found in what could be checked (the chain, and every checkpoint's size and root).
    /// Without keys, or with entries no verified signature covers, this is not proof: see ``isVerified``.
    public var isValid: Bool { failure == nil }

    /// Whether every entry is covered by a checkpoint signed by a trusted key, and nothing failed.
    public var isVerified: Bool { failure == nil && signaturesChecked && coveredSize == entryCount }

    /// The entries no verified signature covers (`nil` when there are none, or when no key was given).
    public var uncovered: Range<UInt64>? {
        guard signaturesChecked, coveredSize < entryCount else { return nil }
        return coveredSize..<entryCount
    }

    /// What a verifier cannot see without a witness.
    public static let witnessCaveat =
        "without a witness (a checkpoint held elsewhere) a verifier cannot detect whole trailing batches dropped "
        + "together with their checkpoints and the checkpoint file rolled back with them"

    public var description: String {
        let root = "root \(Hex.encode(rootHash))"
        if let failure { return "INVALID: \(failure)" }
        guard signaturesChecked else {
            return "UNVERIFIED (chain only, signatures NOT checked): \(entryCount) entries, \(root), "
                + "\(checkpoints.count) checkpoint(s) compared by size and root only"
        }
        if let uncovered {
            return "UNVERIFIED: entries \(uncovered.lowerBound)..<\(uncovered.upperBound) are covered by no verified "
                + "signature (\(entryCount) entries, \(root), \(checkpointsVerified) checkpoint(s) verified)"
        }
        return "OK: \(entryCount) entries, \(root), all covered by \(checkpointsVerified) verified checkpoint(s)"
            + (witnessedSize.map { ", witnessed up to \($0)" } ?? ", no witness")
    }
}

/// Verifies a whole log: every entry decodes, sits at its index, links to its predecessor and belongs to the same
/// service; the Merkle root at each checkpoint's size equals the signed root; and which entries a checkpoint signed
/// by a trusted key covers.
///
/// Signatures are checked only against the ``AuditKeyring`` given — never a key found in the log — and a
/// checkpoint signed by any other key is reported as unverified and covers nothing. Any modified, removed,
/// reordered or inserted entry breaks the chain, the index sequence or a signed root and is named. Dropping whole
/// trailing batches together with their checkpoint frames and the checkpoint file leaves a valid shorter log,
/// which only a checkpoint held elsewhere (a witness, an investigator, another service) can expose: pass one.
public enum AuditVerifier {
    /// At most this many checkpoint frames in the log are signature-checked (newest first) before giving up.
    static let maxFramesChecked = 1_000

    /// Verifies the entries of `store` against its latest checkpoint and `checkpoints`.
    public static func verify(
        store: some AuditStore,
        keys: AuditKeyring,
        checkpoints: [CheckpointEvidence] = []
    ) async throws -> AuditVerificationReport {
        let latest = try await store.latestCheckpoint().map { CheckpointEvidence($0, source: .store) }
        return verify(
            entries: try await store.readAll(),
            keys: keys,
            checkpoints: (latest.map { [$0] } ?? []) + checkpoints
        )
    }

    /// Verifies the entries of `store` (with one optional log key; see ``verify(store:keys:checkpoints:)``).
    public static func verify(
        store: some AuditStore,
        checkpoints: [SignedCheckpoint] = [],
        logKey: Ed25519.PublicKey? = nil
    ) async throws -> AuditVerificationReport {
        try await verify(
            store: store,
            keys: logKey.map { AuditKeyring(logKey: $0) } ?? AuditKeyring(),
            checkpoints: checkpoints.map { CheckpointEvidence($0, source: .elsewhere("given")) }
        )
    }

    /// Verifies a log file on disk without changing it, using its checkpoint frames, the checkpoint file beside it,
    /// every witness copy `<log>.witness-*.checkpoint` beside it, and `checkpoints`.
    ///
    /// - Throws: ``AuditError/Code/storeFailure`` or ``AuditError/Code/invalidEncoding`` when the file cannot be read
    ///   as an audit log at all.
    public static func verify(
        fileAt path: String,
        keys: AuditKeyring,
        checkpoints: [CheckpointEvidence] = []
    ) throws -> AuditVerificationReport {
        let scan = try FileAuditStore.scan(path: path)
        return verify(scan: scan, keys: keys, checkpoints: witnessCheckpoints(besideLogAt: path) + checkpoints)
    }

    /// Verifies a log file on disk (with one optional log key; see ``verify(fileAt:keys:checkpoints:)``).
    public static func verify(
        fileAt path: String,
        checkpoints: [SignedCheckpoint] = [],
        logKey: Ed25519.PublicKey? = nil
    ) throws -> AuditVerificationReport {
        try verify(
            fileAt: path,
            keys: logKey.map { AuditKeyring(logKey: $0) } ?? AuditKeyring(),
            checkpoints: checkpoints.map { CheckpointEvidence($0, source: .elsewhere("given")) }
        )
    }

    /// Verifies what ``FileAuditStore/scan(path:)`` read: its entries, checkpoint frames, checkpoint file and damage.
    public static func verify(
        scan: FileAuditStore.Scan,
        keys: AuditKeyring,
        checkpoints: [CheckpointEvidence] = []
    ) -> AuditVerificationReport {
        var evidence = checkpoints
        var malformed: AuditVerificationReport.Failure?
        for frame in scan.checkpoints {
            do {
                let signed = try frame.signed()
                guard signed.checkpoint.size == frame.afterEntries else {
                    malformed =
                        malformed
                        ?? .init(
                            index: min(frame.afterEntries, signed.checkpoint.size),
                            problem: .misplacedEntry,
                            reason: "the checkpoint frame at byte \(frame.byteOffset) covers \(signed.checkpoint.size) "
                                + "entries but \(frame.afterEntries) precede it: entries were removed or inserted"
                        )
                    continue
                }
                evidence.append(CheckpointEvidence(signed, source: .logFrame(byteOffset: frame.byteOffset)))
            } catch {
                malformed =
                    malformed
                    ?? .init(
                        index: nil,
                        problem: .badCheckpoint,
                        reason: "the checkpoint frame at byte \(frame.byteOffset) is malformed (\(error)): forged"
                    )
            }
        }
        switch scan.checkpointFile {
        case .present(let signed): evidence.append(CheckpointEvidence(signed, source: .checkpointFile))
        case .damaged(let reason):
            malformed =
                malformed
                ?? .init(
                    index: nil,
                    problem: .badCheckpoint,
                    reason: "the checkpoint file beside the log is damaged (\(reason)); it is only ever replaced whole"
                )
        case .missing where scan.checkpoints.count >= 2:
            malformed =
                malformed
                ?? .init(
                    index: nil,
                    problem: .badCheckpoint,
                    reason: "the checkpoint file beside the log is missing although the log holds "
                        + "\(scan.checkpoints.count) batches: removed"
                )
        case .missing: break
        }
        let lastFrame = scan.checkpoints.last?.afterEntries ?? 0
        if scan.format == 2, let file = scan.checkpointFile.checkpoint, file.checkpoint.size > lastFrame {
            // The file is written only after the batch's frame is durable: the frame was removed or damaged.
            malformed =
                malformed
                ?? .init(
                    index: min(lastFrame, UInt64(scan.entries.count)),
                    problem: .truncated,
                    reason: "the checkpoint file covers \(file.checkpoint.size) entries but the log's last intact "
                        + "checkpoint frame covers \(lastFrame): acknowledged batches were removed or their "
                        + "checkpoint frames damaged"
                )
        }
        return verify(
            entries: scan.entries,
            keys: keys,
            checkpoints: evidence,
            damage: scan.damage,
            tornTailBytes: scan.tornTailBytes,
            malformed: malformed
        )
    }

    /// Verifies canonical entry bytes in log order (with one optional log key; see
    /// ``verify(entries:keys:checkpoints:damage:)``).
    public static func verify(
        entries: [[UInt8]],
        checkpoints: [SignedCheckpoint] = [],
        logKey: Ed25519.PublicKey? = nil,
        damage: FileAuditStore.Damage? = nil
    ) -> AuditVerificationReport {
        verify(
            entries: entries,
            keys: logKey.map { AuditKeyring(logKey: $0) } ?? AuditKeyring(),
            checkpoints: checkpoints.map { CheckpointEvidence($0, source: .elsewhere("given")) },
            damage: damage
        )
    }

    /// Verifies canonical entry bytes in log order.
    ///
    /// - Parameters:
    ///   - entries: the log's entries in order.
    ///   - keys: the trusted keys; with none, no signature is checked and the report says so.
    ///   - checkpoints: signed checkpoints of this log, from the log itself and held elsewhere.
    ///   - damage: a damaged storage frame (from ``FileAuditStore/scan(path:)``) after `entries`.
    public static func verify(
        entries: [[UInt8]],
        keys: AuditKeyring,
        checkpoints: [CheckpointEvidence],
        damage: FileAuditStore.Damage? = nil
    ) -> AuditVerificationReport {
        verify(entries: entries, keys: keys, checkpoints: checkpoints, damage: damage, tornTailBytes: 0, malformed: nil)
    }

    static func verify(
        entries: [[UInt8]],
        keys: AuditKeyring,
        checkpoints: [CheckpointEvidence],
        damage: FileAuditStore.Damage?,
        tornTailBytes: Int,
        malformed: AuditVerificationReport.Failure?
    ) -> AuditVerificationReport {
        var tree = MerkleTree()
        var origin: String?
        var failure: AuditVerificationReport.Failure?

        func fail(_ index: UInt64?, _ problem: AuditVerificationReport.Problem, _ reason: String) {
            if failure == nil { failure = .init(index: index, problem: problem, reason: reason) }
        }

        var previous = AuditEntry.genesisHash
        for (position, bytes) in entries.enumerated() {
            let i = UInt64(position)
            let entry: AuditEntry
            do {
                entry = try AuditEntry(decoding: bytes)
            } catch {
                fail(i, .modifiedEntry, "cannot be decoded (\(error)): modified")
                break
            }
            guard entry.index == i else {
                // An earlier index whose link matches that entry's predecessor: the original entry, pushed along by
                // an insertion at its index.
                let k = entry.index
                let predecessor = k == 0 ? AuditEntry.genesisHash : (k <= tree.size ? tree.leafHash(at: k - 1) : nil)
                if k < i, let predecessor, entry.previousHash == predecessor {
                    fail(
                        k,
                        .misplacedEntry,
                        "inserted: position \(i) holds the original entry \(k), which links to the same predecessor"
                    )
                } else {
                    fail(
                        i,
                        .misplacedEntry,
                        "position \(i) holds entry \(entry.index): an entry was removed, inserted or reordered here"
                    )
                }
                break
            }
            let leaf = RFC6962.leafHash(bytes)
            guard entry.previousHash == previous else {
                // Entry i-1 was changed if entry i's own hash still matches the link in entry i+1; otherwise the
                // link inside entry i was changed (or forged).
                let nextLinksHere =
                    position + 1 < entries.count
                    && (try? EntryCodec.header(entries[position + 1]))?.previousHash.elementsEqual(leaf) == true
                if nextLinksHere, i > 0 {
                    fail(i - 1, .brokenChain, "modified: its hash no longer matches the link stored in entry \(i)")
                } else {
                    fail(
                        i,
                        .brokenChain,
                        "its link does not match the hash of entry \(i == 0 ? "-" : String(i - 1)): modified or forged"
                    )
                }
                break
            }
            if let origin, entry.event.service != origin {
                fail(i, .foreignEntry, "names service '\(entry.event.service ?? "")' in the log of '\(origin)'")
                break
            }
            origin = origin ?? entry.event.service
            tree.append(leafHash: leaf)
            previous = leaf
        }
        if failure == nil, let damage {
            fail(damage.entryIndex, .modifiedEntry, damage.reason)
        }
        if failure == nil, let malformed { failure = malformed }

        // Checkpoints from outside the log first, then the log's own frames newest first until one verifies (the
        // newest verified one covers every entry before it; older frames add nothing).
        let outside = checkpoints.filter { !$0.source.isInLog }.sorted {
            $0.checkpoint.checkpoint.size > $1.checkpoint.checkpoint.size
        }
        let frames = checkpoints.filter(\.source.isInLog).sorted {
            $0.checkpoint.checkpoint.size > $1.checkpoint.checkpoint.size
        }
        let signaturesChecked = keys.hasLogKeys
        var results: [AuditVerificationReport.CheckpointResult] = []
        var verified = 0
        var covered: UInt64 = 0
        var witnessed: UInt64?
        var framesChecked = 0
        var mismatch: (size: UInt64, source: CheckpointEvidence.Source)?

        func examine(_ item: CheckpointEvidence) {
            let signed = item.checkpoint
            let cp = signed.checkpoint
            func record(_ status: AuditVerificationReport.CheckpointResult.Status) {
                results.append(.init(source: item.source, size: cp.size, status: status))
            }
            if let origin, cp.origin != origin {
                fail(
                    nil,
                    .badCheckpoint,
                    "the checkpoint from \(item.source) is for '\(cp.origin)', the log is '\(origin)'"
                )
                record(.failed("for another log '\(cp.origin)'"))
                return
            }
            var keyIDs: [String] = []
            if signaturesChecked {
                let check = keys.checkLogSignatures(signed)
                if !check.invalid.isEmpty {
                    fail(
                        nil,
                        .badCheckpoint,
                        "the checkpoint from \(item.source) (size \(cp.size)) carries an invalid signature by trusted "
                            + "key \(check.invalid.joined(separator: ", ")): forged"
                    )
                    record(.failed("invalid signature by trusted key \(check.invalid.joined(separator: ", "))"))
                    return
                }
                guard !check.verified.isEmpty else {
                    // Not evidence of anything: anyone can sign a checkpoint with a key of their own. But the writer
                    // only ever puts its own checkpoints in the checkpoint file.
                    if item.source == .checkpointFile {
                        fail(
                            nil,
                            .badCheckpoint,
                            "the checkpoint file beside the log is signed by no trusted key (unknown key "
                                + "\(check.unknown.joined(separator: ", "))): forged, or the log's key was rotated "
                                + "(give the old key too)"
                        )
                    }
                    record(.unknownKey(check.unknown))
                    return
                }
                keyIDs = check.verified
            }
            let trust = signaturesChecked ? "signed by a trusted key" : "unverified"
            if cp.size > tree.size {
                fail(
                    tree.size,
                    .truncated,
                    "the log ends after \(tree.size) entries but a checkpoint (\(item.source), \(trust)) covers "
                        + "\(cp.size): entries \(tree.size)..<\(cp.size) were removed"
                )
                record(.failed("covers \(cp.size) entries; the log holds \(tree.size)"))
                return
            }
            guard (try? tree.root(size: cp.size)) == cp.rootHash else {
                if mismatch == nil || cp.size < mismatch!.size { mismatch = (cp.size, item.source) }
                record(.failed("root does not match entries 0..<\(cp.size)"))
                return
            }
            guard signaturesChecked else {
                record(.notChecked)
                return
            }
            let witnesses = keys.witnesses(of: signed)
            if !witnesses.isEmpty { witnessed = max(witnessed ?? 0, cp.size) }
            verified += 1
            covered = max(covered, cp.size)
            record(.verified(keys: keyIDs, witnesses: witnesses))
        }

        for item in outside { examine(item) }
        for item in frames where item.checkpoint.checkpoint.size > covered {
            if framesChecked == maxFramesChecked {
                results.append(
                    .init(
                        source: item.source,
                        size: item.checkpoint.checkpoint.size,
                        status: .failed("not checked: too many")
                    )
                )
                break
            }
            framesChecked += 1
            examine(item)
            if covered == tree.size { break }
        }
        if let mismatch {
            // The newest matching checkpoint below the mismatch bounds where history was rewritten.
            let below =
                results.filter {
                    if case .verified = $0.status { return $0.size < mismatch.size }
                    if case .notChecked = $0.status { return $0.size < mismatch.size }
                    return false
                }.map(\.size).max() ?? 0
            fail(
                below,
                .checkpointMismatch,
                "entries \(below)..<\(mismatch.size) do not match the checkpoint from \(mismatch.source) "
                    + "(\(signaturesChecked ? "signed by a trusted key" : "unverified")): history was rewritten"
            )
        }
        return AuditVerificationReport(
            origin: origin,
            entryCount: tree.size,
            rootHash: (try? tree.root()) ?? [],
            checkpointsVerified: verified,
            signaturesChecked: signaturesChecked,
            coveredSize: covered,
            witnessedSize: witnessed,
            checkpoints: results,
            tornTailBytes: tornTailBytes,
            failure: failure
        )
    }

    /// The witness copies beside a log: every readable `<log>.witness-*.checkpoint` in its directory.
    public static func witnessCheckpoints(besideLogAt path: String) -> [CheckpointEvidence] {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let prefix = base + ".witness-"
        return FileSystemListing.names(in: directory.isEmpty ? "/" : directory)
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".checkpoint") }
            .sorted()
            .compactMap { name in
                let file = (slash == nil ? "" : directory + "/") + name
                guard case .present(let signed) = FileAuditStore.readCheckpointFile(at: file) else { return nil }
                return CheckpointEvidence(signed, source: .elsewhere(file))
            }
    }
}
