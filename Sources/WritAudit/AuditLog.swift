import Synchronization
public import WritCrypto

/// An append-only, hash-chained audit log over an ``AuditStore``, with an RFC 6962 Merkle tree over its entries
/// and Ed25519-signed checkpoints.
///
/// ``record(_:)`` stamps the event with the log's clock and service name, hashes sensitive values with the log's
/// salt, links the entry to its predecessor, adds it to the tree, and returns its index once the store has made it
/// durable. Appends are group-committed: while one caller (the leader) waits for the store, later appends queue
/// up and go to the store together in the next batch, so a file store pays one `fsync` per batch, not per entry. A
/// new leader first yields while other appends keep arriving (at most ``maximumGatherYields`` times), so concurrent
/// callers share its batch rather than each signing one of their own.
///
/// Every batch is signed: the leader signs a checkpoint of the tree at the batch's end (one Ed25519 signature per
/// batch) and hands it to the store with the batch, which makes both durable together. So every entry whose
/// ``record(_:)`` returned is covered by a signature, and a verifier given ``publicKey`` can tell an acknowledged
/// entry from an unacknowledged torn write. There is no unsigned mode.
///
/// Fail closed, then recover: when the store fails, the failed batch's callers, and every caller whose entry was
/// queued behind it, get the error; none of those entries is ever acknowledged. The next ``record(_:)`` (or an
/// explicit ``recover()``) first re-reads the store's tail — what is durable — and checks it against what the log
/// acknowledged: the store must still hold every acknowledged entry, anything beyond them (a batch that became
/// durable although its append failed) must continue the chain, and the latest checkpoint must be signed by this log
/// and match the rebuilt tree. Then the log continues from exactly that tail, so the chain never forks. While the
/// store stays unreachable, each attempt fails with its error; when the tail contradicts what was acknowledged
/// (entries removed, a foreign checkpoint) the log closes for good (``AuditError/Code/closed``).
public final class AuditLog: AuditSink {
    /// The service that owns the log; the checkpoint origin and the key name of its signatures.
    public let service: String
    private let store: any AuditStore
    private let signingKey: Ed25519.PrivateKey
    private let keys: [Ed25519.PublicKey]
    private let salt: AuditSalt
    private let clock: any WallClock
    private let state: Mutex<State>

    enum Turn: Sendable {
        case durable
        case lead
    }

    struct Waiter {
        let index: UInt64
        let continuation: CheckedContinuation<Turn, any Error>
    }

    private enum Admission {
        /// Queued with no flush in progress: the caller leads the next batch (`queued` entries wait in it so far).
        case lead(index: UInt64, queued: Int)
        /// Queued behind a flush in progress: the caller waits for its batch.
        case wait(index: UInt64, generation: UInt64)
        case recover
    }

    /// How many times a new leader yields, while other appends keep joining, before it takes its batch.
    public static let maximumGatherYields = 4

    struct State {
        var tree = MerkleTree()
        var lastLeafHash = AuditEntry.genesisHash
        var pending: [[UInt8]] = []
        var durable: UInt64 = 0
        var flushing = false
        var waiters: [Waiter] = []
        var failure: AuditError?
        var witnessed: [String: (size: UInt64, root: [UInt8])] = [:]
        var latest: SignedCheckpoint?
        /// Bumped at every store failure: an entry queued in an earlier generation is never acknowledged.
        var generation: UInt64 = 0
        /// Set when a recovery found the store contradicting what the log acknowledged.
        var closed: AuditError?
        var recovering = false
        var recoveryWaiters: [CheckedContinuation<Void, any Error>] = []
    }

    private init(
        store: any AuditStore,
        service: String,
        signingKey: Ed25519.PrivateKey,
        keys: [Ed25519.PublicKey],
        salt: AuditSalt,
        clock: any WallClock,
        state: State
    ) {
        self.store = store
        self.service = service
        self.signingKey = signingKey
        self.keys = keys
        self.salt = salt
        self.clock = clock
        self.state = Mutex(state)
    }

    /// Opens a log over `store`: in O(log n) from the frontier the store kept with its latest batch, or, when the
    /// store holds none that matches its latest checkpoint, by re-reading every entry.
    ///
    /// From the frontier the log checks the tail: the latest checkpoint is signed by this log's key, the stored
    /// frontier's root is the checkpoint's root, and the last stored entry is entry `count - 1` with the frontier's
    /// last leaf hash. Entries before the tail are not re-read (the ``AuditVerifier`` checks them); until
    /// ``loadFullTree()`` is called, roots, leaf hashes and proofs are available from the reopened size on.
    ///
    /// - Parameters:
    ///   - store: where entries live.
    ///   - service: the owning service (one line, non-empty); stamped on every entry, the checkpoint origin.
    ///   - signingKey: the log's checkpoint signing key.
    ///   - salt: the per-log salt for sensitive values.
    ///   - clock: the time source for entry times and cosignatures.
    ///   - previousKeys: earlier public keys of this log (after a key rotation): the checkpoint stored with the
    ///     latest batch may be signed by one of them instead of `signingKey`. A verifier needs them all.
    ///   - checking: ``AuditOpenCheck/tail`` (the default), or ``AuditOpenCheck/everyEntry`` to re-read every entry
    ///     and check the whole chain against the checkpoint before appending to it.
    /// - Throws: ``AuditError/Code/tampered`` when the stored tail (or, without a frontier, the stored entries) does
    ///   not match the checkpoint stored with the latest batch (the log refuses to append to a broken record);
    ///   ``AuditError/Code/invalidSignature`` when that checkpoint is not signed by `signingKey` under `service`;
    ///   ``AuditError/Code/conflict`` when the entries belong to another service; or the store's error.
    public static func open(
        store: some AuditStore,
        service: String,
        signingKey: Ed25519.PrivateKey,
        salt: AuditSalt,
        clock: any WallClock = SystemClock(),
        previousKeys: [Ed25519.PublicKey] = [],
        checking: AuditOpenCheck = .tail
    ) async throws -> AuditLog {
        guard !service.isEmpty, !service.contains("\n") else {
            throw AuditError(.invalidEncoding, "service name must be one non-empty line")
        }
        let keys = [signingKey.publicKey] + previousKeys
        let tail = try await Tail.read(store, service: service, keys: keys)
        var state = State()
        if let frontier = tail.frontier, checking == .tail {
            state.tree = MerkleTree(frontier: frontier)
            state.lastLeafHash = frontier.lastLeafHash
        } else {
            try await state.extend(from: store, to: tail.count)
        }
        try tail.check(against: state.tree)
        state.durable = tail.count
        state.latest = tail.checkpoint
        return AuditLog(
            store: store,
            service: service,
            signingKey: signingKey,
            keys: keys,
            salt: salt,
            clock: clock,
            state: state
        )
    }

    /// Reads every entry before the frontier the log was reopened from, checks that they form the chain and the
    /// tree the frontier summarises, and keeps the whole tree, so that roots, leaf hashes and proofs of every size
    /// are available (a log built from its first entry already has them).
    ///
    /// - Throws: ``AuditError/Code/tampered`` when the stored entries do not match; or the store's error.
    public func loadFullTree() async throws {
        let restored = state.withLock { $0.tree.restoredSize }
        guard restored > 0 else { return }
        var full = State()
        try await full.extend(from: store, to: restored)
        try state.withLock { s in
            guard s.tree.restoredSize == restored else { return }
            guard try full.tree.root() == s.tree.root(size: restored) else {
                throw AuditError(
                    .tampered,
                    "stored entries 0..<\(restored) do not form the tree the log was reopened from; run the verifier"
                )
            }
            for index in restored..<s.tree.size { full.tree.append(leafHash: s.tree.leafHash(at: index)) }
            s.tree = full.tree
        }
    }

    /// The log's public key, for verifiers and witnesses.
    public var publicKey: Ed25519.PublicKey { signingKey.publicKey }

    /// Number of entries appended (some may still be on their way to the store).
    public var size: UInt64 { state.withLock { $0.tree.size } }

    /// Number of entries the store has made durable.
    public var durableSize: UInt64 { state.withLock { $0.durable } }

    // MARK: Recording

    /// Records `event`: stamps time (when absent) and service, hashes sensitive values, chains, and returns the
    /// entry's index once it is durable.
    ///
    /// After a store failure, the first call re-reads the store's tail and recovers (``recover()``) before it
    /// appends.
    ///
    /// - Throws: the store's error when this entry's batch failed (the entry is not acknowledged; it may or may not
    ///   have become durable) or when recovering from an earlier failure failed; ``AuditError/Code/closed`` when a
    ///   recovery found the store contradicting what the log acknowledged; ``AuditError/Code/oversized`` or
    ///   ``AuditError/Code/invalidEncoding`` for a bad event.
    public func record(_ event: AuditEvent) async throws -> UInt64 {
        let time = event.time ?? clock.now()
        // Encode outside the lock with a blank header; the index and link are patched in under the lock.
        var bytes: [UInt8]
        if event.sensitiveAttributes.isEmpty {
            bytes = try EntryCodec.encode(
                event,
                index: 0,
                previousHash: AuditEntry.genesisHash,
                service: service,
                time: time
            )
        } else {
            var hashed = event
            hashed.sensitiveAttributes = event.sensitiveAttributes.mapValues { $0.hashed(with: salt) }
            bytes = try EntryCodec.encode(
                hashed,
                index: 0,
                previousHash: AuditEntry.genesisHash,
                service: service,
                time: time
            )
        }
        // Under the lock: patch in the index and link, hash, grow the tree, queue. A caller that finds no flush
        // in progress becomes the leader: it gathers what joins the queue, then takes it as one batch.
        var admission = Admission.recover
        while case .recover = admission {
            admission = try state.withLock { s -> Admission in
                if let closed = s.closed { throw closed }
                if s.failure != nil { return .recover }
                let index = s.tree.size
                bytes.withUnsafeMutableBufferPointer { out in
                    for k in 0..<8 { out[1 + k] = UInt8(truncatingIfNeeded: index >> UInt64(56 - 8 * k)) }
                    s.lastLeafHash.withUnsafeBufferPointer { link in
                        for k in 0..<32 { out[9 + k] = link[k] }
                    }
                }
                let leaf = RFC6962.leafHash(bytes)
                s.tree.append(leafHash: leaf)
                s.lastLeafHash = leaf
                s.pending.append(bytes)
                if s.flushing { return .wait(index: index, generation: s.generation) }
                s.flushing = true
                return .lead(index: index, queued: s.pending.count)
            }
            if case .recover = admission { try await recover() }
        }
        if case .lead(let index, var queued) = admission {
            // Gather before signing: requests already running on other threads are often a moment away from their
            // own append. Yielding lets them join this batch, so one checkpoint signature (and one store append)
            // covers them all instead of each leading a batch of its own. The leader stops as soon as a yield brings
            // no new entry, so an idle log pays one yield. (HTTP benchmark, re-used token: about a tenth less CPU
            // per request; Docs/Performance.md.)
            for _ in 0..<Self.maximumGatherYields {
                await Task.yield()
                let now = state.withLock { $0.pending.count }
                if now == queued { break }
                queued = now
            }
            try await flush(until: index)
            return index
        }
        guard case .wait(let index, let generation) = admission else {
            preconditionFailure("the admission loop ends only once queued")
        }
        let turn = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Turn, any Error>) in
            state.withLock { s in
                if s.generation != generation {
                    c.resume(throwing: s.failure ?? AuditError(.storeFailure, "the batch of entry \(index) failed"))
                } else if s.durable > index {
                    c.resume(returning: .durable)
                } else if let failure = s.failure {
                    c.resume(throwing: failure)
                } else if !s.flushing {
                    s.flushing = true
                    c.resume(returning: .lead)
                } else {
                    s.waiters.append(Waiter(index: index, continuation: c))
                }
            }
        }
        if turn == .lead { try await flush(until: index) }
        return index
    }

    /// Runs the group-commit loop as leader until entry `index` is durable, then hands leadership on.
    private func flush(until index: UInt64) async throws {
        while true {
            let (batch, first) = state.withLock { s -> ([[UInt8]], UInt64) in
                var batch: [[UInt8]] = []
                swap(&batch, &s.pending)
                return (batch, s.durable)
            }
            if !batch.isEmpty {
                do {
                    let end = first + UInt64(batch.count)
                    let (root, frontier) = try state.withLock { s in
                        (try s.tree.root(size: end), try s.tree.frontier(size: end))
                    }
                    let signed = SignedCheckpoint.sign(
                        try LogCheckpoint(origin: service, size: end, rootHash: root),
                        name: service,
                        key: signingKey
                    )
                    try await store.append(batch, firstIndex: first, checkpoint: signed, frontier: frontier)
                    state.withLock { $0.latest = signed }
                } catch {
                    let failure =
                        (error as? AuditError)
                        ?? AuditError(.storeFailure, "store append failed", underlying: error)
                    let waiters = state.withLock { s -> [Waiter] in
                        s.failure = failure
                        s.generation += 1
                        s.pending.removeAll()  // never written; their callers fail with this generation
                        s.flushing = false
                        defer { s.waiters.removeAll() }
                        return s.waiters
                    }
                    for w in waiters { w.continuation.resume(throwing: failure) }
                    throw failure
                }
            }
            var ready: [Waiter] = []
            var next: Waiter?
            let done = state.withLock { s -> Bool in
                s.durable = first + UInt64(batch.count)
                let durable = s.durable
                if !s.waiters.isEmpty {
                    ready = s.waiters.filter { $0.index < durable }
                    s.waiters.removeAll { $0.index < durable }
                }
                guard durable > index else { return false }
                if !s.pending.isEmpty, !s.waiters.isEmpty {
                    next = s.waiters.removeFirst()  // it stays `flushing`: leadership passes to it
                } else {
                    s.flushing = false  // a queued appender that has not parked yet will take the lead itself
                }
                return true
            }
            for w in ready { w.continuation.resume(returning: .durable) }
            if done {
                next?.continuation.resume(returning: .lead)
                return
            }
        }
    }

    // MARK: Recovery

    /// Recovers from a store failure: re-reads the store's tail and continues from what is durable.
    ///
    /// Does nothing when the log has not failed. Otherwise it drops the entries that were never acknowledged,
    /// reads the entries the store holds beyond the last acknowledged one (a batch that became durable although its
    /// append failed), checks that they continue the chain and that the store's latest checkpoint is signed by this
    /// log and matches the rebuilt tree, and resumes appending after them. Concurrent callers share one recovery.
    /// ``record(_:)`` calls it by itself.
    ///
    /// - Throws: the store's error while it stays unavailable (the log stays failed; try again later);
    ///   ``AuditError/Code/closed`` when the store no longer holds every acknowledged entry, or holds entries or a
    ///   checkpoint that do not continue this log (the log refuses appends from then on).
    public func recover() async throws {
        enum Role {
            case done
            case wait
            case lead(tree: MerkleTree, durable: UInt64)
        }
        let role = try state.withLock { s -> Role in
            if let closed = s.closed { throw closed }
            guard s.failure != nil else { return .done }
            if s.recovering { return .wait }
            s.recovering = true
            return .lead(tree: s.tree, durable: s.durable)
        }
        switch role {
        case .done: return
        case .wait:
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                state.withLock { s in
                    if !s.recovering {
                        if let closed = s.closed { c.resume(throwing: closed) } else { c.resume() }
                    } else {
                        s.recoveryWaiters.append(c)
                    }
                }
            }
        case .lead(let tree, let durable):
            var rebuilt = State()
            do {
                rebuilt.tree = tree
                try rebuilt.tree.truncate(to: durable)
                rebuilt.lastLeafHash = durable == 0 ? AuditEntry.genesisHash : rebuilt.tree.leafHash(at: durable - 1)
                let tail = try await Tail.read(store, service: service, keys: keys)
                guard tail.count >= durable else {
                    throw AuditError(
                        .tampered,
                        "the store holds \(tail.count) entries but the log acknowledged \(durable)"
                    )
                }
                try await rebuilt.extend(from: store, to: tail.count)
                try tail.check(against: rebuilt.tree)
                rebuilt.durable = tail.count
                rebuilt.latest = tail.checkpoint?.checkpoint.size == tail.count ? tail.checkpoint : nil
            } catch {
                let transient = (error as? AuditError).map { $0.code == .storeFailure } ?? true
                let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
                    s.recovering = false
                    if !transient {
                        s.closed = AuditError(
                            .closed,
                            "log closed: after a store failure the store no longer matches what the log "
                                + "acknowledged: \(error)"
                        )
                    }
                    defer { s.recoveryWaiters.removeAll() }
                    return s.recoveryWaiters
                }
                let reported = state.withLock { $0.closed } ?? error
                for w in waiters { w.resume(throwing: reported) }
                throw reported
            }
            let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
                s.tree = rebuilt.tree
                s.lastLeafHash = rebuilt.lastLeafHash
                s.durable = rebuilt.durable
                s.latest = rebuilt.latest
                s.pending.removeAll()
                s.failure = nil
                s.recovering = false
                defer { s.recoveryWaiters.removeAll() }
                return s.recoveryWaiters
            }
            for w in waiters { w.resume() }
        }
    }

    // MARK: Reading and proofs

    /// The entries at `range`, decoded.
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` or a decoding error.
    public func entries(_ range: Range<UInt64>) async throws -> [AuditEntry] {
        try await store.read(range).map { try AuditEntry(decoding: $0) }
    }

    /// The Merkle root of the first `size` entries (all durable entries by default).
    public func root(size: UInt64? = nil) throws -> [UInt8] {
        try state.withLock { s in try s.tree.root(size: size ?? s.durable) }
    }

    /// The leaf hash of entry `index`.
    public func leafHash(at index: UInt64) throws -> [UInt8] {
        try state.withLock { s in
            guard index < s.tree.size else { throw AuditError(.outOfRange, "no entry \(index)") }
            guard index >= s.tree.restoredSize else {
                throw AuditError(
                    .outOfRange,
                    "entry \(index) precedes the frontier the log was reopened from; call loadFullTree()"
                )
            }
            return s.tree.leafHash(at: index)
        }
    }

    /// The inclusion proof of entry `index` in the tree of the first `size` entries (durable size by default).
    public func inclusionProof(index: UInt64, size: UInt64? = nil) throws -> [[UInt8]] {
        try state.withLock { s in try s.tree.inclusionProof(index: index, size: size ?? s.durable) }
    }

    /// The consistency proof from the tree of `oldSize` entries to that of `newSize` (durable size by default).
    public func consistencyProof(from oldSize: UInt64, to newSize: UInt64? = nil) throws -> [[UInt8]] {
        try state.withLock { s in try s.tree.consistencyProof(from: oldSize, to: newSize ?? s.durable) }
    }

    // MARK: Checkpoints

    /// A checkpoint of every durable entry, signed with the log's key (C2SP signed note): the one stored with the
    /// latest batch, or a new signature when there is none yet.
    public func checkpoint() throws -> SignedCheckpoint {
        let (size, root, latest) = try state.withLock { s in
            (s.durable, try s.tree.root(size: s.durable), s.latest)
        }
        if let latest, latest.checkpoint.size == size { return latest }
        return SignedCheckpoint.sign(
            try LogCheckpoint(origin: service, size: size, rootHash: root),
            name: service,
            key: signingKey
        )
    }

    /// Signs a checkpoint every `interval` and hands it to `publish` (to a witness, a file, a transparency
    /// service), until the calling task is cancelled.
    public func publishCheckpoints(
        every interval: Duration,
        _ publish: @Sendable (SignedCheckpoint) async -> Void
    ) async {
        while !Task.isCancelled {
            if let checkpoint = try? self.checkpoint() { await publish(checkpoint) }
            try? await Task.sleep(for: interval)
        }
    }

    /// Witnesses another log's checkpoint: checks its signature by `logKey` and that it is consistent with the
    /// last checkpoint this log cosigned for the same origin, then adds this log's cosignature.
    ///
    /// Once a witness has cosigned size `n` with root `r`, the other log's owner cannot present a rewritten
    /// history: a checkpoint that is smaller, has the same size but another root, or (when `consistencyProof` is
    /// given) does not extend `r`, is refused.
    ///
    /// - Parameters:
    ///   - checkpoint: the other log's signed checkpoint.
    ///   - logKey: the other log's public key (key name = its origin).
    ///   - consistencyProof: proof from the last cosigned size to this one; required when this witness has
    ///     cosigned a smaller non-empty checkpoint of the same origin before.
    /// - Throws: ``AuditError/Code/invalidSignature`` or ``AuditError/Code/inconsistent``.
    public func cosign(
        _ checkpoint: SignedCheckpoint,
        logKey: Ed25519.PublicKey,
        consistencyProof: [[UInt8]]? = nil
    ) throws -> SignedCheckpoint {
        let origin = checkpoint.checkpoint.origin
        try checkpoint.verify(name: origin, key: logKey)
        let size = checkpoint.checkpoint.size
        let root = checkpoint.checkpoint.rootHash
        try state.withLock { s in
            if let seen = s.witnessed[origin] {
                if size < seen.size {
                    throw AuditError(
                        .inconsistent,
                        "'\(origin)' checkpoint size \(size) is smaller than witnessed \(seen.size)"
                    )
                }
                if size == seen.size, root != seen.root {
                    throw AuditError(.inconsistent, "'\(origin)' presents two roots for size \(size)")
                }
                if size > seen.size, seen.size > 0 {
                    guard let proof = consistencyProof else {
                        throw AuditError(
                            .inconsistent,
                            "'\(origin)' grew from \(seen.size) to \(size) without a consistency proof"
                        )
                    }
                    do {
                        try MerkleProof.verifyConsistency(
                            oldSize: seen.size,
                            newSize: size,
                            oldRoot: seen.root,
                            newRoot: root,
                            proof: proof
                        )
                    } catch {
                        throw AuditError(
                            .inconsistent,
                            "'\(origin)' size \(size) does not extend witnessed size \(seen.size)"
                        )
                    }
                }
            }
            s.witnessed[origin] = (size, root)
        }
        return checkpoint.cosigned(by: service, key: signingKey, at: clock.now())
    }
}
