public import WritCrypto

/// One reconstructed history across the audit logs of several services: each log verified, entries merged in time
/// order, tokens linked to their delegation parents, filterable by task, agent or token.
public struct ForensicTimeline: Sendable {
    /// One service's log, as handed to the timeline.
    public struct Source: Sendable {
        /// A name for messages (a file path, a service).
        public let name: String
        /// The log's canonical entries, in order.
        public let entries: [[UInt8]]
        /// Checkpoints of this log held elsewhere.
        public let checkpoints: [SignedCheckpoint]
        /// The log's public key, when known: checkpoints must then carry its signature.
        public let logKey: Ed25519.PublicKey?
        /// A damaged frame found when reading the log from disk.
        public let damage: FileAuditStore.Damage?

        /// Describes one log.
        public init(
            name: String,
            entries: [[UInt8]],
            checkpoints: [SignedCheckpoint] = [],
            logKey: Ed25519.PublicKey? = nil,
            damage: FileAuditStore.Damage? = nil
        ) {
            self.name = name
            self.entries = entries
            self.checkpoints = checkpoints
            self.logKey = logKey
            self.damage = damage
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
    }

    /// The merged rows, ordered by time, then service, then index.
    public let rows: [Row]
    /// The verification report of each source, in the order given.
    public let reports: [(name: String, report: AuditVerificationReport)]

    private init(rows: [Row], reports: [(name: String, report: AuditVerificationReport)]) {
        self.rows = rows
        self.reports = reports
    }

    /// Verifies every source and merges them.
    ///
    /// - Throws: ``AuditError/Code/tampered`` naming the first source that fails verification and its first bad
    ///   entry: a timeline is never built from a log that does not verify.
    public init(sources: [Source]) throws {
        var rows: [Row] = []
        var reports: [(String, AuditVerificationReport)] = []
        var parents: [String: String] = [:]
        var pending: [(service: String, index: UInt64, leaf: [UInt8], event: AuditEvent)] = []
        for source in sources {
            let report = AuditVerifier.verify(
                entries: source.entries,
                checkpoints: source.checkpoints,
                logKey: source.logKey,
                damage: source.damage
            )
            if let failure = report.failure {
                throw AuditError(.tampered, "\(source.name): \(failure)")
            }
            reports.append((source.name, report))
            for bytes in source.entries {
                let entry = try AuditEntry(decoding: bytes)
                if let token = entry.event.tokenID, let parent = entry.event.parentTokenID, token != parent {
                    parents[token] = parents[token] ?? parent
                }
                pending.append((entry.event.service ?? "", entry.index, AuditEntry.leafHash(of: bytes), entry.event))
            }
        }
        for p in pending {
            rows.append(
                Row(
                    service: p.service,
                    index: p.index,
                    leafHash: Hex.encode(p.leaf),
                    event: p.event,
                    delegationChain: p.event.tokenID.map { Self.chain(of: $0, parents: parents) } ?? []
                )
            )
        }
        rows.sort { a, b in
            let ta = a.event.time?.millisecondsSinceEpoch ?? 0
            let tb = b.event.time?.millisecondsSinceEpoch ?? 0
            if ta != tb { return ta < tb }
            if a.service != b.service { return a.service < b.service }
            return a.index < b.index
        }
        self.init(rows: rows, reports: reports)
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

    /// A readable fixed-width table, one row per event.
    public func table() -> String {
        let header = ["TIME", "SERVICE#", "KIND", "AGENT", "TASK/STEP", "TOKEN", "DECISION", "DETAIL"]
        var lines: [[String]] = [header]
        for row in rows {
            let e = row.event
            let token = (e.tokenID ?? "") + (e.parentTokenID.map { " <- \($0)" } ?? "")
            let taskStep = (e.task ?? "") + (e.step.map { "/\($0)" } ?? "")
            let detail = [e.action, e.resource, e.audience.map { "aud=\($0)" }, e.reason.map { "(\($0))" }]
                .compactMap { $0 }.joined(separator: " ")
            lines.append([
                e.time?.description ?? "-", "\(row.service)#\(row.index)", e.kind.rawValue, clip(e.agent ?? "", 40),
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
