public import WritCrypto

/// One entry of the signed revocation feed: a ``RevocationEntry`` chained to the previous entry's hash and signed
/// by the authority's revocation key, kept as the exact bytes that were signed.
///
/// Binary form (`Docs/RevocationFeed.md`): version `0x01`, kind `0x01`, sequence (u64), previous entry's hash
/// (32 bytes), target kind (u8) and value (u16 length, bytes), reason (u8), revoked-at and covers-until (i64
/// milliseconds), the signing key's id (8 bytes), and an Ed25519 signature over `writ.revocation-feed.v1\0`
/// followed by everything before the signature. All integers are big-endian.
public struct SignedRevocationEntry: Hashable, Sendable, CustomStringConvertible, SignedFeedRecord {
    /// The revocation this entry records.
    public let entry: RevocationEntry
    /// The hash of the entry before it (``RevocationFeedHash/zero`` for sequence 1).
    public let previousHash: RevocationFeedHash
    /// The id of the revocation key that signed it.
    public let keyID: KeyID
    /// The complete record, exactly as signed and stored.
    public let bytes: [UInt8]
    /// This entry's hash, which the next entry links to.
    public let hash: RevocationFeedHash
    let signatureStart: Int

    /// The sequence number.
    public var sequence: UInt64 { entry.sequence }

    /// Signs `entry` as the successor of an entry with hash `previousHash`.
    ///
    /// - Throws: ``RevocationError`` with code `invalidTarget` for an invalid target, `invalidArgument` for
    ///   sequence 0, `storeUnavailable` when the signer fails.
    public init(
        signing entry: RevocationEntry,
        previousHash: RevocationFeedHash,
        signer: some Signer
    ) throws(RevocationError) {
        try entry.target.validate()
        guard entry.sequence > 0 else { throw RevocationError(.invalidArgument, "feed sequences start at 1") }
        var w = FeedWriter(kind: .entry)
        w.u64(entry.sequence)
        w.raw(previousHash.bytes)
        w.u8(FeedFormat.code(of: entry.target.kind))
        switch entry.target {
        case .block(let id): w.short(id.bytes)
        case .issuerKey(let key): w.short(key.bytes)
        case .task(let name), .agent(let name): w.short(Array(name.utf8))
        }
        w.u8(FeedFormat.code(of: entry.reason))
        w.time(entry.revokedAt)
        w.time(entry.coversUntil)
        w.raw(signer.publicKey.keyID.bytes)
        let unsigned = w.bytes
        try self.init(bytes: FeedFormat.sign(unsigned, with: signer))
    }

    /// Parses an entry's binary form, strictly (its signature is not checked: see ``isSigned(by:)``).
    ///
    /// - Throws: ``RevocationError`` with code `malformed` naming the field, or `invalidTarget`.
    public init(bytes: [UInt8]) throws(RevocationError) {
        var r = try FeedReader(bytes, kind: .entry, what: "revocation entry")
        let sequence = try r.u64("sequence")
        guard sequence > 0 else { throw r.fail("sequence 0") }
        let previous = try r.hash("previous hash")
        let kindCode = try r.u8("target kind")
        let value = try r.short("target", maximum: RevocationTarget.maximumNameByteCount)
        let target: RevocationTarget
        switch kindCode {
        case FeedFormat.code(of: .block):
            guard let id = try? RevocationID(bytes: value) else { throw r.fail("a block target is 16 bytes") }
            target = .block(id)
        case FeedFormat.code(of: .issuerKey):
            guard let key = try? KeyID(bytes: value) else { throw r.fail("an issuer-key target is 8 bytes") }
            target = .issuerKey(key)
        case FeedFormat.code(of: .task), FeedFormat.code(of: .agent):
            guard let name = String(validating: value, as: UTF8.self) else { throw r.fail("target is not UTF-8") }
            target = kindCode == FeedFormat.code(of: .task) ? .task(name) : .agent(name)
            try target.validate()
        default:
            throw r.fail("unknown target kind \(kindCode)")
        }
        let reasonCode = try r.u8("reason")
        guard let reason = FeedFormat.reason(code: reasonCode) else { throw r.fail("unknown reason \(reasonCode)") }
        let revokedAt = try r.time("revoked-at")
        let coversUntil = try r.time("covers-until")
        keyID = try r.keyID("key id")
        signatureStart = try r.signature().start
        entry = RevocationEntry(
            sequence: sequence,
            target: target,
            reason: reason,
            revokedAt: revokedAt,
            coversUntil: coversUntil
        )
        previousHash = previous
        self.bytes = bytes
        hash = RevocationFeedHash.of(record: bytes)
    }

    /// Whether the signature is valid by `key`.
    public func isSigned(by key: Ed25519.PublicKey) -> Bool { verifies(by: key) }

    /// `#sequence target (reason)`.
    public var description: String { entry.description }
}
