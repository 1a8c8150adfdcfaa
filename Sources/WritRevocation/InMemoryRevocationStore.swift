import Synchronization
public import WritCrypto

/// A ``RevocationStore`` held in memory: for tests, single-process deployments and as the reference
/// implementation of the store contract.
public final class InMemoryRevocationStore: RevocationStore {
    private let ledger = Mutex(FeedLedger())
    private let announcer = FeedAnnouncer()

    /// Creates an empty store.
    public init() {}

    public func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        let entries = try ledger.withLock { ledger throws(RevocationError) in
            try ledger.check(minimum: minimum, store: "the in-memory feed")
            return try ledger.append(revocations, signer: signer).all
        }
        if let last = entries.map(\.sequence).max() { announcer.announce(last) }
        return entries
    }

    public func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> SignedFeedMark {
        let head = try ledger.withLock { ledger throws(RevocationError) in
            try ledger.check(minimum: minimum, store: "the in-memory feed")
            return try ledger.publishHead(at: time, signer: signer)
        }
        announcer.announce(head.sequence)
        return head
    }

    /// Announces every append and head of this store (it is the only writer there is).
    public func announcements() -> AsyncStream<UInt64>? { announcer.subscribe() }

    public func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        guard limit > 0 else { throw RevocationError(.invalidArgument, "page limit must be at least 1, got \(limit)") }
        return ledger.withLock { $0.page(after: sequence, limit: limit) }
    }

    @discardableResult
    public func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        try ledger.withLock { ledger throws(RevocationError) in
            try ledger.prune(expiredBefore: time, at: now, signer: signer)
        }
    }

    /// Replaces the store's records without any check, as an attacker with write access could (test support).
    @_spi(Testing)
    public func overwrite(with contents: RevocationFeedPage) {
        ledger.withLock { $0.overwrite(with: contents) }
    }
}
