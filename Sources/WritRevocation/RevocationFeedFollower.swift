import Synchronization
public import WritCrypto

/// Keeps a ``RevocationSnapshot`` up to date from a ``RevocationStore`` and reports its watermark.
///
/// ``syncOnce()`` fetches every entry after the snapshot's watermark (page by page), applies them, marks the
/// snapshot fresh as of the time the fetch started, prunes expired entries and records the watermark with the
/// store under ``verifier``. ``run()`` repeats that every ``Configuration/pollInterval`` — or sooner after
/// ``wake()`` (e.g. from a LISTEN/NOTIFY push) — until its task is cancelled. It has the shape of a
/// swift-service-lifecycle `Service` and starts no unstructured tasks.
///
/// Errors do not stop ``run()``: the snapshot simply stops being refreshed and fails closed once stale.
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
        /// Entries fetched from the store.
        public var fetched: Int
        /// The snapshot's watermark after the sync.
        public var watermark: UInt64
        /// Whether the sync reached the end of the feed (and so marked the snapshot fresh).
        public var caughtUp: Bool

        /// Creates a result.
        public init(fetched: Int, watermark: UInt64, caughtUp: Bool) {
            self.fetched = fetched
            self.watermark = watermark
            self.caughtUp = caughtUp
        }
    }

    /// The name under which this verifier reports its watermark.
    public let verifier: String
    /// The snapshot being kept up to date.
    public let snapshot: RevocationSnapshot
    /// Polling and paging settings.
    public let configuration: Configuration

    private let store: any RevocationStore
    private let clock: any WallClock
    private let wakeSignal = WakeSignal()
    private let lastErrorState = Mutex<RevocationError?>(nil)
    private let lastPrune = Mutex<Timestamp?>(nil)

    /// Creates a follower.
    ///
    /// - Parameters:
    ///   - verifier: the verifier's stable name (for example its service's SPIFFE id).
    ///   - store: the store to follow.
    ///   - snapshot: the snapshot to keep up to date.
    ///   - clock: the wall clock used for freshness and pruning.
    ///   - configuration: polling and paging settings.
    /// - Throws: ``RevocationError`` with code `invalidArgument` for an empty or oversized verifier name or a page
    ///   size or page limit below 1.
    public init(
        verifier: String,
        store: some RevocationStore,
        snapshot: RevocationSnapshot,
        clock: some WallClock,
        configuration: Configuration = Configuration()
    ) throws(RevocationError) {
        try validateVerifierName(verifier)
        guard configuration.pageSize > 0, configuration.maximumPagesPerSync > 0 else {
            throw RevocationError(.invalidArgument, "page size and pages per sync must be at least 1")
        }
        self.verifier = verifier
        self.store = store
        self.snapshot = snapshot
        self.clock = clock
        self.configuration = configuration
    }

    /// The error of the last failed sync, cleared by the next successful one.
    public var lastError: RevocationError? { lastErrorState.withLock { $0 } }

    /// Fetches and applies everything new, then records the watermark with the store.
    ///
    /// - Throws: whatever the store throws; a store error leaves the snapshot's freshness unchanged.
    @discardableResult
    public func syncOnce() async throws -> SyncResult {
        do {
            let result = try await sync()
            lastErrorState.withLock { $0 = nil }
            return result
        } catch {
            let recorded = (error as? RevocationError) ?? RevocationError(.storeUnavailable, "\(error)")
            lastErrorState.withLock { $0 = recorded }
            throw error
        }
    }

    private func sync() async throws -> SyncResult {
        let startedAt = clock.now()
        var fetched = 0
        var caughtUp = false
        for _ in 0..<configuration.maximumPagesPerSync {
            let page = try await store.entries(after: snapshot.watermark, limit: configuration.pageSize)
            if let bad = page.first(where: { $0.sequence == 0 }) {
                throw RevocationError(.corruptStore, "store returned an entry with sequence 0: \(bad.target)")
            }
            fetched += page.count
            if page.count < configuration.pageSize {
                snapshot.apply(page, heardAt: startedAt)
                caughtUp = true
                break
            }
            snapshot.apply(page)
        }
        if let delay = configuration.pruneDelay, isPruneDue(at: startedAt) {
            snapshot.prune(expiredBefore: startedAt.advanced(by: .zero - delay))
        }
        let watermark = snapshot.watermark
        try await store.recordWatermark(verifier: verifier, sequence: watermark, at: startedAt)
        return SyncResult(fetched: fetched, watermark: watermark, caughtUp: caughtUp)
    }

    private func isPruneDue(at now: Timestamp) -> Bool {
        lastPrune.withLock { last in
            if let last, last.duration(to: now) < configuration.pruneInterval, last <= now { return false }
            last = now
            return true
        }
    }

    /// Asks a running ``run()`` loop to sync now instead of at the next poll (for push notifications).
    public func wake() { wakeSignal.signal() }

    /// Syncs every poll interval (or on ``wake()``) until the task is cancelled, then returns.
    public func run() async throws {
        while !Task.isCancelled {
            _ = try? await syncOnce()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [pollInterval = configuration.pollInterval] in
                    try? await Task.sleep(for: pollInterval)
                }
                group.addTask { [wakeSignal] in await wakeSignal.wait() }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
