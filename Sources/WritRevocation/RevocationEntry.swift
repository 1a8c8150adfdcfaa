public import WritCrypto

/// One revocation as recorded by a ``RevocationStore`` and applied by verifiers.
public struct RevocationEntry: Hashable, Sendable, CustomStringConvertible {
    /// The store-assigned sequence number: starts at 1 and only increases.
    public var sequence: UInt64
    /// What is revoked.
    public var target: RevocationTarget
    /// Why.
    public var reason: RevocationReason
    /// When the revocation was recorded.
    public var revokedAt: Timestamp
    /// When every token this revocation covers has expired; after that (plus clock skew) it can be pruned.
    public var coversUntil: Timestamp

    /// Creates an entry.
    ///
    /// - Parameters:
    ///   - sequence: the store-assigned sequence number (1 or more).
    ///   - target: what is revoked.
    ///   - reason: why.
    ///   - revokedAt: when the revocation was recorded.
    ///   - coversUntil: when every token it covers has expired.
    public init(
        sequence: UInt64,
        target: RevocationTarget,
        reason: RevocationReason,
        revokedAt: Timestamp,
        coversUntil: Timestamp
    ) {
        self.sequence = sequence
        self.target = target
        self.reason = reason
        self.revokedAt = revokedAt
        self.coversUntil = coversUntil
    }

    /// `#sequence target (reason)`.
    public var description: String { "#\(sequence) \(target) (\(reason))" }
}
