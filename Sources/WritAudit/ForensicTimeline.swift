public import WritCrypto

/// One reconstructed history across the audit logs of several services: each log verified, entries merged in time
/// order, tokens linked to their delegation parents, filterable by task, agent or token.
///
/// Each row says whether a checkpoint signed by a trusted key covers its entry (``Row/verified``); a log that fails
/// verification is refused, and with `requireVerified` so is a log with any entry no verified signature covers.
///
/// Services' clocks only have millisecond resolution, so events on different services often share a timestamp.
/// Within one millisecond the rows are ordered by what caused what, never by service name: one log's entries keep
/// their order; a token's issue, delegation or refresh comes before anything else that names the token (or
/// delegates from it); an anomaly comes before the revocation of the same block; a revocation comes before the
/// denials that cite its block; a task's opening comes before the task's other events. Rows no such link orders
/// fall back to service name and index; contradictory links (a cycle) are broken the same way.
public struct ForensicTimeline: Sendable {
    /// One service's log, as handed to the timeline, with its verification report.
    public struct Source: Sendable {
        /// A name for messages (a file path, a service).
        public let name: String
        /// The log's canonical entries, in order.
        public let entries: [[UInt8]]
        /// The log's verification report.
        public let report: AuditVerificationReport

        /// Describes one log and verifies it (with one optional log key).
        public init(
            name: String,
            entries: [[UInt8]],
            checkpoints: [SignedCheckpoint] = [],
            logKey: Ed25519.PublicKey? = nil,
            damage: FileAuditStore.Damage? = nil
        ) {
            self.name = name
            self.entries = entries
            report = AuditVerifier.verify(entries: entries, checkpoints: checkpoints, logKey: logKey, damage: damage)
        }

        /// Reads a log file and verifies it with its checkpoint frames, checkpoint file, witness copies and
        /// `checkpoints`, against `keys`.
        ///
        /// - Throws: ``AuditError`` when the file cannot be read as an audit log.
        public init(fileAt path: String, keys: AuditKeyring, checkpoints: [CheckpointEvidence] = []) throws {
            let scan = try FileAuditStore.scan(path: path)
            name = path
            entries = scan.entries
            report = AuditVerifier.verify(
                scan: scan,
                keys: keys,
                checkpoints: AuditVerifier.witnessCheckpoints(besideLogAt: path) + checkpoints
            )
        }
    }

    /// One event in the merged history.
    public struct Row: Sendable, Equatable, Codable {
        /// The service whose log holds the entry.
        public let service: String
        /// The entry's index in that log.
        public let index: UInt64
        /// The RFC 6962 leaf hash of the entry (hex), to ask its log for an inclusion proof.
        public let leafHash: String
        /// The event.
        public let event: AuditEvent
        /// The token's delegation ancestry, root first, ending with the event's token (empty without a token).
        public let delegationChain: [String]
        /// Whether a checkpoint signed by a trusted key covers the entry.
        public let verified: Bool
    }

    /// The merged rows, ordered by time; rows of the same millisecond in causal order (see ``ForensicTimeline``'s
    /// discussion), then by service, then index.
    public let rows: [Row]
    /// The verification report of each source, in the order given.
    public let reports: [(name: String, report: AuditVerificationReport)]

    private init(rows: [Row], reports: [(name: String, report: AuditVerificationReport)]) {
        self.rows = rows
        self.reports = reports
    }

    /// Verifies every source and merges them.
    ///
    /// - Parameters:
    ///   - sources: the logs.
    ///   - requireVerified: refuse a log with any entry that no checkpoint signed by a trusted key covers (or that
    ///     was read without keys).
    /// - Throws: ``AuditError/Code/tampered`` naming the first source that fails verification and its first bad
    ///   entry: a timeline is never built from a log that does not verify; ``AuditError/Code/invalidSignature``
    ///   naming an unverified source when `requireVerified`.
    public init(sources: [Source], requireVerified: Bool = false) throws {
        var rows: [Row] = []
        var reports: [(String, AuditVerificationReport)] = []
        var parents: [String: String] = [:]
        var pending: [(service: String, index: UInt64, leaf: [UInt8], event: AuditEvent, verified: Bool)] = []
        for source in sources {
            let report = source.report
            if let failure = report.failure {
                throw AuditError(.tampered, "\(source.name): \(failure)")
            }
            if requireVerified, !report.isVerified {
                throw AuditError(.invalidSignature, "\(source.name): \(report)")
            }
            let covered = report.signaturesChecked ? report.coveredSize : 0
            reports.append((source.name, report))
            for bytes in source.entries {
                let entry = try AuditEntry(decoding: bytes)
                if let token = entry.event.tokenID, let parent = entry.event.parentTokenID, token != parent {
                    parents[token] = parents[token] ?? parent
                }
                pending.append(
                    (
                        entry.event.service ?? "", entry.index, AuditEntry.leafHash(of: bytes), entry.event,
                        entry.index < covered
                    )
                )
            }
        }
        for p in pending {
            rows.append(
                Row(
                    service: p.service,
                    index: p.index,
                    leafHash: Hex.encode(p.leaf),
                    event: p.event,
                    delegationChain: p.event.tokenID.map { Self.chain(of: $0, parents: parents) } ?? [],
                    verified: p.verified
                )
            )
        }
        rows.sort { a, b in
            let ta = a.event.time?.millisecondsSinceEpoch ?? .min
            let tb = b.event.time?.millisecondsSinceEpoch ?? .min
            if ta != tb { return ta < tb }
            if a.service != b.service { return a.service < b.service }
            return a.index < b.index
        }
        self.init(rows: Self.causallyOrdered(rows), reports: reports)
    }

    /// The longest run of same-millisecond rows put in causal order.
    static let maximumCausalRun = 10_000

    /// Reorders each run of rows with the same millisecond so that causes come before their effects.
    static func causallyOrdered(_ rows: [Row]) -> [Row] {
        var ordered: [Row] = []
        ordered.reserveCapacity(rows.count)
        var start = 0
        while start < rows.count {
            let time = rows[start].event.time?.millisecondsSinceEpoch
            var end = start + 1
            while end < rows.count, rows[end].event.time?.millisecondsSinceEpoch == time { end += 1 }
            // A run this long is not one moment of real traffic; keep the fallback order rather than spend
            // time on links an adversarial log could multiply.
            if end - start == 1 || end - start > Self.maximumCausalRun {
                ordered.append(rows[start])
            } else {
                ordered.append(contentsOf: CausalOrder.sort(Array(rows[start..<end])))
            }
            start = end
        }
        return ordered
    }

    /// Root-first ancestry of `token`, stopping at a cycle or after 64 links.
    static func chain(of token: String, parents: [String: String]) -> [String] {
        var chain = [token]
        var seen: Set<String> = [token]
        var current = token
        while let parent = parents[current], !seen.contains(parent), chain.count < 64 {
            chain.append(parent)
            seen.insert(parent)
            current = parent
        }
        return chain.reversed()
    }

    /// The rows for one task, one agent and/or one token — a token filter keeps the token and every token delegated
    /// from it, directly or through sub-agents.
    public func filtered(task: String? = nil, agent: String? = nil, token: String? = nil) -> ForensicTimeline {
        let kept = rows.filter { row in
            if let task, row.event.task != task { return false }
            if let agent, row.event.agent != agent { return false }
            if let token {
                guard row.delegationChain.contains(token) || row.event.parentTokenID == token else { return false }
            }
            return true
        }
        return ForensicTimeline(rows: kept, reports: reports)
    }

    /// A readable fixed-width table, one row per event; `SIG` says `ok` when a verified signature covers the entry,
    /// `NONE` when none does.
    public func table() -> String {
        let header = ["TIME", "SERVICE#", "SIG", "KIND", "AGENT", "TASK/STEP", "TOKEN", "DECISION", "DETAIL"]
        var lines: [[String]] = [header]
        for row in rows {
            let e = row.event
            let token = (e.tokenID ?? "") + (e.parentTokenID.map { " <- \($0)" } ?? "")
            let taskStep = (e.task ?? "") + (e.step.map { "/\($0)" } ?? "")
            let detail = [e.action, e.resource, e.audience.map { "aud=\($0)" }, e.reason.map { "(\($0))" }]
                .compactMap { $0 }.joined(separator: " ")
            lines.append([
                e.time?.description ?? "-", "\(row.service)#\(row.index)", row.verified ? "ok" : "NONE",
                e.kind.rawValue, clip(e.agent ?? "", 40),
                clip(taskStep, 24), clip(token, 36), e.decision?.rawValue ?? "", clip(detail, 60),
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for line in lines { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return lines.map { line in
            line.enumerated().map { i, cell in
                i == line.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    private func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }
}
