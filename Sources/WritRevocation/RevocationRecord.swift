import WritCrypto

/// What a snapshot keeps about one revoked target (the target itself is the key it is stored under).
struct RevocationRecord: Hashable, Sendable {
    var sequence: UInt64
    var reason: RevocationReason
    var revokedAt: Timestamp
    var coversUntil: Timestamp

    init(_ entry: RevocationEntry) {
        sequence = entry.sequence
        reason = entry.reason
        revokedAt = entry.revokedAt
        coversUntil = entry.coversUntil
    }

    init(sequence: UInt64, reason: RevocationReason, revokedAt: Timestamp, coversUntil: Timestamp) {
        self.sequence = sequence
        self.reason = reason
        self.revokedAt = revokedAt
        self.coversUntil = coversUntil
    }

    func entry(for target: RevocationTarget) -> RevocationEntry {
        RevocationEntry(
            sequence: sequence,
            target: target,
            reason: reason,
            revokedAt: revokedAt,
            coversUntil: coversUntil
        )
    }

    /// Whether `candidate` should replace this record: it keeps the target revoked for longer.
    func isSuperseded(by candidate: RevocationRecord) -> Bool { candidate.coversUntil > coversUntil }

    /// The reason's index in `RevocationReason.allCases`, for compact storage.
    var reasonCode: UInt8 { UInt8(RevocationReason.allCases.firstIndex(of: reason)!) }

    static func reason(code: UInt8) -> RevocationReason { RevocationReason.allCases[Int(code)] }
}
