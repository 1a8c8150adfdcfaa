#if HTTP
import Synchronization
import WritCrypto

/// Token buckets keyed by who a request claims to come from: `rate` calls per second, bursts up to `burst`.
///
/// Keys are claimed, not verified (the limit runs before any signature check, so that a flood costs the server a
/// table lookup and not an Ed25519 verify). The table holds at most `capacity` buckets: when it is full, buckets
/// that have refilled to `burst` (idle callers, indistinguishable from new ones) are dropped; if none has, a new
/// key is refused until one does — a flood of invented keys can never reset the buckets of callers it is
/// throttling.
final class WritRateLimiter<Key: Hashable & Sendable>: Sendable {
    /// One decision.
    enum Decision: Equatable {
        /// Within the limit (counted).
        case admitted
        /// Over the limit: retry after this many seconds (at least 1).
        case limited(retryAfter: Int)
    }

    private struct Bucket {
        var tokens: Double
        var last: Timestamp
    }

    let rate: Double
    let burst: Double
    let capacity: Int
    private let buckets = Mutex<[Key: Bucket]>([:])

    init(rate: Double, burst: Double, capacity: Int = 100_000) {
        self.rate = rate.isFinite ? max(0, rate) : 0
        self.burst = burst.isFinite ? max(1, burst) : 1
        self.capacity = max(1, capacity)
    }

    /// The number of buckets held (for tests of the bound).
    var count: Int { buckets.withLock { $0.count } }

    /// Whether one more call by `key` at `now` is within its limit (and counts it).
    func admit(_ key: Key, at now: Timestamp) -> Decision {
        buckets.withLock { buckets in
            if buckets[key] == nil, buckets.count >= capacity {
                buckets = buckets.filter { refilled($0.value, at: now) < burst }
                guard buckets.count < capacity else { return .limited(retryAfter: secondsUntil(1, from: 0)) }
            }
            var bucket = buckets[key] ?? Bucket(tokens: burst, last: now)
            bucket.tokens = refilled(bucket, at: now)
            bucket.last = max(bucket.last, now)
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return .limited(retryAfter: secondsUntil(1, from: bucket.tokens))
            }
            bucket.tokens -= 1
            buckets[key] = bucket
            return .admitted
        }
    }

    private func refilled(_ bucket: Bucket, at now: Timestamp) -> Double {
        guard now > bucket.last else { return bucket.tokens }
        let elapsed = bucket.last.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return min(burst, bucket.tokens + seconds * rate)
    }

    /// Whole seconds until a bucket at `tokens` holds `target` (1 when it never refills: the caller retries
    /// and is refused again rather than being told a time that means nothing).
    private func secondsUntil(_ target: Double, from tokens: Double) -> Int {
        guard rate > 0 else { return 1 }
        let seconds = ((target - tokens) / rate).rounded(.up)
        return seconds.isFinite ? Int(min(max(1, seconds), 3600)) : 1
    }
}
#endif
