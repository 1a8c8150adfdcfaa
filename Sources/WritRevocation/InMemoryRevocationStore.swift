import Synchronization
public import WritCrypto

/// A ``RevocationStore`` held in memory: for tests, single-process deployments and as the reference
/// implementation of the store contract.
public final class InMemoryRevocationStore: RevocationStore {
    private struct State {
        /// Entries in increasing sequence order.
        var entries: [RevocationEntry] = []
        var latestSequence: UInt64 = 0
        /// The sequence of the newest entry for each target (to make retries idempotent).
        var newestByTarget: [RevocationTarget: UInt64] = [:]
        var watermarks: [String: VerifierWatermark] = [:]

        func index(of sequence: UInt64) -> Int? {
            let i = firstIndex(after: sequence - 1)
            return i < entries.count && entries[i].sequence == sequence ? i : nil
        }

        /// The index of the first entry with a sequence above `sequence`.
        func firstIndex(after sequence: UInt64) -> Int {
            var low = 0
            var high = entries.count
            while low < high {
                let mid = (low + high) / 2
                if entries[mid].sequence <= sequence { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }

    private let state = Mutex(State())

    /// Creates an empty store.
    public init() {}

    public func revoke(
        _ target: RevocationTarget,
        reason: RevocationReason,
        at time: Timestamp,
        coversUntil: Timestamp
    ) async throws -> RevocationEntry {
        try target.validate()
        return state.withLock { state in
            if let sequence = state.newestByTarget[target], let i = state.index(of: sequence) {
                let existing = state.entries[i]
                if existing.reason == reason && existing.coversUntil >= coversUntil { return existing }
            }
            state.latestSequence += 1
            let entry = RevocationEntry(
                sequence: state.latestSequence,
                target: target,
                reason: reason,
                revokedAt: time,
                coversUntil: coversUntil
            )
            state.entries.append(entry)
            state.newestByTarget[target] = entry.sequence
            return entry
        }
    }

    public func entries(after sequence: UInt64, limit: Int) async throws -> [RevocationEntry] {
        guard limit > 0 else { throw RevocationError(.invalidArgument, "page limit must be at least 1, got \(limit)") }
        return state.withLock { state in
            let start = state.firstIndex(after: sequence)
            return Array(state.entries[start..<min(state.entries.count, start + limit)])
        }
    }

    public func latestSequence() async throws -> UInt64 { state.withLock { $0.latestSequence } }

    public func recordWatermark(verifier: String, sequence: UInt64, at time: Timestamp) async throws {
        try validateVerifierName(verifier)
        state.withLock { state in
            if let current = state.watermarks[verifier],
                (current.recordedAt, current.sequence) > (time, sequence)
            {
                return
            }
            state.watermarks[verifier] = VerifierWatermark(verifier: verifier, sequence: sequence, recordedAt: time)
        }
    }

    public func watermarks() async throws -> [VerifierWatermark] {
        state.withLock { $0.watermarks.values.sorted { $0.verifier < $1.verifier } }
    }

    public func removeVerifier(_ verifier: String) async throws {
        _ = state.withLock { $0.watermarks.removeValue(forKey: verifier) }
    }

    @discardableResult
    public func prune(expiredBefore time: Timestamp) async throws -> Int {
        state.withLock { state in
            let before = state.entries.count
            state.entries.removeAll { $0.coversUntil < time }
            let removed = before - state.entries.count
            if removed > 0 {
                state.newestByTarget = state.newestByTarget.filter { state.index(of: $0.value) != nil }
            }
            return removed
        }
    }
}
