public import WritCrypto

/// What a store returns to a verifier following its feed: entries after a sequence, the floor when pruning removed
/// entries the verifier has not seen, and the latest signed head.
///
/// A store reads the head *before* the entries (in one transaction where it has them), so an honest page never
/// has a head newer than its entries: a head beyond the page's last entry, when the page is the feed's end, means
/// entries were deleted or truncated.
public struct RevocationFeedPage: Hashable, Sendable {
    /// The signed floor, when entries at or below the requested sequence were pruned.
    public var floor: SignedFeedMark?
    /// Entries in increasing sequence order.
    public var entries: [SignedRevocationEntry]
    /// The latest signed head (`nil` when the authority never published one).
    public var head: SignedFeedMark?

    /// Creates a page.
    public init(floor: SignedFeedMark? = nil, entries: [SignedRevocationEntry], head: SignedFeedMark?) {
        self.floor = floor
        self.entries = entries
        self.head = head
    }
}

/// A position in the feed: a sequence and the hash of the entry there.
public struct RevocationFeedTip: Hashable, Sendable, CustomStringConvertible {
    /// The sequence (0 before the first entry).
    public var sequence: UInt64
    /// The hash of the entry at ``sequence`` (zero for sequence 0).
    public var hash: RevocationFeedHash

    /// The position before the first entry.
    public static let start = RevocationFeedTip(sequence: 0, hash: .zero)

    /// Creates a position.
    public init(sequence: UInt64, hash: RevocationFeedHash) {
        self.sequence = sequence
        self.hash = hash
    }

    /// Whether a feed whose tip is `self` can be a continuation of one whose tip was `earlier` (it is not behind it;
    /// at the same sequence, the hashes agree).
    public func continues(_ earlier: RevocationFeedTip) -> Bool {
        sequence > earlier.sequence || (sequence == earlier.sequence && hash == earlier.hash)
    }

    /// `#sequence (hash)`.
    public var description: String { "#\(sequence) (\(hash))" }
}

/// A revocation to append to the feed.
public struct RevocationRequest: Hashable, Sendable {
    /// What to revoke.
    public var target: RevocationTarget
    /// Why.
    public var reason: RevocationReason
    /// When the revocation is recorded.
    public var revokedAt: Timestamp
    /// When every token the target covers has expired (the pruning bound).
    public var coversUntil: Timestamp

    /// Creates a request.
    public init(_ target: RevocationTarget, reason: RevocationReason, at revokedAt: Timestamp, coversUntil: Timestamp) {
        self.target = target
        self.reason = reason
        self.revokedAt = revokedAt
        self.coversUntil = coversUntil
    }
}
