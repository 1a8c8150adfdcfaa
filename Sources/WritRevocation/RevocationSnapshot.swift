import Synchronization
public import WritCrypto

/// A verifier's in-memory copy of the revocation set: synchronous, O(1) lookups on the request path.
///
/// A ``RevocationFeedFollower`` keeps it up to date by applying the store's feed; the snapshot records its
/// ``watermark`` (the last sequence applied) and when it ``lastHeard`` from the store. Lookups fail closed with
/// ``RevocationLookup/stale(lastHeard:bound:)`` when the snapshot has not heard from the store for longer than
/// ``maxStaleness`` — including before its first sync.
///
/// Concurrency: one `Mutex` guards the state. A lookup takes it once for all the ids of a token and holds it for
/// a few hash probes (no allocation unless a match is found). Writers (``apply(_:heardAt:)``, ``prune(expiredBefore:)``)
/// are serialised by a second lock and take the state lock once per chunk of ``applyChunkSize`` entries; when the
/// block table must grow, or is pruned, the new table is built *outside* the state lock and swapped in, so readers
/// are never blocked by a rebuild.
///
/// Block ids are kept in a compact cuckoo hash table (≈ 46–57 bytes per revoked id); tasks, agents and issuer
/// keys in dictionaries.
public final class RevocationSnapshot: Sendable {
    /// How long the snapshot may go without hearing from its store before lookups fail closed.
    public let maxStaleness: Duration

    /// Entries applied per lock acquisition.
    public static let applyChunkSize = 1024

    private struct State {
        var blocks: RevocationIDTable
        var tasks: [String: RevocationRecord] = [:]
        var agents: [String: RevocationRecord] = [:]
        var issuerKeys: [KeyID: RevocationRecord] = [:]
        var watermark: UInt64 = 0
        var lastHeard: Timestamp?

        mutating func apply(_ entry: RevocationEntry) -> Bool {
            let record = RevocationRecord(entry)
            switch entry.target {
            case .block(let id):
                if let current = blocks.record(for: id), !current.isSuperseded(by: record) { return false }
                blocks.set(record, for: id)
                return true
            case .task(let task):
                return Self.merge(record, into: &tasks, key: task)
            case .agent(let agent):
                return Self.merge(record, into: &agents, key: agent)
            case .issuerKey(let key):
                return Self.merge(record, into: &issuerKeys, key: key)
            }
        }

        static func merge<Key: Hashable>(
            _ record: RevocationRecord,
            into map: inout [Key: RevocationRecord],
            key: Key
        )
            -> Bool
        {
            if let current = map[key], !current.isSuperseded(by: record) { return false }
            map[key] = record
            return true
        }
    }

    private let state: Mutex<State>
    /// Serialises writers; always taken before `state`.
    private let writer = Mutex(())

    /// Creates an empty snapshot that has never heard from its store (so it fails closed until the first sync).
    ///
    /// - Parameters:
    ///   - maxStaleness: how old the snapshot's data may be before lookups fail closed.
    ///   - expectedBlockCount: revoked block ids to reserve room for (avoids rebuilds while loading).
    public init(maxStaleness: Duration, expectedBlockCount: Int = 0) {
        self.maxStaleness = maxStaleness
        state = Mutex(State(blocks: RevocationIDTable(capacity: expectedBlockCount)))
    }

    /// The last revocation sequence applied (0 before any).
    public var watermark: UInt64 { state.withLock { $0.watermark } }

    /// When the snapshot last heard from its store, or `nil` if it never has.
    public var lastHeard: Timestamp? { state.withLock { $0.lastHeard } }

    /// Whether lookups at `now` fail closed because the data is too old.
    public func isStale(at now: Timestamp) -> Bool {
        let lastHeard = state.withLock { $0.lastHeard }
        return Self.isStale(lastHeard: lastHeard, now: now, bound: maxStaleness)
    }

    private static func isStale(lastHeard: Timestamp?, now: Timestamp, bound: Duration) -> Bool {
        guard let lastHeard else { return true }
        return lastHeard.duration(to: now) > bound
    }

    /// Applies entries from the feed without claiming the snapshot is up to date (e.g. one page of several).
    ///
    /// Applying is additive and idempotent: entries already present are skipped, and when a target appears twice
    /// the entry covering it for longer is kept. The watermark becomes the highest sequence applied.
    /// - Returns: how many entries changed the snapshot.
    @discardableResult
    public func apply(_ entries: some Sequence<RevocationEntry>) -> Int {
        apply(entries, heard: nil)
    }

    /// Applies entries and records that, as of `heardAt`, the snapshot holds everything the store had.
    ///
    /// Pass the time the fetch *started* (conservative): the data reflects the store at least as of then.
    /// Apply an empty sequence to record a sync that found nothing new.
    /// - Returns: how many entries changed the snapshot.
    @discardableResult
    public func apply(_ entries: some Sequence<RevocationEntry>, heardAt: Timestamp) -> Int {
        apply(entries, heard: heardAt)
    }

    private func apply(_ entries: some Sequence<RevocationEntry>, heard: Timestamp?) -> Int {
        writer.withLock { _ in applyAsWriter(entries, heard: heard) }
    }

    private func applyAsWriter(_ entries: some Sequence<RevocationEntry>, heard: Timestamp?) -> Int {
        var changed = 0
        var chunk: [RevocationEntry] = []
        chunk.reserveCapacity(Self.applyChunkSize)
        func flush() {
            // Grow outside the state lock: only this writer mutates the table, so reading it here is safe.
            let incoming = chunk.count { if case .block = $0.target { true } else { false } }
            let table = state.withLock { $0.blocks }
            if table.needsGrowth(adding: incoming) {
                let grown = table.grown(adding: incoming)
                state.withLock { $0.blocks = grown }
            }
            state.withLock { state in
                for entry in chunk {
                    if state.apply(entry) { changed += 1 }
                    state.watermark = max(state.watermark, entry.sequence)
                }
            }
            chunk.removeAll(keepingCapacity: true)
        }
        for entry in entries {
            chunk.append(entry)
            if chunk.count == Self.applyChunkSize { flush() }
        }
        if !chunk.isEmpty { flush() }
        if let heard {
            state.withLock { state in state.lastHeard = max(state.lastHeard ?? heard, heard) }
        }
        return changed
    }

    /// Whether a token may be used, given everything its validity depends on.
    ///
    /// Checks every block's revocation id (so revoking a block revokes every token delegated from it), the task,
    /// the agent identities involved (holder, and supervisors if the caller passes them) and the issuer key.
    /// A revocation found is reported even when the snapshot is stale; otherwise a stale snapshot fails closed.
    /// Takes the state lock once and allocates nothing unless a revocation is found.
    ///
    /// - Parameters:
    ///   - blocks: the revocation ids of every block in the token's chain.
    ///   - task: the token's task id, if any.
    ///   - agents: agent identities (SPIFFE id text) the token belongs to.
    ///   - issuerKey: the key id that signed the first block, if known.
    ///   - now: the current time, for the staleness check.
    public func status(
        blocks: [RevocationID],
        task: String? = nil,
        agents: [String] = [],
        issuerKey: KeyID? = nil,
        now: Timestamp
    ) -> RevocationLookup {
        state.withLock { state in
            var found: RevocationEntry?
            for id in blocks {
                if let record = state.blocks.record(for: id), record.sequence < found?.sequence ?? .max {
                    found = record.entry(for: .block(id))
                }
            }
            if let task, let record = state.tasks[task], record.sequence < found?.sequence ?? .max {
                found = record.entry(for: .task(task))
            }
            for agent in agents {
                if let record = state.agents[agent], record.sequence < found?.sequence ?? .max {
                    found = record.entry(for: .agent(agent))
                }
            }
            if let issuerKey, let record = state.issuerKeys[issuerKey], record.sequence < found?.sequence ?? .max {
                found = record.entry(for: .issuerKey(issuerKey))
            }
            if let found { return .revoked(found) }
            if Self.isStale(lastHeard: state.lastHeard, now: now, bound: maxStaleness) {
                return .stale(lastHeard: state.lastHeard, bound: maxStaleness)
            }
            return .notRevoked
        }
    }

    /// Whether a token may be used; the same as ``status(blocks:task:agents:issuerKey:now:)`` for any sequences
    /// of block ids and agent identities (they are copied into arrays first).
    public func status(
        blocks: some Sequence<RevocationID>,
        task: String? = nil,
        agents: some Sequence<String> = [String](),
        issuerKey: KeyID? = nil,
        now: Timestamp
    ) -> RevocationLookup {
        status(blocks: Array(blocks), task: task, agents: Array(agents), issuerKey: issuerKey, now: now)
    }

    /// Whether one block id (and so every token whose chain contains it) may be used.
    public func status(of block: RevocationID, now: Timestamp) -> RevocationLookup {
        state.withLock { state in
            if let record = state.blocks.record(for: block) { return .revoked(record.entry(for: .block(block))) }
            if Self.isStale(lastHeard: state.lastHeard, now: now, bound: maxStaleness) {
                return .stale(lastHeard: state.lastHeard, bound: maxStaleness)
            }
            return .notRevoked
        }
    }

    /// Whether the snapshot holds a revocation of `block`, regardless of staleness (the raw set lookup).
    public func contains(block: RevocationID) -> Bool {
        state.withLock { $0.blocks.contains(block) }
    }

    /// The entry the snapshot holds for `target`, regardless of staleness.
    public func entry(for target: RevocationTarget) -> RevocationEntry? {
        state.withLock { state in
            switch target {
            case .block(let id): state.blocks.record(for: id)?.entry(for: target)
            case .task(let task): state.tasks[task]?.entry(for: target)
            case .agent(let agent): state.agents[agent]?.entry(for: target)
            case .issuerKey(let key): state.issuerKeys[key]?.entry(for: target)
            }
        }
    }

    /// Drops entries whose ``RevocationEntry/coversUntil`` is before `time`; returns how many.
    ///
    /// Pass the current time minus (at least) the clock skew the token verifier tolerates, so that every token a
    /// dropped entry covered is rejected as expired anyway. Does not change the watermark.
    ///
    /// The scan runs outside the state lock (only writers change the data, and they are serialised); the state
    /// lock is then held only to remove what was found. When a quarter or more of the block ids go, the block
    /// table is rebuilt at its new size (outside the lock) and swapped in, returning the memory.
    @discardableResult
    public func prune(expiredBefore time: Timestamp) -> Int {
        writer.withLock { _ in
            let expired = { (record: RevocationRecord) in record.coversUntil < time }
            let table = state.withLock { $0.blocks }
            let (slots, zero) = table.slots(where: expired)
            let blockCount = slots.count + (zero ? 1 : 0)
            let rebuilt = blockCount > 0 && blockCount * 4 >= table.count ? table.filtered { !expired($0) } : nil
            let (tasks, agents, keys) = expiredNames(expired)
            return state.withLock { state in
                if let rebuilt {
                    state.blocks = rebuilt
                } else if blockCount > 0 {
                    state.blocks.remove(slots: slots, zero: zero)
                }
                for task in tasks { state.tasks[task] = nil }
                for agent in agents { state.agents[agent] = nil }
                for key in keys { state.issuerKeys[key] = nil }
                return blockCount + tasks.count + agents.count + keys.count
            }
        }
    }

    /// The task, agent and issuer-key names whose records are expired (read from a copy, outside the lock; the
    /// copy is released on return so that removing them afterwards does not copy the dictionaries).
    private func expiredNames(_ expired: (RevocationRecord) -> Bool) -> ([String], [String], [KeyID]) {
        let (tasks, agents, keys) = state.withLock { ($0.tasks, $0.agents, $0.issuerKeys) }
        return (
            tasks.compactMap { expired($0.value) ? $0.key : nil },
            agents.compactMap { expired($0.value) ? $0.key : nil },
            keys.compactMap { expired($0.value) ? $0.key : nil }
        )
    }

    /// Counts and memory of a snapshot, for monitoring.
    public struct Statistics: Hashable, Sendable {
        /// Revoked block ids held.
        public var blockCount: Int
        /// Revoked tasks held.
        public var taskCount: Int
        /// Revoked agent identities held.
        public var agentCount: Int
        /// Revoked issuer keys held.
        public var issuerKeyCount: Int
        /// Bytes allocated by the block-id table.
        public var blockTableByteCount: Int
        /// The last sequence applied.
        public var watermark: UInt64
        /// When the snapshot last heard from its store.
        public var lastHeard: Timestamp?
    }

    /// Current counts, memory and freshness.
    public var statistics: Statistics {
        state.withLock { state in
            Statistics(
                blockCount: state.blocks.count,
                taskCount: state.tasks.count,
                agentCount: state.agents.count,
                issuerKeyCount: state.issuerKeys.count,
                blockTableByteCount: state.blocks.allocatedByteCount,
                watermark: state.watermark,
                lastHeard: state.lastHeard
            )
        }
    }
}
