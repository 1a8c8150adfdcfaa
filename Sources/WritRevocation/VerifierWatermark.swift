public import WritCrypto

/// What one verifier last reported to a store: it has applied every revocation up to ``sequence``.
public struct VerifierWatermark: Hashable, Sendable, CustomStringConvertible {
    /// The verifier's name (stable across restarts, e.g. the service's SPIFFE id).
    public var verifier: String
    /// The last revocation sequence the verifier has applied.
    public var sequence: UInt64
    /// When the verifier reported it (the time it started the sync that reached ``sequence``).
    public var recordedAt: Timestamp

    /// Creates a watermark report.
    public init(verifier: String, sequence: UInt64, recordedAt: Timestamp) {
        self.verifier = verifier
        self.sequence = sequence
        self.recordedAt = recordedAt
    }

    /// `verifier@sequence`.
    public var description: String { "\(verifier)@\(sequence)" }
}
