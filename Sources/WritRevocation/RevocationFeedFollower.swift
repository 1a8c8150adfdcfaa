import Synchronization
public import WritCrypto

/// Keeps a ``RevocationSnapshot`` up to date from a ``RevocationStore``, trusting nothing it has not verified.
///
/// ``syncOnce()`` fetches every entry after the last one applied (page by page) and checks each: signed by a
/// trusted revocation key, the next sequence, linked to the hash of the entry applied before it. It then checks the
/// feed's signed head: the entries must reach it and agree with it. Only then is the snapshot marked fresh, as of
/// the head's signed time, so a feed that is deleted, truncated or rolled back leaves the snapshot stale, and its
/// lookups fail closed. A follower that sees a sequence it applied with another hash, or a newer head at a lower
/// sequence than one it saw, has seen a fork or a rollback: it stops for good (``failure``) until restarted.
///
/// After each sync it signs a ``WatermarkReport`` with its own key and leaves it in a ``WatermarkStore``; it never
/// writes to the feed. ``run()`` repeats every ``Configuration/pollInterval``, or sooner after ``wake()`` (a
/// push), until its task is cancelled; it has the shape of a swift-service-lifecycle `Service`.
public final class RevocationFeedFollower: Sendable {
    /// How a follower polls and pages.
    public struct Configuration: Sendable {
        /// Time between syncs when no wake-up arrives.
        public var pollInterval: Duration
        /// Entries fetched per request.
        public var pageSize: Int
        /// Pages fetched per sync at most; a sync that hits this limit does not mark the snapshot fresh.
        public var maximumPagesPerSync: Int
        /// Entries are dropped from the snapshot once their `coversUntil` is this far in the past (`nil`: never).
        /// Keep it above the clock skew the token verifier tolerates.
        public var pruneDelay: Duration?
        /// Time between prunes of the snapshot (a prune scans every entry, so it runs less often than syncs).
        public var pruneInterval: Duration

        /// Creates a configuration.
        public init(
            pollInterval: Duration = .seconds(1),
            pageSize: Int = 1000,
            maximumPagesPerSync: Int = 1000,
            pruneDelay: Duration? = .seconds(300),
            pruneInterval: Duration = .seconds(60)
        ) {
            self.pollInterval = pollInterval
            self.pageSize = pageSize
            self.maximumPagesPerSync = maximumPagesPerSync
            self.pruneDelay = pruneDelay
            self.pruneInterval = pruneInterval
        }
    }

    /// What one sync did.
    public struct SyncResult: Hashable, Sendable {
        /// Entries fetched, verified and applied.
        public var fetched: Int
        /// The snapshot's watermark after the sync.
        public var watermark: UInt64
        /// Whether the sync verified the feed's head and so marked the snapshot fresh.
        public var caughtUp: Bool

        /// Creates a result.
        public init(fetched: Int, watermark: UInt64, caughtUp: Bool) {
            self.fetched = fetched
            self.watermark = watermark
            self.caughtUp = caughtUp
        }
    }

    private struct State {
        /// The last entry applied (or the floor jumped to).
        var tip = RevocationFeedTip.start
        /// The hashes of the most recently applied entries, contiguous and ending at `tip`.
        var recent: [RevocationFeedTip] = []
        /// The newest verified head's time, and the highest sequence any verified head named.
        var newestHead: Timestamp?
        var highestHeadSequence: UInt64 = 0
        var lastError: RevocationError?
        var failure: RevocationError?
        var lastPrune: Timestamp?

        func hash(at sequence: UInt64) -> RevocationFeedHash? {
            if sequence == tip.sequence { return tip.hash }
            guard let first = recent.first, sequence >= first.sequence, sequence - first.sequence < recent.count
            else { return nil }
            return recent[Int(sequence - first.sequence)].hash
        }

        mutating func remember(_ entry: SignedRevocationEntry) {
            tip = RevocationFeedTip(sequence: entry.sequence, hash: entry.hash)
            recent.append(tip)
            if recent.count > 2 * RevocationFeedFollower.recentHashCount {
                recent.removeFirst(recent.count - RevocationFeedFollower.recentHashCount)
            }
        }
    }

    /// How many recent entry hashes a follower keeps to check heads that lag its entries.
    static let recentHashCount = 4096

    /// The name under which this verifier reports its watermark.
    public let verifier: String
    /// The snapshot being kept up to date.
    public let snapshot: RevocationSnapshot
    /// Polling and paging settings.
    public let configuration: Configuration

    private let store: any RevocationStore
    private let trustedKeys: [KeyID: Ed25519.PublicKey]
    private let clock: any WallClock
    private let reportSigner: (any Signer)?
    private let watermarks: (any WatermarkStore)?
    private let wakeSignal = WakeSignal()
    private let state = Mutex(State())

    /// Creates a follower.
    ///
    /// - Parameters:
    ///   - verifier: the verifier's stable name (for example its service's SPIFFE id).
    ///   - store: the feed to follow (only read).
    ///   - trustedKeys: the authority's revocation keys (from the trust bundle; several during a rotation).
    ///   - snapshot: the snapshot to keep up to date.
    ///   - clock: the wall clock used for pruning and report times.
    ///   - reportSigner: the verifier's own key, which signs its watermark reports.
    ///   - watermarks: where reports are left (`nil`: this verifier does not report).
    ///   - configuration: polling and paging settings.
    /// - Throws: ``RevocationError`` with code `invalidArgument` for an empty or oversized verifier name, no
    ///   trusted key, or a page size or page limit below 1.
    public init(
        verifier: String,
        store: some RevocationStore,
        trustedKeys: [Ed25519.PublicKey],
        snapshot: RevocationSnapshot,
        clock: some WallClock,
        reportSigner: (any Signer)? = nil,
        watermarks: (any WatermarkStore)? = nil,
        configuration: Configuration = Configuration()
    ) throws(RevocationError) {
        try validateVerifierName(verifier)
        guard configuration.pageSize > 0, configuration.maximumPagesPerSync > 0 else {
            throw RevocationError(.invalidArgument, "page size and pages per sync must be at least 1")
        }
        guard !trustedKeys.isEmpty else {
            throw RevocationError(.invalidArgument, "a follower needs at least one trusted revocation key")
        }
        self.verifier = verifier
        self.store = store
        self.trustedKeys = Dictionary(trustedKeys.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        self.snapshot = snapshot
        self.clock = clock
        self.reportSigner = reportSigner
        self.watermarks = watermarks
        self.configuration = configuration
    }

    /// The error of the last failed sync, cleared by the next successful one.
    public var lastError: RevocationError? { state.withLock { $0.lastError } }

    /// A fork or rollback this follower saw: it syncs no more (and its snapshot goes stale) until restarted.
    public var failure: RevocationError? { state.withLock { $0.failure } }

    /// The last entry applied.
    public var tip: RevocationFeedTip { state.withLock { $0.tip } }

    /// Fetches, verifies and applies everything new, checks the head, then reports the watermark.
    ///
    /// - Throws: ``RevocationError`` with code `tampered` naming what does not verify, or whatever the store
    ///   throws; a failed sync leaves the snapshot's freshness unchanged (entries verified before the failure are
    ///   applied: they only ever revoke more).
    @discardableResult
    public func syncOnce() async throws -> SyncResult {
        do {
            if let failure = self.failure { throw failure }
            let result = try await sync()
            state.withLock { $0.lastError = nil }
            return result
        } catch {
            let recorded =
                (error as? RevocationError) ?? RevocationError(.storeUnavailable, "syncing the feed", underlying: error)
            state.withLock { $0.lastError = recorded }
            throw error
        }
    }

    private func stop(_ message: String) -> RevocationError {
        let error = RevocationError(.tampered, "\(message); \(verifier) stops following the feed")
        state.withLock { $0.failure = error }
        return error
    }

    private func verify(_ mark: SignedFeedMark) throws(RevocationError) {
        guard let key = trustedKeys[mark.keyID], mark.isSigned(by: key) else {
            throw RevocationError(.tampered, "the feed's \(mark) is not signed by a trusted revocation key")
        }
    }

    private func sync() async throws -> SyncResult {
        let startedAt = clock.now()
        var fetched = 0
        var head: SignedFeedMark?
        var reachedEnd = false
        for _ in 0..<configuration.maximumPagesPerSync {
            let page = try await store.page(after: tip.sequence, limit: configuration.pageSize)
            if let mark = page.head {
                try verify(mark)
                head = mark
            }
            let applied = try apply(page)
            fetched += applied
            if page.entries.count < configuration.pageSize {
                reachedEnd = true
                break
            }
        }
        var caughtUp = false
        if reachedEnd {
            guard let head else {
                throw RevocationError(.tampered, "the feed has no signed head: its freshness cannot be verified")
            }
            try check(head)
            snapshot.apply([], heardAt: head.issuedAt)
            caughtUp = true
        }
        if let delay = configuration.pruneDelay, isPruneDue(at: startedAt) {
            snapshot.prune(expiredBefore: startedAt.advanced(by: .zero - delay))
        }
        let tip = self.tip
        if let reportSigner, let watermarks {
            let report = try WatermarkReport(
                verifier: verifier,
                sequence: tip.sequence,
                hash: tip.hash,
                recordedAt: startedAt,
                signer: reportSigner
            )
            try await watermarks.record(report)
        }
        return SyncResult(fetched: fetched, watermark: tip.sequence, caughtUp: caughtUp)
    }

    /// Verifies a page's floor and entries against the chain applied so far and applies the valid prefix.
    ///
    /// Each entry is checked against the follower's state at that moment, so concurrent syncs of one follower are
    /// safe: an entry another sync already applied is recognised by its hash and skipped.
    private func apply(_ page: RevocationFeedPage) throws(RevocationError) -> Int {
        if let floor = page.floor {
            try verify(floor)
            let mismatch = state.withLock { state -> Bool in
                if floor.sequence > state.tip.sequence {
                    // Entries up to the floor were pruned: every token they covered has expired.
                    state.tip = RevocationFeedTip(sequence: floor.sequence, hash: floor.hash)
                    state.recent = [state.tip]
                    return false
                }
                return state.hash(at: floor.sequence).map { $0 != floor.hash } ?? false
            }
            if mismatch { throw stop("the feed's floor names another entry #\(floor.sequence) than the one applied") }
        }
        var accepted: [RevocationEntry] = []
        var problem: RevocationError?
        for entry in page.entries {
            guard let key = trustedKeys[entry.keyID], entry.isSigned(by: key) else {
                problem = RevocationError(
                    .tampered,
                    "feed entry #\(entry.sequence) is not signed by a trusted revocation key: altered or forged"
                )
                break
            }
            enum Step {
                case applied, duplicate
                case gap(UInt64)
                case fork(UInt64)
            }
            let step = state.withLock { state -> Step in
                let tip = state.tip
                if entry.sequence <= tip.sequence {
                    // Seen before (a concurrent sync applied it): the same entry, or a fork.
                    return state.hash(at: entry.sequence).map { $0 == entry.hash } ?? true
                        ? .duplicate : .fork(entry.sequence)
                }
                guard entry.sequence == tip.sequence + 1 else { return .gap(tip.sequence) }
                guard entry.previousHash == tip.hash else { return .fork(tip.sequence) }
                state.remember(entry)
                return .applied
            }
            switch step {
            case .applied:
                accepted.append(entry.entry)
            case .duplicate:
                continue
            case .gap(let last):
                problem = RevocationError(
                    .tampered,
                    "the feed skips from #\(last) to #\(entry.sequence): entries were deleted"
                )
            case .fork(let sequence):
                problem = stop(
                    "feed entry #\(entry.sequence) does not continue the entry #\(sequence) this verifier applied: "
                        + "the feed was forked or rolled back"
                )
            }
            if problem != nil { break }
        }
        snapshot.apply(accepted)
        if let problem { throw problem }
        return accepted.count
    }

    /// Checks a verified head against the entries applied and the heads seen before.
    private func check(_ head: SignedFeedMark) throws(RevocationError) {
        let (tip, known, newest, highest) = state.withLock {
            ($0.tip, $0.hash(at: head.sequence), $0.newestHead, $0.highestHeadSequence)
        }
        guard head.sequence <= tip.sequence else {
            throw RevocationError(
                .tampered,
                "the feed ends at #\(tip.sequence) but its signed head is at #\(head.sequence): "
                    + "entries were deleted or truncated"
            )
        }
        guard let known else {
            throw RevocationError(.tampered, "the feed's \(head) lags too far behind its entries to be checked")
        }
        if known != head.hash {
            throw stop("the feed's signed head names another entry #\(head.sequence) than the one applied")
        }
        if let newest, head.issuedAt > newest, head.sequence < highest {
            throw stop(
                "a newer signed head is at #\(head.sequence), below #\(highest) seen before: the feed was rolled back"
            )
        }
        if let newest, head.issuedAt <= newest {
            if head.sequence < highest {
                throw RevocationError(
                    .tampered,
                    "the feed shows an older head (#\(head.sequence)) than one seen before (#\(highest)): "
                        + "rolled back or replayed"
                )
            }
            return  // nothing newer: freshness stays where the newest head put it
        }
        state.withLock { state in
            state.newestHead = head.issuedAt
            state.highestHeadSequence = max(state.highestHeadSequence, head.sequence)
        }
    }

    private func isPruneDue(at now: Timestamp) -> Bool {
        state.withLock { state in
            if let last = state.lastPrune, last.duration(to: now) < configuration.pruneInterval, last <= now {
                return false
            }
            state.lastPrune = now
            return true
        }
    }

    /// Asks a running ``run()`` loop to sync now instead of at the next poll (for push notifications).
    public func wake() { wakeSignal.signal() }

    /// Syncs every poll interval (or on ``wake()``) until the task is cancelled, then returns.
    ///
    /// - Parameter onError: called with each failed sync (the loop goes on; the snapshot goes stale meanwhile).
    ///
    /// When the store announces new entries (``RevocationStore/announcements()``), each announcement wakes the
    /// loop at once; polling stays on as the fallback when announcements stop or were never available.
    public func run(onError: @Sendable (any Error) -> Void = { _ in }) async {
        await withTaskGroup(of: Void.self) { outer in
            if let announcements = store.announcements() {
                outer.addTask { [wakeSignal] in
                    for await _ in announcements { wakeSignal.signal() }
                }
            }
            while !Task.isCancelled {
                do { try await syncOnce() } catch { onError(error) }
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { [pollInterval = configuration.pollInterval] in
                        try? await Task.sleep(for: pollInterval)
                    }
                    group.addTask { [wakeSignal] in await wakeSignal.wait() }
                    await group.next()
                    group.cancelAll()
                }
            }
            outer.cancelAll()
        }
    }
}
