public import WritCrypto

/// A signed statement of where the feed ends: "the latest entry is `sequence`, with hash `hash`, as of
/// `issuedAt`" (a head), or "entries up to `sequence` were pruned; the last of them had hash `hash`" (a floor).
///
/// The authority signs a head at least every second, even when nothing was revoked. A verifier's freshness is the
/// `issuedAt` of the newest head it verified and caught up with, so whoever deletes, truncates or rolls back the
/// feed can only show old heads, and verifiers go stale and fail closed. A floor keeps the chain verifiable after
/// pruning: the first remaining entry links to the floor's hash.
///
/// Binary form: version `0x01`, kind (`0x02` head, `0x03` floor), sequence (u64), hash (32 bytes), issued-at (i64
/// milliseconds), the signing key's id (8 bytes), and an Ed25519 signature over `writ.revocation-feed.v1\0`
/// followed by everything before the signature.
public struct SignedFeedMark: Hashable, Sendable, CustomStringConvertible, SignedFeedRecord {
    /// Whether a mark is a head or a floor.
    public enum Kind: Hashable, Sendable {
        /// The feed's end, at the time it was signed.
        case head
        /// Entries up to the sequence were pruned.
        case floor
    }

    /// Head or floor.
    public let kind: Kind
    /// The latest sequence (head) or the last pruned sequence (floor); 0 for the head of an empty feed.
    public let sequence: UInt64
    /// The hash of the entry at ``sequence`` (``RevocationFeedHash/zero`` for sequence 0).
    public let hash: RevocationFeedHash
    /// When the authority signed it.
    public let issuedAt: Timestamp
    /// The id of the revocation key that signed it.
    public let keyID: KeyID
    /// The complete record, exactly as signed and stored.
    public let bytes: [UInt8]
    let signatureStart: Int

    /// Signs a head or floor.
    ///
    /// - Throws: ``RevocationError`` with code `storeUnavailable` when the signer fails.
    public init(
        signing kind: Kind,
        sequence: UInt64,
        hash: RevocationFeedHash,
        issuedAt: Timestamp,
        signer: some Signer
    ) throws(RevocationError) {
        var w = FeedWriter(kind: kind == .head ? .head : .floor)
        w.u64(sequence)
        w.raw(hash.bytes)
        w.time(issuedAt)
        w.raw(signer.publicKey.keyID.bytes)
        try self.init(bytes: FeedFormat.sign(w.bytes, with: signer), kind: kind)
    }

    /// Parses a head's or floor's binary form, strictly (its signature is not checked: see ``isSigned(by:)``).
    ///
    /// - Throws: ``RevocationError`` with code `malformed` naming the field.
    public init(bytes: [UInt8], kind: Kind) throws(RevocationError) {
        var r = try FeedReader(
            bytes,
            kind: kind == .head ? .head : .floor,
            what: kind == .head ? "feed head" : "feed floor"
        )
        self.kind = kind
        sequence = try r.u64("sequence")
        hash = try r.hash("hash")
        issuedAt = try r.time("issued-at")
        keyID = try r.keyID("key id")
        signatureStart = try r.signature().start
        if sequence == 0 && hash != .zero { throw r.fail("sequence 0 with a non-zero hash") }
        if kind == .floor && sequence == 0 { throw r.fail("a floor at sequence 0") }
        self.bytes = bytes
    }

    /// Whether the signature is valid by `key`.
    public func isSigned(by key: Ed25519.PublicKey) -> Bool { verifies(by: key) }

    /// `head #N (hash) at time` or `floor #N (hash)`.
    public var description: String {
        kind == .head ? "head #\(sequence) (\(hash)) at \(issuedAt)" : "floor #\(sequence) (\(hash))"
    }
}
