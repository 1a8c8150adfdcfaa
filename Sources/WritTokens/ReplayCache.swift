import Synchronization
public import WritCrypto

/// The outcome of recording a nonce.
public enum ReplayCacheResult: Hashable, Sendable {
    /// The nonce was not known and is now recorded.
    case inserted
    /// The nonce was already recorded and has not expired: a replay.
    case replayed
    /// The cache is full of unexpired nonces and cannot record this one; the verifier refuses the request.
    case full
}

/// Remembers proof-of-possession nonces until the proofs they belong to would be stale anyway.
///
/// Called synchronously on the verification hot path, after every other check has passed (so only nonces of
/// validly signed proofs are recorded).
public protocol ReplayCache: Sendable {
    /// Records `nonce` until `expiresAt` unless it is already recorded and unexpired at `now`.
    func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp, now: Timestamp) -> ReplayCacheResult
}

/// A bounded in-memory replay cache over a `Mutex`.
///
/// When the cache reaches its capacity it first drops every expired nonce; if it is still full it refuses the
/// new nonce (``ReplayCacheResult/full``) rather than evicting an unexpired one, because forgetting an
/// unexpired nonce would let its proof be replayed. Refusal is deterministic and fails closed; size the capacity
/// for the peak request rate × the proof window.
public final class InMemoryReplayCache: ReplayCache {
    private struct State {
        var entries: [ReplayNonce: Timestamp] = [:]
        /// No entry expires before this; pruning is skipped until then.
        var earliestExpiry = Timestamp(millisecondsSinceEpoch: .max)
    }

    private let state = Mutex(State())
    /// The clock read by the ``NonceStore`` conformance (the synchronous API is given the time by its caller).
    let clock: any WallClock
    /// The most nonces held at once.
    public let capacity: Int

    /// Creates a cache holding at most `capacity` nonces (default 100 000).
    ///
    /// - Parameters:
    ///   - capacity: The most nonces held at once (at least 1).
    ///   - clock: Where the cache reads the time when it is used as a ``NonceStore``; the synchronous
    ///     ``insertIfAbsent(_:expiresAt:now:)`` uses the time it is given.
    public init(capacity: Int = 100_000, clock: some WallClock = SystemClock()) {
        self.capacity = max(1, capacity)
        self.clock = clock
    }

    public func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp, now: Timestamp) -> ReplayCacheResult {
        state.withLock { s in
            if let existing = s.entries[nonce], existing > now { return .replayed }
            if s.entries.count >= capacity, s.entries[nonce] == nil {
                if s.earliestExpiry <= now {
                    s.entries = s.entries.filter { $0.value > now }
                    s.earliestExpiry = s.entries.values.min() ?? Timestamp(millisecondsSinceEpoch: .max)
                }
                if s.entries.count >= capacity { return .full }
            }
            s.entries[nonce] = expiresAt
            if expiresAt < s.earliestExpiry { s.earliestExpiry = expiresAt }
            return .inserted
        }
    }

    /// The number of nonces held (expired ones included until the next prune).
    public var count: Int { state.withLock { $0.entries.count } }

    /// Drops every nonce expired at `now`.
    public func prune(now: Timestamp) {
        state.withLock { s in
            s.entries = s.entries.filter { $0.value > now }
            s.earliestExpiry = s.entries.values.min() ?? Timestamp(millisecondsSinceEpoch: .max)
        }
    }
}
