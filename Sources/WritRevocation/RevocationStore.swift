public import WritCrypto

/// Where revocations are recorded and from which verifiers follow them.
///
/// A store assigns every revocation a sequence number (starting at 1, strictly increasing), serves them as a
/// feed (``entries(after:limit:)``) and keeps the watermark each verifier reports, so that the authority can
/// prove a revocation has been applied everywhere (``revocationProof(for:expecting:)``).
///
/// Contract every implementation keeps (checked by `WritTesting.RevocationStoreConformance`):
/// - Sequence numbers are unique and strictly increasing; gaps are allowed (pruning, rolled-back inserts).
/// - Entries become visible in sequence order: once ``entries(after:limit:)`` has returned sequence N, no entry
///   with a smaller sequence appears later. (A SQL store must serialise sequence assignment with commit,
///   otherwise a verifier could move its watermark past an entry that is not yet visible and never apply it.)
/// - Revoking a target that already has an entry with the same reason covering at least as long returns that
///   entry (so retries do not grow the feed); otherwise a new entry is appended.
/// - ``recordWatermark(verifier:sequence:at:)`` keeps, per verifier, the report with the latest time, so a
///   restarted verifier that has not yet caught up is shown as lagging.
public protocol RevocationStore: Sendable {
    /// Records a revocation and returns its entry.
    ///
    /// - Parameters:
    ///   - target: what to revoke.
    ///   - reason: why.
    ///   - time: when the revocation is recorded.
    ///   - coversUntil: when every token the target covers has expired (the pruning bound).
    /// - Returns: the new entry, or the existing one when the same revocation was already recorded.
    /// - Throws: ``RevocationError`` with code `invalidTarget` or `storeUnavailable`.
    func revoke(
        _ target: RevocationTarget,
        reason: RevocationReason,
        at time: Timestamp,
        coversUntil: Timestamp
    ) async throws -> RevocationEntry

    /// Up to `limit` entries with a sequence greater than `sequence`, in increasing sequence order.
    ///
    /// - Throws: ``RevocationError`` with code `invalidArgument` when `limit` is below 1.
    func entries(after sequence: UInt64, limit: Int) async throws -> [RevocationEntry]

    /// The highest sequence number ever assigned (0 when nothing was ever revoked); pruning does not lower it.
    func latestSequence() async throws -> UInt64

    /// Records that `verifier` has applied every revocation up to `sequence`, as of `time`.
    ///
    /// - Throws: ``RevocationError`` with code `invalidArgument` for an empty or oversized verifier name.
    func recordWatermark(verifier: String, sequence: UInt64, at time: Timestamp) async throws

    /// Every verifier's latest watermark, sorted by verifier name.
    func watermarks() async throws -> [VerifierWatermark]

    /// Forgets a verifier (decommissioned), so it no longer holds back revocation proofs.
    func removeVerifier(_ verifier: String) async throws

    /// Removes every entry whose ``RevocationEntry/coversUntil`` is before `time`, and returns how many.
    ///
    /// Pass the current time minus the clock skew verifiers tolerate: then every token an entry covers has
    /// expired everywhere and the entry is no longer needed.
    @discardableResult
    func prune(expiredBefore time: Timestamp) async throws -> Int
}

extension RevocationStore {
    /// Whether every registered verifier (and every verifier named in `expected`) has applied `sequence`.
    ///
    /// `false` when no verifier is registered at all: nothing has been proven.
    public func isApplied(sequence: UInt64, byAll expected: some Sequence<String> = [String]()) async throws -> Bool {
        try await revocationProof(for: sequence, expecting: expected).isComplete
    }

    /// Which verifiers have applied revocation `sequence` and which lag behind.
    ///
    /// - Parameters:
    ///   - sequence: the revocation to prove, usually ``RevocationEntry/sequence`` of a just-recorded entry.
    ///   - expected: verifiers that must be present; one that never reported counts as not having applied it.
    public func revocationProof(
        for sequence: UInt64,
        expecting expected: some Sequence<String> = [String]()
    ) async throws -> RevocationProof {
        let marks = try await watermarks().sorted { $0.verifier < $1.verifier }
        let registered = Set(marks.map(\.verifier))
        let unregistered = Set(expected).subtracting(registered).sorted()
        return RevocationProof(
            sequence: sequence,
            watermarks: marks,
            laggards: marks.filter { $0.sequence < sequence },
            unregistered: unregistered
        )
    }

    /// Records a revocation at the current time of `clock`.
    public func revoke(
        _ target: RevocationTarget,
        reason: RevocationReason,
        coversUntil: Timestamp,
        clock: some WallClock
    ) async throws -> RevocationEntry {
        try await revoke(target, reason: reason, at: clock.now(), coversUntil: coversUntil)
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
