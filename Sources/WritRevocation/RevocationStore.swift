public import WritCrypto

/// Where the signed revocation feed is kept, and from which verifiers follow it.
///
/// The authority writes through a ``RevocationPublisher``; verifiers read through a ``RevocationFeedFollower``.
/// A store holds **signed** records (entries, the latest head, the floor) as the bytes that were signed, and does
/// the chain's bookkeeping inside its serialising step (a write transaction, an exclusive file lock): it assigns the
/// next sequence, links the previous entry's hash and asks the signer for the signature there, so two authority
/// replicas on one store can never fork the chain. It verifies nothing else: because every record is signed by
/// the authority's revocation key, verifiers trust what they verify, not the store.
///
/// Contract every implementation keeps (checked by `WritTesting.RevocationStoreConformance`):
/// - Sequences are contiguous from 1 (or from the floor); each entry links to the previous entry's hash.
/// - Entries become visible in sequence order, and a page's head is never newer than its entries.
/// - Revoking a target that already has an entry with the same reason covering at least as long returns that
///   entry (so retries do not grow the feed); otherwise a new entry is appended.
/// - A write given a `minimum` tip refuses with code `tampered` when the store is behind it (rolled back).
public protocol RevocationStore: Sendable {
    /// Appends revocations as signed, chained entries, durably, in order.
    ///
    /// - Parameters:
    ///   - revocations: what to revoke.
    ///   - signer: the authority's revocation key.
    ///   - minimum: the tip the writer last saw; the store refuses to write when it is behind it.
    /// - Returns: one entry per request: the new entry, or the existing one for an identical retry.
    /// - Throws: ``RevocationError`` with code `invalidTarget`, `storeUnavailable` or `tampered`.
    func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry]

    /// Signs a head over the store's current tip and keeps it as the latest head.
    ///
    /// - Throws: ``RevocationError`` with code `storeUnavailable`, or `tampered` when the store is behind `minimum`.
    func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> SignedFeedMark

    /// Up to `limit` entries after `sequence`, with the floor when `sequence` is below it, and the latest head.
    ///
    /// - Throws: ``RevocationError`` with code `invalidArgument` when `limit` is below 1, `malformed` or
    ///   `tampered` when stored records are not a valid feed.
    func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage

    /// Removes the longest prefix of entries whose ``RevocationEntry/coversUntil`` is before `time`, recording a
    /// signed floor; returns how many were removed.
    ///
    /// Pass the current time minus the clock skew verifiers tolerate: then every token a removed entry covered has
    /// expired everywhere.
    @discardableResult
    func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int

    /// New tip sequences as this store learns of them (after its own writes; a database store also after
    /// other processes' writes, e.g. by LISTEN/NOTIFY), or `nil` when the store cannot push and followers poll.
    ///
    /// An announcement is only a wake-up hint: a follower always reads and verifies the feed itself, so a lost,
    /// late or forged announcement can delay a sync until the next poll but never changes what is applied.
    func announcements() -> AsyncStream<UInt64>?
}

extension RevocationStore {
    /// No push by default: followers poll.
    public func announcements() -> AsyncStream<UInt64>? { nil }

    /// Every record the store holds, as one page (for inspection and tests; a large feed is better paged).
    public func contents() async throws -> RevocationFeedPage {
        try await page(after: 0, limit: .max)
    }
}

/// The longest verifier name a store accepts, in UTF-8 bytes.
let maximumVerifierNameByteCount = 1024

func validateVerifierName(_ verifier: String) throws(RevocationError) {
    let count = verifier.utf8.count
    guard count > 0, count <= maximumVerifierNameByteCount else {
        throw RevocationError(.invalidArgument, "verifier name must be 1...\(maximumVerifierNameByteCount) bytes")
    }
}
