public import WritCrypto

/// A verifier's signed statement "I have applied the feed up to entry `sequence`, whose hash is `hash`".
///
/// Reports are signed by the verifier's own key and kept apart from the feed (in a ``WatermarkStore``), so a
/// verifier needs no write access to the feed, and nobody but the verifier can claim it applied a revocation. The
/// hash binds the report to the chain the verifier saw: a report from a verifier that followed a forked or
/// rolled-back feed does not match the authority's entry at that sequence and proves nothing.
///
/// Binary form: version `0x01`, kind `0x04`, verifier name (u16 length, UTF-8), sequence (u64), hash (32
/// bytes), recorded-at (i64 milliseconds), the verifier key's id (8 bytes), and an Ed25519 signature over
/// `writ.revocation-feed.v1\0` followed by everything before the signature.
public struct WatermarkReport: Hashable, Sendable, CustomStringConvertible, SignedFeedRecord {
    /// The verifier's stable name (for example its service's SPIFFE id).
    public let verifier: String
    /// The last feed sequence the verifier has applied.
    public let sequence: UInt64
    /// The hash of the entry at ``sequence`` as the verifier verified it (zero for sequence 0).
    public let hash: RevocationFeedHash
    /// When the verifier made the report.
    public let recordedAt: Timestamp
    /// The id of the verifier key that signed it.
    public let keyID: KeyID
    /// The complete record, exactly as signed and stored.
    public let bytes: [UInt8]
    let signatureStart: Int

    /// Signs a report with the verifier's key.
    ///
    /// - Throws: ``RevocationError`` with code `invalidArgument` for an empty or oversized verifier name,
    ///   `storeUnavailable` when the signer fails.
    public init(
        verifier: String,
        sequence: UInt64,
        hash: RevocationFeedHash,
        recordedAt: Timestamp,
        signer: some Signer
    ) throws(RevocationError) {
        try validateVerifierName(verifier)
        var w = FeedWriter(kind: .watermarkReport)
        w.short(Array(verifier.utf8))
        w.u64(sequence)
        w.raw(hash.bytes)
        w.time(recordedAt)
        w.raw(signer.publicKey.keyID.bytes)
        try self.init(bytes: FeedFormat.sign(w.bytes, with: signer))
    }

    /// Parses a report's binary form, strictly (its signature is not checked: see ``isSigned(by:)``).
    ///
    /// - Throws: ``RevocationError`` with code `malformed` naming the field.
    public init(bytes: [UInt8]) throws(RevocationError) {
        var r = try FeedReader(bytes, kind: .watermarkReport, what: "watermark report")
        let name = try r.short("verifier", maximum: maximumVerifierNameByteCount)
        guard let verifier = String(validating: name, as: UTF8.self), !verifier.isEmpty else {
            throw r.fail("verifier name is empty or not UTF-8")
        }
        self.verifier = verifier
        sequence = try r.u64("sequence")
        hash = try r.hash("hash")
        recordedAt = try r.time("recorded-at")
        keyID = try r.keyID("key id")
        signatureStart = try r.signature().start
        self.bytes = bytes
    }

    /// The report as an unsigned watermark value.
    public var watermark: VerifierWatermark {
        VerifierWatermark(verifier: verifier, sequence: sequence, recordedAt: recordedAt)
    }

    /// Whether the signature is valid by `key`.
    public func isSigned(by key: Ed25519.PublicKey) -> Bool { verifies(by: key) }

    /// `verifier@sequence`.
    public var description: String { "\(verifier)@\(sequence)" }
}
