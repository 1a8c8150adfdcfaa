public import WritCrypto

/// The outcome of verifying a whole log: valid, or the first bad entry and why.
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
        /// A checkpoint's signature is missing or invalid, or it is for another log.
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

    /// The log's origin (service of its entries), when it has entries.
    public let origin: String?
    /// Number of entries examined.
    public let entryCount: UInt64
    /// The Merkle root of the examined entries.
    public let rootHash: [UInt8]
    /// Checkpoints whose signature and root were checked.
    public let checkpointsVerified: Int
    /// The first failure, or `nil` when the log verified.
    public let failure: Failure?

    /// Whether the log verified.
    public var isValid: Bool { failure == nil }

    public var description: String {
        if let failure { return "INVALID: \(failure)" }
        return "OK: \(entryCount) entries, root \(Hex.encode(rootHash)), \(checkpointsVerified) checkpoint(s) verified"
    }
}

/// Verifies a whole log: every entry decodes, sits at its index, links to its predecessor and belongs to the same
/// service; the Merkle root at each checkpoint's size equals the signed root; each checkpoint's signature is valid.
///
/// Any modified, removed, reordered or inserted entry breaks the chain or the index sequence and is named. A cut-off
/// tail leaves a valid shorter log, which only a checkpoint held elsewhere (by a witness, an investigator, another
/// service) can expose: pass one.
public enum AuditVerifier {
    /// Verifies the entries of `store`.
    public static func verify(
        store: some AuditStore,
        checkpoints: [SignedCheckpoint] = [],
        logKey: Ed25519.PublicKey? = nil
    ) async throws -> AuditVerificationReport {
        verify(entries: try await store.readAll(), checkpoints: checkpoints, logKey: logKey)
    }

    /// Verifies a log file on disk without changing it (a torn final write is not a failure: it was never
    /// acknowledged; a damaged frame followed by intact ones is).
    ///
    /// - Throws: ``AuditError/Code/storeFailure`` or ``AuditError/Code/invalidEncoding`` when the file cannot be read
    ///   as an audit log at all.
    public static func verify(
        fileAt path: String,
        checkpoints: [SignedCheckpoint] = [],
        logKey: Ed25519.PublicKey? = nil
    ) throws -> AuditVerificationReport {
        let scan = try FileAuditStore.scan(path: path)
        return verify(entries: scan.entries, checkpoints: checkpoints, logKey: logKey, damage: scan.damage)
    }

    /// Verifies canonical entry bytes in log order.
    ///
    /// - Parameters:
    ///   - entries: the log's entries in order.
    ///   - checkpoints: signed checkpoints of this log held elsewhere.
    ///   - logKey: the log's public key; when given, every checkpoint must carry its valid signature.
    ///   - damage: a damaged storage frame (from ``FileAuditStore/scan(path:)``) after `entries`.
    public static func verify(
        entries: [[UInt8]],
        checkpoints: [SignedCheckpoint] = [],
        logKey: Ed25519.PublicKey? = nil,
        damage: FileAuditStore.Damage? = nil
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

        var verified = 0
        for signed in checkpoints.sorted(by: { $0.checkpoint.size < $1.checkpoint.size }) where failure == nil {
            let cp = signed.checkpoint
            if let origin, cp.origin != origin {
                fail(nil, .badCheckpoint, "checkpoint is for '\(cp.origin)', the log is '\(origin)'")
                break
            }
            if let logKey, !signed.isSigned(by: cp.origin, key: logKey) {
                fail(nil, .badCheckpoint, "checkpoint of size \(cp.size) has no valid signature by \(logKey.keyID)")
                break
            }
            if cp.size > tree.size {
                fail(
                    tree.size,
                    .truncated,
                    "the log ends after \(tree.size) entries but a signed checkpoint covers \(cp.size): "
                        + "entries \(tree.size)..<\(cp.size) were removed"
                )
                break
            }
            let root = (try? tree.root(size: cp.size)) ?? []
            if root != cp.rootHash {
                fail(
                    nil,
                    .checkpointMismatch,
                    "entries 0..<\(cp.size) do not match the signed checkpoint root: history was rewritten"
                )
                break
            }
            verified += 1
        }
        return AuditVerificationReport(
            origin: origin,
            entryCount: tree.size,
            rootHash: (try? tree.root()) ?? [],
            checkpointsVerified: verified,
            failure: failure
        )
    }
}
